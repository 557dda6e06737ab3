"""Reading a recipe file: safe YAML, validation with key paths, paths made absolute.

Every problem becomes one ``RecipeError`` whose message names the key path
(``model.hidden[1]``) and what was expected, with the closest valid name for a typo.
"""

from __future__ import annotations

import difflib
import errno
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from nncheck.errors import RecipeError, cut, shown
from nncheck.recipe.schema import FractionSplit, PairSource, Recipe
from nncheck.recipe.yaml_loader import RecipeYAMLError, read_yaml

# What a union-typed field accepts, in the user's words (pydantic's per-branch messages are
# accurate but read like a type checker's).
_UNION_EXPECTATIONS = {
    "data.train": "a file path, or {images: PATH, labels: PATH}",
    "data.test": "{fraction: 0.2}, a file path, or {images: PATH, labels: PATH}",
    "data.target": "a column name (csv/parquet), an array key (npz) or a column index (npy)",
    "data.classes": (
        "a class count (int >= 2) or a list of class names (quote names such as 'yes' or"
        " 'no': YAML reads them as booleans)"
    ),
    "data.second_annotation": "a column name",
    "data.features": "a list of column names",
    "data.groups": "a column name",
    "data.na_values": "a list of values, or {column: [values]}",
    "data.csv.header": "true or false",
    "name": "a string",
    "model.factory": 'a string "module:function"',
    "data.factory": 'a string "module:function" returning (train, test)',
    "data.input_key": "the input key of dict batches",
    "train.loss": 'cross_entropy, mse, or "module:name"',
    "train.scheduler": 'a string "module:function"',
    "train.step": 'a string "module:function"',
    "report.dir": "a directory path",
}
_UNION_MODELS: dict[str, type[BaseModel]] = {
    "PairSource": PairSource,
    "FractionSplit": FractionSplit,
}
_UNION_TAGS = {"str", "int", "float", "bool", "none", *_UNION_MODELS}


def read_recipe(path: str | os.PathLike[str]) -> Recipe:
    """Load and validate a recipe file, resolving paths against its folder."""
    file = Path(path)
    if not file.is_file():
        raise RecipeError(f"recipe file not found: {file}")
    try:
        raw = read_yaml(file)
    except RecipeYAMLError as exc:
        raise RecipeError(exc.located(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read recipe {file}: {cut(str(exc))}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{file}: a recipe is a YAML mapping with at least a `data:` section")
    return parse_recipe(
        raw, base_dir=file.resolve().parent, label=str(file), default_name=file.stem
    )


def parse_recipe(
    raw: dict[str, Any], *, base_dir: Path, label: str = "recipe", default_name: str = "run"
) -> Recipe:
    """Validate a recipe mapping; paths in it are resolved against ``base_dir``."""
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        raise RecipeError(f"{label}: {format_validation_error(exc, raw)}") from None
    recipe.name = recipe.name or default_name
    _resolve_paths(recipe, base_dir)
    recipe._base_dir = str(base_dir)
    return recipe


def format_validation_error(exc: ValidationError, raw: dict[str, Any]) -> str:
    """The first problem, as `key.path: what was wrong; expected ...`."""
    errors = exc.errors()
    union_path = _union_field(errors[0]["loc"])
    if union_path is not None:
        return _describe_union(union_path, errors, raw)
    # An unknown key usually explains the "missing" errors that follow it (`dat:` for
    # `data:`), so it is reported first.
    errors = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")
    return _describe(errors[0], raw)


def _union_field(loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The loc prefix of a union-typed field when ``loc`` passes through a union branch."""
    for i, part in enumerate(loc):
        if part in _UNION_TAGS or "[" in str(part):
            return loc[:i]
    return None


def _describe_union(field: tuple[Any, ...], errors: list[dict[str, Any]], raw: Any) -> str:
    path = _display_path(field)
    value = _lookup(raw, field)
    same = [e for e in errors if tuple(e["loc"][: len(field)]) == tuple(field)]
    if isinstance(value, dict):
        # Report the branch the user was evidently aiming at: the one with fewest errors.
        branches: dict[str, list[dict[str, Any]]] = {}
        for e in same:
            tag = str(e["loc"][len(field)]) if len(e["loc"]) > len(field) else ""
            if tag not in {"str", "int", "float", "bool", "none"} and "[" not in tag:
                branches.setdefault(tag, []).append(e)
        if branches:
            best = min(branches.values(), key=len)
            best.sort(key=lambda e: e["type"] != "extra_forbidden")
            return _describe(best[0], raw)
    expected = _UNION_EXPECTATIONS.get(path)
    if expected:
        return f"{path}: got {shown(value, 60)}; expected {expected}"
    return _describe(same[0], raw)


def _describe(error: dict[str, Any], raw: dict[str, Any]) -> str:
    loc = error["loc"]
    path = _display_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = _valid_keys(loc[:-1])
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6) if len(key) < 200 else []
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        where = _display_path(loc[:-1]) or "the top level"
        listed = ", ".join(valid)
        return f"{path}: unknown key {shown(key, 60)} in {where}{hint}; valid keys: {listed}"
    if kind == "missing":
        return f"{path}: required key is missing"
    msg = error["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    value = _lookup(raw, loc)
    got = "" if isinstance(value, (dict, list)) else f"; got {shown(value, 60)}"
    said = msg[0].lower() + msg[1:]
    return f"{path}: {said}{got}" if path else f"{msg}{got}"


def _display_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS or "[" in str(part):
            continue  # a union branch tag, not a key the user wrote
        else:
            out += ("." if out else "") + cut(str(part), 60)
    return out


def _lookup(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif part in _UNION_TAGS or "[" in str(part):
            continue
        else:
            return None
    return node


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` (following union tags when present)."""
    model: type[BaseModel] = Recipe
    for part in loc:
        if part in _UNION_TAGS:
            model = _UNION_MODELS.get(str(part), model)  # scalar branches have no keys
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return list(model.model_fields)


def _resolve_paths(recipe: Recipe, base: Path) -> None:
    data = recipe.data
    shards = data.engine != "memory"  # streamed rows may be a folder of shards / parquet
    if data.train is not None:
        data.train = _resolve_source(data.train, base, "data.train", shards)
    if data.train is not None and not hasattr(data.test, "fraction"):
        data.test = _resolve_source(data.test, base, "data.test", shards)  # type: ignore[arg-type]
    report_dir = recipe.report.dir
    if report_dir and "\0" in report_dir:
        raise RecipeError(f"report.dir: the path contains a null byte: {shown(report_dir, 200)}")
    if report_dir is not None and not report_dir.strip():
        # a folder named " " next to the recipe is never what was meant
        raise RecipeError(
            f"report.dir: the path is blank ({report_dir!r}); name a folder, or leave the key"
            " out for the default beside the recipe"
        )
    # The default is beside the recipe (README): the same recipe writes to the same place
    # from any working directory.
    recipe.report.dir = (
        os.path.abspath(base / Path(report_dir).expanduser())
        if report_dir
        else os.path.abspath(base / "reports" / safe_dirname(recipe.name or "run"))
    )


def _resolve_source(
    source: str | PairSource, base: Path, key: str, shards: bool = False
) -> str | PairSource:
    if isinstance(source, PairSource):
        return PairSource(
            images=_existing_file(source.images, base, f"{key}.images", folder_ok=shards),
            labels=_existing_file(source.labels, base, f"{key}.labels"),
        )
    # A folder is an image folder (one subfolder per class); the loader lists it.
    return _existing_file(source, base, key, folder_ok=True)


def _existing_file(path: str, base: Path, key: str, folder_ok: bool = False) -> str:
    if "\0" in path:
        raise RecipeError(f"{key}: the path contains a null byte: {shown(path, 200)}")
    full = resolve_path(base / Path(path).expanduser(), key)
    where = cut(str(full), 200)
    try:
        is_file = full.is_file()
    except OSError as exc:  # a name too long for the file system, ...
        raise RecipeError(
            f"{key}: not a usable path ({cut(exc.strerror or str(exc))}): {where}"
        ) from None
    if not is_file and not full.exists():
        raise RecipeError(f"{key}: file not found: {where} (paths are relative to the recipe)")
    if not is_file and folder_ok and full.is_dir():
        return str(full)
    if not is_file:
        raise RecipeError(f"{key}: not a file: {where}")
    if not os.access(full, os.R_OK):
        raise RecipeError(f"{key}: file is not readable: {where}")
    return str(full)


def resolve_path(path: Path, key: str) -> Path:
    """``path.resolve()``, with what can go wrong (a symlink loop, a NUL byte, a name the
    system refuses) named as the recipe key that holds the path."""
    try:
        return path.resolve()
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        raise RecipeError(f"{key}: a symbolic link loop: {shown(str(path), 200)}") from None
    except ValueError as exc:
        raise RecipeError(f"{key}: not a usable path ({exc}): {shown(str(path), 200)}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RecipeError(f"{key}: a symbolic link loop: {shown(str(path), 200)}") from None
        problem = cut(exc.strerror or str(exc))
        raise RecipeError(
            f"{key}: not a usable path ({problem}): {shown(str(path), 200)}"
        ) from None


# Longer recipe names are cut, with a hash of the whole name so that distinct names keep
# distinct folders, well inside every file system's 255-byte limit for one name.
_MAX_DIRNAME = 80


def safe_dirname(name: str) -> str:
    """A folder name for a recipe name: letters, digits, ``-_.``, at most 80 characters."""
    import hashlib

    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip(".")
    cleaned = cleaned or "run"
    if len(cleaned.encode()) <= _MAX_DIRNAME:
        return cleaned
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    head = cleaned.encode()[: _MAX_DIRNAME - 11].decode(errors="ignore")
    return f"{head}-{digest}"
