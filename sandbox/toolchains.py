"""Language toolchains installed in the home, which the sandbox hides.

rustup puts cargo and rustc in ~/.cargo/bin and the toolchains in ~/.rustup;
the crates a project depends on are downloaded to ~/.cargo/registry and
~/.cargo/git, Go modules to ~/go/pkg/mod. Shown read-only (and nothing else
of those folders: ~/.cargo holds registry credentials), `cargo test` and
`go test` run in the sandbox, offline, as they do for the user.
"""

from __future__ import annotations

import os
from pathlib import Path


def home_toolchains() -> tuple[Path, ...]:
    home = Path.home()
    cargo = Path(os.environ.get("CARGO_HOME") or home / ".cargo")
    rustup = Path(os.environ.get("RUSTUP_HOME") or home / ".rustup")
    gopath = Path((os.environ.get("GOPATH") or str(home / "go")).split(os.pathsep)[0])
    modules = Path(os.environ.get("GOMODCACHE") or gopath / "pkg" / "mod")
    found = (cargo / "bin", cargo / "registry", cargo / "git", rustup, modules)
    return tuple(path.resolve() for path in found if path.is_dir())
