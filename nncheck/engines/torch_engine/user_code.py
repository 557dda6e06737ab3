"""Finding and calling the user's code: ``"module:name"`` strings and the calls into them.

A recipe names the user's pieces as ``"module:name"`` (``model.factory``, ``data.factory``,
``train.loss``, ``train.optimizer``, ``train.scheduler``, ``train.step``). Each is imported
from the recipe's folder first, then from the Python path, and every failure — a module
that is not there, one that fails to import, a name it does not define, a call that
raises — is a ``UsageError`` (exit 2) that names the recipe key and shows only the user's
own traceback frames (nncheck's, torch's and the standard library's are left out: the
fault is in the user's code, and that is where they should look).

Torch is not imported here: ``data.factory`` works with the numpy engine too.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import sysconfig
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar

from nncheck.errors import UsageError

T = TypeVar("T")
MODEL_FACTORY = "a function build(input_shape, n_outputs, **kwargs) returning a torch.nn.Module"


def resolve_factory(spec: str | None, recipe_dir: str | os.PathLike[str] | None = None):
    """``model.factory``: the callable named by ``"module:function"``."""
    return resolve(spec, recipe_dir, key="model.factory", expects=MODEL_FACTORY)


def resolve(
    spec: str | None,
    recipe_dir: str | os.PathLike[str] | None,
    *,
    key: str,
    expects: str,
    callable_only: bool = True,
    form: str = "module:function",
) -> Any:
    """The object named by ``"module:name"`` (``name`` may be dotted), imported from the
    recipe's folder first, then from the Python path. Every failure is a ``UsageError``
    naming ``key`` and the cause."""
    if not spec or ":" not in spec:
        raise UsageError(f'{key}: expected "{form}" (e.g. "models:build"), got {spec!r}')
    modname, _, attr = spec.partition(":")
    modname, attr = modname.strip(), attr.strip()
    if not modname or not attr:
        raise UsageError(f'{key}: expected "{form}", got {spec!r}')
    module = _import_user_module(modname, recipe_dir, spec, key)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n))]
            close = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            where = getattr(module, "__file__", None) or modname
            raise UsageError(
                f"{key} {spec!r}: module '{modname}' ({where}) has no '{part}'{hint}; "
                f"it defines: {', '.join(names[:12]) or 'no public callables'}"
            )
        obj = getattr(obj, part)
    if callable_only and not callable(obj):
        raise UsageError(f"{key} {spec!r}: '{attr}' is a {type(obj).__name__}, not {expects}")
    return obj


def call_user(
    func: Callable[..., T],
    *args: Any,
    what: str,
    folder: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> T:
    """``func(*args, **kwargs)`` with ``folder`` on the import path; whatever it raises
    becomes a ``UsageError`` "``what`` raised ..." with the user's own frames."""
    try:
        with on_path(str(folder) if folder else None):
            return func(*args, **kwargs)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise UsageError(
            f"{what} raised {describe_exc(exc)}"
            + user_traceback(exc.__traceback__, Path(folder) if folder else None)
        ) from None


def describe_callable(obj: Any) -> str:
    """A short name for a user's object in messages and reports: ``build_model``,
    ``CrossEntropyLoss(label_smoothing=0.1)``, ``<lambda> (train.py:12)``."""
    if obj is None:
        return "none"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(obj, type) or callable(obj) and name and hasattr(obj, "__code__"):
        if name == "<lambda>":
            code = obj.__code__
            return f"<lambda> ({Path(code.co_filename).name}:{code.co_firstlineno})"
        return str(name)
    loss = _loss_with_settings(obj)
    if loss:
        return loss
    text = repr(obj)
    if text.startswith("<") or len(text) > 80:
        return type(obj).__name__
    return text


def _loss_with_settings(obj: Any) -> str:
    """``CrossEntropyLoss(label_smoothing=0.1)`` for a torch loss whose settings differ from
    its defaults (torch's own repr shows none of them: ``CrossEntropyLoss()``)."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, torch.nn.modules.loss._Loss):
        return ""
    try:
        default = type(obj)()
    except Exception:  # noqa: BLE001 - a loss class that needs arguments
        default = None
    said = []
    for key, value in vars(obj).items():
        if key.startswith("_") or key == "training":
            continue
        if isinstance(value, (bool, int, float, str)):
            if default is None or getattr(default, key, None) != value:
                said.append(f"{key}={value!r}")
    for key, value in getattr(obj, "_buffers", {}).items():
        if value is not None:  # class weights, pos_weight
            said.append(f"{key}=<{tuple(value.shape)} tensor>")
    return f"{type(obj).__name__}({', '.join(said)})"


@contextmanager
def on_path(folder: str | None) -> Iterator[None]:
    """``folder`` first on ``sys.path`` for the duration (imports made lazily by the user's
    module during ``build`` find their siblings too)."""
    if not folder:
        yield
        return
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)


def _local_file(modname: str, folder: Path) -> Path | None:
    rel = Path(*modname.split("."))
    for cand in (folder / rel.with_suffix(".py"), folder / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _forget_stale(modname: str, folder: Path) -> None:
    """Drop a cached module of the same name imported from another folder (two recipes
    with their own ``models.py`` in one process), so the recipe's own file is imported."""
    top = modname.split(".")[0]
    cached = sys.modules.get(top)
    if cached is None:
        return
    file = getattr(cached, "__file__", None)
    if file and Path(file).resolve().is_relative_to(folder.resolve()):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]


def _import_user_module(modname: str, recipe_dir: Any, spec: str, key: str) -> ModuleType:
    folder = Path(recipe_dir) if recipe_dir else None
    local = _local_file(modname, folder) if folder is not None else None
    if local is not None and folder is not None:
        _forget_stale(modname, folder)
    looked = f"{folder} and the Python path" if folder is not None else "the Python path"
    try:
        with on_path(str(folder) if local is not None and folder is not None else None):
            return importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (modname == missing or modname.startswith(missing + ".")):
            raise UsageError(
                f"{key} {spec!r}: cannot find module '{modname}' (looked in {looked}); "
                "put it beside the recipe or install it"
            ) from None
        raise UsageError(
            f"{key} {spec!r}: importing '{modname}' failed: {describe_exc(exc)}"
            + user_traceback(exc.__traceback__, folder)
        ) from None
    except SyntaxError as exc:
        where = f'  File "{exc.filename}", line {exc.lineno}\n    {(exc.text or "").rstrip()}'
        raise UsageError(
            f"{key} {spec!r}: '{modname}' has a syntax error: {exc.msg}\n{where}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - whatever the user's module raises at import
        raise UsageError(
            f"{key} {spec!r}: importing '{modname}' failed: {describe_exc(exc)}"
            + user_traceback(exc.__traceback__, folder)
        ) from None


def describe_exc(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are not the user's: nncheck, torch (when loaded), the standard
    library and installed packages."""
    dirs = {str(Path(__file__).resolve().parents[2])}
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "__file__", None):
        dirs.add(str(Path(torch.__file__).resolve().parent))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(str(Path(path).resolve()))
    return tuple(sorted(dirs))


def user_traceback(tb: TracebackType | None, folder: Path | None) -> str:
    """The frames of a traceback that lie in the user's code, formatted like Python's;
    empty when the fault is not in the user's code (then no traceback is shown)."""
    if tb is None:
        return ""
    libs = _library_dirs()
    inside = str(folder.resolve()) if folder is not None else None
    ours = str(Path(__file__).resolve().parents[2]) + os.sep  # never the user's, even
    frames = []  # when the user's folder holds nncheck (a checkout, an editable install)
    for fr in traceback.extract_tb(tb):
        name = fr.filename
        if name.startswith("<"):
            continue
        resolved = str(Path(name).resolve())
        if resolved.startswith(ours):
            continue
        if inside and resolved.startswith(inside):
            frames.append(fr)
        elif not resolved.startswith(libs):
            frames.append(fr)
    if not frames:
        return ""
    lines = "".join(traceback.format_list(frames)).rstrip()
    return "\nin your code (most recent call last):\n" + lines
