"""Where a Python environment's editable installs of the user's project import
from, seen in the working copy instead.

Used when commands run as plain processes: there the user's tree is visible,
and an editable install (`pip install -e .`) would import its unpatched code.
Under bubblewrap nothing here is needed: the working copy is shown at the
user's project path, so every path into the tree resolves to the copy.

Two kinds of entries point into a tree: path lines in `.pth` files (hatchling,
flit, pdm, poetry-core, setuptools for a src layout) and the MAPPING of
setuptools' `__editable___*_finder.py` modules (setuptools for other layouts).
The folders they name, moved into the working copy, go first on PYTHONPATH:
sys.path is searched before the finders site-packages appends.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sandbox.python_env import PythonEnv


def working_copy_import_roots(python: PythonEnv, project: Path, copy: Path) -> list[Path]:
    """The working copy's folders standing in for the import roots of
    `python`'s editable installs that point into `project`."""
    roots: list[Path] = []
    for folder in _site_packages(python.prefix):
        for entry in _pth_paths(folder) + _finder_roots(folder):
            path = (folder / entry).resolve()  # an absolute entry replaces the folder
            if path.is_relative_to(project):
                moved = copy / path.relative_to(project)
                if moved not in roots:
                    roots.append(moved)
    return roots


def _site_packages(prefix: Path) -> list[Path]:
    return sorted(p for pattern in ("lib/python3*/site-packages", "lib64/python3*/site-packages")
                  for p in prefix.glob(pattern) if p.is_dir())


def _pth_paths(folder: Path) -> list[str]:
    """Path lines of the .pth files (lines starting with `import` are code, `#` comments)."""
    paths = []
    for pth in sorted(folder.glob("*.pth")):
        for line in pth.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                paths.append(line)
    return paths


def _finder_roots(folder: Path) -> list[str]:
    """The folders holding the packages setuptools' editable finders map by
    name. A package mapped to a folder of another name (package_dir renames)
    cannot be put on a path and is left out."""
    roots = []
    for finder in sorted(folder.glob("__editable___*_finder.py")):
        for name, location in _mapping(finder).items():
            path = Path(location)
            if path.name == name.rpartition(".")[2] or path.stem == name.rpartition(".")[2]:
                roots.append(str(path.parents[name.count(".")]))
    return roots


def _mapping(finder: Path) -> dict[str, str]:
    try:
        module = ast.parse(finder.read_text(errors="replace"))
    except SyntaxError:
        return {}
    for node in module.body:
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "MAPPING" and value is not None:
            try:
                mapping = ast.literal_eval(value)
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in mapping.items()} if isinstance(mapping, dict) else {}
    return {}
