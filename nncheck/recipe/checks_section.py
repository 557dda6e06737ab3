"""Validating the recipe's `checks:` section against the check registry.

The valid threshold names live beside each check (its ``defaults``), so this runs after the
registry is loaded: a misspelled check id or threshold is an error with the closest valid
name, never a silently ignored setting.
"""

from __future__ import annotations

import difflib
from typing import Any

from nncheck.checks.registry import CheckSpec
from nncheck.errors import RecipeError, cut, shown
from nncheck.results import STAGES


def parse_checks_section(
    section: dict[str, Any], specs: dict[str, CheckSpec]
) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Returns (thresholds by check id, only, skip) from the recipe's `checks:` mapping."""
    thresholds: dict[str, dict[str, Any]] = {}
    only: list[str] = []
    skip: list[str] = []
    for key, value in section.items():
        path = f"checks.{cut(str(key), 60)}"
        if key in ("skip", "only"):
            names = _name_list(value, path)
            for i, name in enumerate(names):
                check_name(name, specs, f"{path}[{i}]")
            (skip if key == "skip" else only).extend(names)
            continue
        spec = specs.get(key)
        if spec is None:
            valid = [*specs, "skip", "only"]
            raise RecipeError(f"{path}: unknown check {shown(key, 60)}{_did_you_mean(key, valid)}")
        if value is None:
            continue
        if not isinstance(value, dict):
            raise RecipeError(f"{path}: expected a mapping of thresholds, got {shown(value, 60)}")
        thresholds[key] = {
            name: _threshold(spec, name, v, f"{path}.{cut(str(name), 60)}")
            for name, v in value.items()
        }
    return thresholds, only, skip


def check_name(name: str, specs: dict[str, CheckSpec], where: str) -> None:
    """Raise a RecipeError naming ``where`` unless ``name`` is a check id or a stage."""
    if name not in specs and name not in STAGES:
        close = _did_you_mean(name, [*specs, *STAGES])
        raise RecipeError(f"{where}: unknown check or stage {shown(name, 60)}{close}")


def _name_list(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise RecipeError(
        f"{path}: expected a list of check ids or stage names, got {shown(value, 60)}"
    )


def _threshold(spec: CheckSpec, name: str, value: Any, path: str) -> Any:
    if name not in spec.defaults:
        valid = list(spec.defaults)
        listed = ", ".join(valid) if valid else "none"
        raise RecipeError(
            f"{path}: check {spec.id} has no threshold {shown(name, 60)}"
            f"{_did_you_mean(name, valid)}; its thresholds: {listed}"
        )
    default = spec.defaults[name]
    written = value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        expected = "true or false"
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected = "a number"
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
        expected = type(default).__name__
    if not ok:
        raise RecipeError(
            f"{path}: expected {expected} (default {default!r}), got {shown(value, 60)}"
        )
    valid = spec.ranges.get(name)
    if valid is not None and value not in valid:
        raise RecipeError(f"{path}: must be {valid}, got {written!r}")
    return value


def _did_you_mean(name: object, valid: list[str]) -> str:
    if not isinstance(name, str) or len(name) > 200:
        return ""
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
