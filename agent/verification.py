"""What the verification gate concluded about a turn, in one small value that
the loop's Outcome carries and every reader (terminal, --json, batch) shows
the same way through `describe()`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

SHOWN_IDS = 3  # failing test ids named on the final line; the rest counted


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    UNVERIFIED = "unverified"  # no test run: no tests found, --no-verify, read-only, stopped before
    STUCK = "stuck"  # tests still fail and the model stopped changing anything
    CANNOT_RUN = "cannot-run"  # no test report: missing module, timeout, command not found


# Reasons a run is not verified, as the final line says them.
NO_TESTS = "no tests found"
NO_VERIFY = "--no-verify"
READ_ONLY = "read-only"
NOT_REACHED = "stopped before the tests ran"


@dataclass(frozen=True)
class Verification:
    status: Status
    reason: str = ""  # why unverified / why the tests cannot run
    passed: int = 0
    failing: tuple[str, ...] = ()  # test ids whose failure counts against the run
    preexisting: tuple[str, ...] = ()  # failing ids that failed the same way before the run
    scope: str = ""  # what ran when it was less than the whole suite

    @classmethod
    def unverified(cls, reason: str) -> "Verification":
        return cls(Status.UNVERIFIED, reason)

    @property
    def ok(self) -> bool | None:
        """True: tests pass; False: they fail or cannot run; None: not run."""
        return None if self.status is Status.UNVERIFIED else self.status is Status.PASSED

    def describe(self) -> str:
        """One short phrase for the final line, --json and batch results."""
        if self.status is Status.UNVERIFIED:
            return f"not verified ({self.reason})"
        if self.status is Status.CANNOT_RUN:
            return f"tests cannot run: {self.reason}"
        if self.status is Status.PASSED:
            if not self.preexisting:
                return f"{self.scope} pass" if self.scope else "tests pass"
            # Not "tests pass": the older failures may be all there is (nothing passed).
            where = f" in {self.scope}" if self.scope else ""
            return f"no new failures{where}; {len(self.preexisting)} failing before the run: {_ids(self.preexisting)}"
        text = "tests fail" if self.status is Status.FAILED else "tests still fail"
        if self.failing:  # runners other than pytest may name none
            text += f" ({len(self.failing)} failing: {_ids(self.failing)})"
        if self.preexisting:
            text += f"; {len(self.preexisting)} more predate this run"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value, "summary": self.describe(), "reason": self.reason,
            "passed": self.passed,
            "failing": list(self.failing), "preexisting": list(self.preexisting), "scope": self.scope,
        }


def _ids(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
