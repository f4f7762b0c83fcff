"""The `openai` package, imported without the part a request does not need.

`import openai` spends most of its half second building the model classes of
`openai.types`, all of them (evals, graders, images, audio, vector stores...),
because the package's `__init__` imports that whole subpackage. A request
needs only the submodules its own resource imports (`openai.types.chat`,
`openai.types.responses`). So before the SDK is imported, `openai.types` is
registered as the real package with its `__init__` not yet run: submodules
import as usual, and the first name read from the package itself runs the
`__init__` (once, under a lock), so code using `openai.types.X` sees no
difference. That saves about 0.1 s before the first request (issue 14).
Should a future SDK not import this way, the plain import is made.

Use `from agent.sdk import openai` instead of `import openai`.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

_TYPES = "openai.types"


def _deferred_types() -> ModuleType | None:
    """`openai.types` with its `__init__` run at the first name read from it;
    None when the SDK is not laid out as a package with that subpackage."""
    sdk = importlib.util.find_spec("openai")
    if sdk is None or sdk.origin is None:
        return None
    init = Path(sdk.origin).parent / "types" / "__init__.py"
    spec = importlib.util.spec_from_file_location(_TYPES, init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None or not init.is_file():
        return None
    module = importlib.util.module_from_spec(spec)
    lock = threading.RLock()
    running: list[bool] = []  # the `__init__` is under way in the thread holding the lock

    def __getattr__(name: str) -> object:
        with lock:
            if "__getattr__" in module.__dict__ and not running:
                running.append(True)
                try:
                    spec.loader.exec_module(module)
                    del module.__getattr__
                finally:
                    running.clear()
        try:
            return module.__dict__[name]
        except KeyError:  # not (yet) defined, as in any module
            raise AttributeError(f"module {_TYPES!r} has no attribute {name!r}") from None

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    return module


def _import_deferring_types() -> None:
    if "openai" in sys.modules or (types := _deferred_types()) is None:
        return
    sys.modules[_TYPES] = types
    try:
        import openai  # noqa: F401
    except Exception:  # an SDK this cannot defer for: forget the attempt, import it plainly below
        for name in [m for m in sys.modules if m == "openai" or m.startswith("openai.")]:
            del sys.modules[name]


_import_deferring_types()
import openai  # noqa: E402 - imported above; bound here for its static types
