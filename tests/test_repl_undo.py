"""/undo's snapshots on a real working copy: what git's stat cache could hide."""

from __future__ import annotations

import time
from pathlib import Path

from agent.repl.undo import TurnSnapshots
from sandbox.workspace import Workspace
from tests.conftest import make_repo


def test_undo_reverts_a_same_size_edit_made_right_after_the_checkout(tmp_path: Path) -> None:
    # Git trusts an index entry whose size and (whole-second) times match the
    # file, unless it is "racily clean" (as new as the index itself). An edit
    # keeping the size, in the second the working copy was checked out, must
    # still be undone when /undo runs seconds later.
    repo = make_repo(tmp_path / "proj", {"app.py": "value = 'abc'\n"})
    workspace = Workspace.create(repo)
    try:
        snapshots = TurnSnapshots()
        snapshots.turn_started(workspace.root)
        (workspace.root / "app.py").write_text("value = 'XYZ'\n")
        snapshots.turn_ended(workspace.root)
        time.sleep(1.1)
        assert snapshots.undo(workspace.root) == ["app.py"]
        assert (workspace.root / "app.py").read_text() == "value = 'abc'\n"
    finally:
        workspace.discard()
