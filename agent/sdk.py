"""The `openai` package, imported without the parts a request does not need.

`import openai` spends most of its half second building model classes,
because the `__init__` of `openai.types` imports every one of them (evals,
graders, images, audio, vector stores...), and the `__init__`s of its
subpackages (`openai.types.responses`, `openai.types.chat`) import all of
theirs. A request needs only the submodules its own resource imports. So
before the SDK is imported, each package under `openai/types` is
registered as the real package with its `__init__` not yet run: submodules
import as usual (also when read as the package's attribute), and the first
other name read from the package runs its `__init__` (once, under a lock),
so code using `openai.types.responses.Response` sees no difference. On
sympy that brings the first request 0.25 s sooner (issue 14,
bench/bench_startup.py); the Responses API client skips its typed resource
for the same reason (agent/model_responses.py). Should a future SDK not
import this way, the plain import is made.

Use `from agent.sdk import openai` instead of `import openai`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType


def _deferred(name: str, folder: Path) -> ModuleType | None:
    """The package `name` (in `folder`) with its `__init__` run at the first
    name read from it that is not one of its submodules."""
    init = folder / "__init__.py"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    lock = threading.RLock()
    started = False  # the `__init__` ran, or runs now in the thread holding the lock

    def __getattr__(attribute: str) -> object:
        nonlocal started
        if (folder / f"{attribute}.py").is_file() or (folder / attribute / "__init__.py").is_file():
            return importlib.import_module(f"{name}.{attribute}")
        with lock:
            if not started:
                started = True
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    started = False  # the next read tries again
                    raise
                if module.__dict__.get("__getattr__") is __getattr__:  # one the `__init__` defines stays
                    del module.__getattr__
        if attribute in module.__dict__:
            return module.__dict__[attribute]
        if (own := module.__dict__.get("__getattr__")) not in (None, __getattr__):
            return own(attribute)
        # Not (yet) defined, as in any module.
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    return module


def _deferred_packages() -> dict[str, ModuleType]:
    """The packages under `openai/types`, deferred; none when the SDK is not
    laid out so."""
    sdk = importlib.util.find_spec("openai")
    if sdk is None or sdk.origin is None:
        return {}
    root = Path(sdk.origin).parent
    packages = {}
    for init in sorted((root / "types").glob("**/__init__.py")):
        name = ".".join(("openai", *init.parent.relative_to(root).parts))
        if (module := _deferred(name, init.parent)) is None:
            return {}
        packages[name] = module
    return packages


def _import_deferring_types() -> None:
    if "openai" in sys.modules or not (packages := _deferred_packages()):
        return
    sys.modules.update(packages)
    try:
        import openai  # noqa: F401
    except Exception:  # an SDK this cannot defer for: forget the attempt, import it plainly below
        for name in [m for m in sys.modules if m == "openai" or m.startswith("openai.")]:
            del sys.modules[name]
        return
    for name, package in packages.items():  # bound in its parent, as an import would have done
        parent, _, child = name.rpartition(".")
        vars(sys.modules[parent]).setdefault(child, package)


_import_deferring_types()
import openai  # noqa: E402 - imported above; bound here for its static types
