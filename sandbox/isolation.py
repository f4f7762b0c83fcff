"""Bubblewrap: what works on this machine (probed once), and the command line.

Inside the sandbox the host is read-only; the working copy is writable; /tmp
is private; the user's home and runtime folder (with ssh/gpg agent sockets)
are replaced by empty tmpfs, and so are /run, /var/run and /var/tmp, where
host services listen on Unix sockets; container-engine sockets are masked; the
repository's .git is read-only; there is no network, an own PID namespace,
no capabilities (this matters when the agent runs as root) and the whole
thing dies with the agent.

Many containers forbid some of this — Codex CLI's sandbox then fails outright
("bwrap: Failed to make / slave", "loopback: Failed RTM_NEWADDR"…). We try the
full set first and give up one thing at a time, so the strongest
configuration that works here is used, and we can say which.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sandbox.git import git_dirs
from sandbox.python_env import PythonEnv
from sandbox.state import user_homes

_SOCKETS = (
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
    "/run/containerd/containerd.sock",
)
# Where a host's services keep their Unix sockets (and shared temporary
# files): replaced by empty folders. A socket is an exit from the sandbox to
# whatever listens on it, and the host is bound read-only, not hidden.
_SERVICE_DIRS = ("/run", "/var/run", "/var/tmp")


@dataclass(frozen=True)
class BwrapConfig:
    path: str
    unshare_net: bool = True
    unshare_pid: bool = True
    mount_proc: bool = True  # a fresh /proc; only with a PID namespace

    @property
    def reductions(self) -> list[str]:
        missing = []
        if not self.unshare_net:
            missing.append("no network namespace")
        if not self.unshare_pid:
            missing.append("no PID namespace")
        elif not self.mount_proc:
            missing.append("host /proc")
        return missing

    def prefix(self, *, network: bool) -> list[str]:
        flags = [self.path, "--die-with-parent", "--cap-drop", "ALL"]
        flags += ["--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if self.unshare_pid:
            # Everything in a PID namespace dies with its first process, so
            # killing bwrap kills all; --new-session is then free. Without
            # one, the command must stay in bwrap's process group so the
            # timeout can reach its children (and has no terminal to abuse:
            # bwrap itself is started in a new session).
            flags += ["--unshare-pid", "--new-session"]
        if self.unshare_net and not network:
            flags.append("--unshare-net")
        flags += ["--ro-bind", "/", "/", "--dev", "/dev"]
        if self.unshare_pid and self.mount_proc:
            flags += ["--proc", "/proc"]
        return flags + ["--tmpfs", "/tmp"]


@dataclass(frozen=True)
class BwrapProbe:
    config: BwrapConfig | None  # the strongest configuration that works, if any
    error: str  # the first failure met ("" when the full sandbox works)


# Strongest first; network isolation is the last thing given up.
_CANDIDATES = [
    (True, True, True),
    (True, True, False),
    (True, False, False),
    (False, True, True),
    (False, True, False),
    (False, False, False),
]


@functools.cache
def probe_bwrap(path: str) -> BwrapProbe:
    """Try configurations until one runs `true`; cached for the process."""
    error = ""
    for net, pid, proc in _CANDIDATES:
        config = BwrapConfig(path, net, pid, proc)
        try:
            done = subprocess.run(
                [*config.prefix(network=False), "true"],
                env={"PATH": os.defpath},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return BwrapProbe(None, error or f"{path}: {exc}")
        if done.returncode == 0:
            return BwrapProbe(config, error)
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        error = error or (lines[-1] if lines else f"bwrap exited with {done.returncode}")
    return BwrapProbe(None, error)


def fix_hint(error: str) -> str:
    """How to get the full sandbox back, for a bwrap error message."""
    text = error.lower()
    if "rtm_newaddr" in text or "loopback" in text:
        return "network namespaces are blocked: give the container CAP_NET_ADMIN (docker run --cap-add NET_ADMIN)"
    if "proc" in text:
        return "the container masks /proc: docker run --security-opt systempaths=unconfined"
    return (
        "namespaces are unavailable: on a host enable unprivileged user namespaces "
        "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 "
        "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap); "
        "in Docker/Podman run with --security-opt seccomp=unconfined --security-opt apparmor=unconfined "
        "--cap-add SYS_ADMIN"
    )


Mounts = tuple[tuple[Path, Path], ...]  # (path on the host, path inside)

# Where the user's .git is shown when the working copy covers its usual place.
GIT_ALIAS = Path("/tmp/.codex-agent-git")


@dataclass(frozen=True)
class Layout:
    """What a command sees, worked out once per working copy."""

    root: Path  # the working copy on the host
    workdir: Path  # where commands see it and start: `root`, or the user's project path
    home: Path  # HOME inside: an empty tmpfs over the real home
    hidden: tuple[Path, ...]  # replaced by empty tmpfs
    masked: tuple[Path, ...]  # sockets replaced by /dev/null
    visible: tuple[Path, ...]  # bound back read-only after hiding (the interpreter, node_modules)
    git_always: Mounts  # read-only in every run: the repository a worktree belongs to
    git_read_only: Mounts  # inside the writable copy, read-only unless git_writable
    git_writable: Mounts  # what a commit on the task branch writes
    # Sensitive files of the working copy (.env, keys) as seen inside, shown
    # empty: the file tools refuse them, and `cat`, `base64` or a hard link
    # must not hand them over either.
    secret_files: tuple[Path, ...] = ()
    # (copy, where): the shared repository's config seen as a copy that keeps
    # only what git needs to read it (core, extensions), not remote URLs with
    # tokens, credentials or the user's aliases.
    config_copy: tuple[Path, Path] | None = None

    @classmethod
    def for_root(cls, root: Path, python: PythonEnv, hide: tuple[Path, ...] = (), *,
                 shims: Path | None = None, shown_at: Path | None = None, scratch: Path | None = None,
                 shown: tuple[Path, ...] = (), allow_secrets: tuple[str, ...] = ()) -> "Layout":
        """`shims`: the folder of python/python3/pytest scripts for `python`;
        `shown_at`: show the copy at this path (the user's project) instead of
        its own; `scratch`: a private folder living as long as the layout is
        used (for the .git file that then needs, and the repository's config);
        `shown`: more folders to show read-only, e.g. inside the copy;
        `allow_secrets`: globs of sensitive files commands may read."""
        homes = _hidden_dirs()
        workdir = shown_at or root
        always, read_only, writable = _git_mounts(root, workdir, scratch)
        services = dict.fromkeys(Path(os.path.realpath(d)) for d in _SERVICE_DIRS if os.path.isdir(d))
        hidden = (*services, *homes, *hide)
        return cls(
            root=root,
            workdir=workdir,
            # Never a home the copy is shown over (a repository in ~ itself):
            # what commands cache in HOME would end up in the diff.
            home=next((h for h in homes if not h.is_relative_to(workdir)), Path("/tmp")),
            hidden=tuple(p for p in dict.fromkeys(hidden) if p not in (Path("/"), workdir)),
            masked=tuple(sorted({Path(os.path.realpath(s)) for s in _SOCKETS if os.path.exists(s)})),
            visible=(*python.mounts, *([shims] if shims else []), *shown),
            git_always=always,
            git_read_only=read_only,
            git_writable=writable,
            secret_files=tuple(workdir / p.relative_to(root) for p in _sensitive_files(root, allow_secrets)),
            config_copy=_config_copy(*always[0], scratch) if always and scratch is not None else None,
        )

    def argv(self, config: BwrapConfig, *, git_writable: bool, network: bool, read_only: bool = False) -> list[str]:
        args = config.prefix(network=network)
        for path in self.hidden:
            args += ["--tmpfs", str(path)]
        # The interpreter may live in the hidden home (~/.pyenv): bound back
        # after the home is hidden, outer folders first...
        inner = [p for p in self.visible if p.is_relative_to(self.workdir)]
        outer = [p for p in self.visible if p not in inner]
        for path in outer:
            args += ["--ro-bind", str(path), str(path)]
        # ...and then every mask that such a bind would uncover is laid again,
        # so no bind undoes one, whatever a pyvenv.cfg points at.
        for path in self.hidden:
            if any(path == v or path.is_relative_to(v) for v in outer):
                args += ["--tmpfs", str(path)]
        for path in self.masked:
            args += ["--ro-bind", "/dev/null", str(path)]
        # The working copy may itself live under the hidden home or /tmp, and
        # a project's .venv under the path it is shown at: bound after the rest.
        args += ["--ro-bind" if read_only else "--bind", str(self.root), str(self.workdir)]
        for path in inner:
            args += ["--ro-bind", str(path), str(path)]
        for host, inside in self.git_always:
            args += ["--ro-bind", str(host), str(inside)]
        for host, inside in self.git_writable if git_writable else self.git_read_only:
            args += ["--bind" if git_writable else "--ro-bind", str(host), str(inside)]
        for path in self.secret_files:  # over the working copy's bind, or it would cover them
            args += ["--ro-bind", "/dev/null", str(path)]
        if self.config_copy is not None:
            args += ["--ro-bind", str(self.config_copy[0]), str(self.config_copy[1])]
        return args + ["--chdir", str(self.workdir), "--"]


_KEPT_CONFIG = ("core.repositoryformatversion", "core.bare", "core.logallrefupdates", "core.filemode",
                "core.ignorecase", "core.precomposeunicode", "core.symlinks", "extensions.")


def _config_copy(common: Path, inside: Path, scratch: Path) -> tuple[Path, Path] | None:
    """`common`: the shared repository's folder, seen at `inside`."""
    original = common / "config"
    if not original.is_file():
        return None
    listing = subprocess.run(["git", "config", "--file", str(original), "--list", "-z"],
                             capture_output=True, stdin=subprocess.DEVNULL).stdout
    sections: dict[str, list[str]] = {}
    for record in filter(None, listing.decode(errors="replace").split("\0")):
        key, _, value = record.partition("\n")
        if key.lower().startswith(_KEPT_CONFIG):
            section, name = key.rsplit(".", 1)
            sections.setdefault(section, []).append(f'\t{name} = "{value}"')
    copy = scratch / "repository-config"
    copy.write_text("".join(f"[{section}]\n" + "\n".join(lines) + "\n" for section, lines in sections.items()))
    return copy, inside / "config"


def _sensitive_files(root: Path, allow: tuple[str, ...]) -> tuple[Path, ...]:
    from sandbox.secrets import is_sensitive_path

    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if is_sensitive_path(rel, allow) and path.is_file() and not path.is_symlink():
                found.append(path)
    return tuple(found)


def _hidden_dirs() -> tuple[Path, ...]:
    found = list(user_homes())
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), f"/run/user/{os.getuid()}"):
        if candidate and os.path.isdir(candidate):
            path = Path(candidate).resolve()
            if path != Path("/") and path not in found:
                found.append(path)
    return tuple(found)


def _git_mounts(root: Path, workdir: Path, scratch: Path | None) -> tuple[Mounts, Mounts, Mounts]:
    """(always read-only, read-only unless git_writable, writable for git_writable).

    A plain copy's private .git is a folder inside the working copy. A
    worktree's .git is a file pointing into the user's repository
    (.git/worktrees/<id>), which shares the main .git: hooks, config and the
    user's branches stay read-only even for git_writable — a commit only
    needs the object store, the worktree's own folder and its branch's refs.

    Shown at the user's project path, the copy covers that repository's .git:
    it is shown at GIT_ALIAS instead, and the copy's .git file is replaced by
    one (in `scratch`) that points there.
    """
    dot_git = root / ".git"
    if dot_git.is_dir():
        return (), ((dot_git, workdir / ".git"),), ()
    if not dot_git.is_file():
        return (), (), ()
    admin, common = git_dirs(root)
    writable = [admin, common / "objects"]
    head = (admin / "HEAD").read_text().strip() if (admin / "HEAD").is_file() else ""
    if head.startswith("ref: refs/heads/"):
        ref = head.removeprefix("ref: ")
        writable += [(common / ref).parent, (common / "logs" / ref).parent]
    writable = [p for p in writable if p.is_dir()]
    if scratch is None or not common.is_relative_to(workdir):
        return ((common, common),), ((dot_git, workdir / ".git"),), tuple((p, p) for p in writable)
    gitfile = scratch / "gitfile"
    gitfile.write_text(f"gitdir: {GIT_ALIAS / admin.relative_to(common)}\n")
    moved = tuple((p, GIT_ALIAS / p.relative_to(common)) for p in writable)
    return ((common, GIT_ALIAS), (gitfile, workdir / ".git")), (), moved
