"""Hypothesis strategies: hostile values, mutated recipes, recipe texts and data files.

Every mutation starts from the tiny healthy recipe of contract.py, so about half the cases
still run the checks (exit 0/1) and the rest probe validation (exit 2). Values mix what a
typo produces (a bool, a string, a negative) with what an attacker or a broken export
produces (NaN, 1e308, markup, control characters, huge strings and numbers).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from nncheck.checks.registry import load_all

HOSTILE_STRINGS = [
    "",
    " ",
    "[/x]",
    "[bold red]x[/]",
    "<script>alert(1)</script>",
    "a\x1b[31mb",
    "bell\x07",
    "nul\x00byte",
    "é—ü",
    "x" * 5000,
    "../../etc/passwd",
    "~",
    ".",
    "{{ 7 * 7 }}",
    "%s%n",
    "1e308",
    "NaN",
    "true",
    "null",
    "label",
    "d.csv",
]

scalars = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2, 3, 10**9, 2**31, 2**62, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e308, -1e308, 0.5, 1.5]),
    st.sampled_from(HOSTILE_STRINGS),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(
        st.sampled_from(["a", "fraction", "images", "labels", "x"]), scalars, max_size=3
    ),
)

# Values that keep a recipe valid (or nearly so), so mutated recipes still reach the checks.
PLAUSIBLE: dict[str, list[Any]] = {
    "name": ["wine", "a b", "[/x]", "a\x1b[31mb\x07c"],
    "seed": [0, 1, 2**31, -5],
    "data.target": ["label", "alcohol", 0, -1, 13],
    "data.test": [{"fraction": 0.5}, {"fraction": 0.05}, {"fraction": 0.999}, "d.csv"],
    "data.task": ["classification", "regression"],
    "data.normalize": ["none", "standardize", "minmax", "scale255"],
    "data.classes": [3, 2, 4, 100, [0, 1, 2], ["a", "b", "c"]],
    "data.second_annotation": ["alcohol", "label"],
    "model.hidden": [[], [1], [8, 5], [64, 64, 64]],
    "model.activation": ["relu", "tanh", "sigmoid"],
    "model.init": ["xavier", "he", "normal"],
    "model.init_std": [1e-6, 0.01, 2.0, 100.0],
    "model.output_bias": ["prior", "zero"],
    "model.loss": ["cross_entropy", "mse"],
    "model.engine": ["numpy"],
    "train.optimizer": ["sgd", "momentum", "rmsprop", "adam"],
    "train.lr": [0.0, 1e-8, 0.1, 10.0, 1e6],
    "train.batch_size": [1, 2, 60, 10_000],
    "train.steps": [1, 2, 100],
    "checks.skip": [["overfit"], "data", ["evaluate.human_baseline"]],
    "checks.only": [["data.integrity"], "skeleton"],
    "report.dir": [
        "report",
        "sub/report",
        ".",
        "",
        "d.csv",
        "/proc/nncheck/x",
        "r" * 300,
        "a\x00b",
    ],
}


def threshold_paths() -> dict[str, Any]:
    """checks.<id>.<threshold> -> default, for every registered check."""
    return {
        f"checks.{spec.id}.{name}": default
        for spec in load_all().values()
        for name, default in spec.defaults.items()
    }


def plausible_threshold(default: Any) -> st.SearchStrategy[Any]:
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.sampled_from([0, 1, 2, -1, default, default * 10, 10**9])
    if isinstance(default, float):
        return st.sampled_from([0.0, -1.0, default, default * 10, 1e-12, 1e12, 1.0])
    return values


def set_path(recipe: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")  # PLAUSIBLE paths only; thresholds are set by mutated_recipes
    node = recipe
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


def delete_path(recipe: dict[str, Any], path: str) -> None:
    keys = path.split(".")
    node = recipe
    for key in keys[:-1]:
        node = node.get(key)
        if not isinstance(node, dict):
            return
    node.pop(keys[-1], None)


@st.composite
def mutated_recipes(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """(recipe, extra CLI args): one to three mutations of the tiny healthy recipe."""
    from tests.fuzz.contract import base_recipe

    recipe = copy.deepcopy(base_recipe())
    thresholds = threshold_paths()
    only: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["plausible", "hostile", "threshold", "delete", "unknown"]))
        if kind == "plausible":
            path = draw(st.sampled_from(sorted(PLAUSIBLE)))
            set_path(recipe, path, draw(st.sampled_from(PLAUSIBLE[path])))
        elif kind == "hostile":
            path = draw(st.sampled_from(sorted(PLAUSIBLE)))
            set_path(recipe, path, draw(values))
        elif kind == "threshold":
            path = draw(st.sampled_from(sorted(thresholds)))
            check_id = ".".join(path.split(".")[1:3])
            name = path.split(".", 3)[3]
            section = recipe.setdefault("checks", {})
            section.setdefault(check_id, {})
            if not isinstance(section[check_id], dict):
                section[check_id] = {}
            section[check_id][name] = draw(plausible_threshold(thresholds[path]))
            only.append(check_id)
        elif kind == "delete":
            delete_path(recipe, draw(st.sampled_from(sorted(PLAUSIBLE))))
        else:
            section = draw(st.sampled_from(["", "data", "model", "train", "report", "checks"]))
            node = recipe if not section else recipe.setdefault(section, {})
            if isinstance(node, dict):
                node[draw(st.sampled_from(["lrr", "hiden", "Data", "x", "checks.x"]))] = 1
    # Most valid cases run one stage (fast); some run everything.
    stage = draw(st.sampled_from(["data", "skeleton", "overfit", "evaluate", "all"]))
    args = ["--only", *sorted(set(only))] if only else ([] if stage == "all" else ["--only", stage])
    return recipe, args


# --------------------------------------------------------------------------- recipe texts


def _deep(depth: int) -> str:
    return "data:\n  train: d.csv\n  target: label\nmodel:\n  kwargs: " + "[" * depth + "]" * depth


def _bomb(key: str) -> str:
    """A small "billion laughs": 9 levels of 9 aliases (9^9 nodes once expanded)."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    body = {
        "classes": "data:\n  train: d.csv\n  target: label\n  classes: *a8\n",
        "kwargs": "data:\n  train: d.csv\n  target: label\nmodel:\n  kwargs: {k: *a8}\n",
        "skip": "data:\n  train: d.csv\n  target: label\nchecks:\n  skip: *a8\n",
        "test": "data:\n  train: d.csv\n  target: label\n  test: *a8\n",
    }[key]
    return "\n".join(lines) + "\n" + body


@st.composite
def recipe_texts(draw: st.DrawFn) -> bytes:
    """The healthy recipe's YAML text, broken the ways hand-edited files break."""
    import yaml

    from tests.fuzz.contract import base_recipe

    text = yaml.safe_dump(base_recipe(), sort_keys=False)
    lines = text.splitlines()
    kind = draw(
        st.sampled_from(
            [
                "duplicate_line",
                "flow_duplicate",
                "truncate",
                "tab",
                "bytes",
                "deep",
                "bomb",
                "bom",
                "latin1",
                "huge",
                "anchor_loop",
                "scalar",
                "list",
                "empty",
            ]
        )
    )
    if kind == "duplicate_line":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i + 1, lines[i])
        return "\n".join(lines).encode()
    if kind == "flow_duplicate":
        return text.replace(
            "test:\n    fraction: 0.25", "test: {fraction: 0.25, fraction: 0.5}"
        ).encode()
    if kind == "truncate":
        return text.encode()[: draw(st.integers(0, len(text) - 1))]
    if kind == "tab":
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = "\t" + lines[i]
        return "\n".join(lines).encode()
    if kind == "bytes":
        raw = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 5))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return bytes(raw)
    if kind == "deep":
        return _deep(draw(st.sampled_from([50, 500, 3000]))).encode()
    if kind == "bomb":
        return _bomb(draw(st.sampled_from(["classes", "kwargs", "skip", "test"]))).encode()
    if kind == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if kind == "latin1":
        return text.replace("fuzz", "f\xfczz").encode("latin-1")
    if kind == "huge":
        return text.encode() + b"# " + b"x" * draw(st.sampled_from([10_000, 3_000_000])) + b"\n"
    if kind == "anchor_loop":
        return b"data: &d\n  train: d.csv\n  target: label\n  self: *d\n"
    if kind == "scalar":
        return b"just a string\n"
    if kind == "list":
        return b"- data\n- model\n"
    return b""


# --------------------------------------------------------------------------- data files

CELLS = [
    "",
    "?",
    "NA",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "4611686018427387904",
    "abc",
    "[/x]",
    '"',
    "1,5",
    "0x1F",
    "\x00",
    "x" * 300_000,
    "True",
]
DATA_NAMES = [
    "d.csv",
    "d.csv.gz",
    "d.csv.bz2",
    "d.csv.xz",
    "d.csv.zip",
    "d.csv.zst",
    "d.npz",
    "d.npy",
    "d.parquet",
    "d.txt",
    "d",
]


@st.composite
def data_files(draw: st.DrawFn, csv_text: str) -> tuple[str, bytes]:
    """(file name, bytes): the tiny wine CSV corrupted, or re-encoded under another name."""
    import bz2
    import gzip
    import io
    import lzma
    import zipfile

    lines = csv_text.splitlines()
    kind = draw(
        st.sampled_from(
            [
                "cell",
                "cells",
                "truncate",
                "bytes",
                "drop_header",
                "header_only",
                "one_row",
                "one_class",
                "ragged",
                "duplicate_rows",
                "semicolon",
                "rename",
                "empty",
                "only_target",
                "big_endian_npy",
                "npz_bomb",
                "wrong_shape_npz",
            ]
        )
    )
    name = "d.csv"
    if kind in ("cell", "cells"):
        for _ in range(1 if kind == "cell" else draw(st.integers(2, 20))):
            i = draw(st.integers(1, len(lines) - 1))
            cells = lines[i].split(",")
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] = draw(st.sampled_from(CELLS))
            lines[i] = ",".join(cells)
    elif kind == "truncate":
        text = "\n".join(lines)
        return name, text.encode()[: draw(st.integers(0, len(text)))]
    elif kind == "bytes":
        raw = bytearray("\n".join(lines).encode())
        for _ in range(draw(st.integers(1, 20))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return name, bytes(raw)
    elif kind == "drop_header":
        lines = lines[1:]
    elif kind == "header_only":
        lines = lines[:1]
    elif kind == "one_row":
        lines = lines[:2]
    elif kind == "one_class":
        lines = [lines[0]] + [ln for ln in lines[1:] if ln.endswith(",0")]
    elif kind == "ragged":
        i = draw(st.integers(1, len(lines) - 1))
        lines[i] = lines[i] + ",1,2"
    elif kind == "duplicate_rows":
        lines = lines + lines[1:]
    elif kind == "semicolon":
        lines = [ln.replace(",", ";") for ln in lines]
    elif kind == "empty":
        return name, b""
    elif kind == "only_target":
        lines = [ln.split(",")[-1] for ln in lines]
    elif kind in ("big_endian_npy", "npz_bomb", "wrong_shape_npz"):
        import numpy as np

        buf = io.BytesIO()
        if kind == "big_endian_npy":
            arr = np.loadtxt(io.StringIO(csv_text), delimiter=",", skiprows=1)
            np.save(buf, arr.astype(">f8"))
            return "d.npy", buf.getvalue()
        if kind == "wrong_shape_npz":
            np.savez(buf, x=np.zeros((60, 0)), y=np.zeros(60))
            return "d.npz", buf.getvalue()
        # an .npy header claiming 2**40 rows inside an npz
        header = {"descr": "<f8", "fortran_order": False, "shape": (2**40, 13)}
        member = io.BytesIO()
        np.lib.format.write_array_header_1_0(member, header)
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("x.npy", member.getvalue() + b"\x00" * 64)
            zf.writestr("y.npy", member.getvalue())
        return "d.npz", buf.getvalue()
    text = "\n".join(lines) + "\n"
    if kind == "rename" or draw(st.booleans()) is False:
        name = draw(st.sampled_from(DATA_NAMES))
    raw = text.encode("utf-8", "surrogatepass")
    garbage = draw(st.booleans()) and name not in ("d.csv", "d.txt", "d")
    if garbage:
        return name, raw  # plain text under a compressed or binary name
    if name.endswith(".gz"):
        return name, gzip.compress(raw)
    if name.endswith(".bz2"):
        return name, bz2.compress(raw)
    if name.endswith(".xz"):
        return name, lzma.compress(raw)
    if name.endswith(".zip"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for i in range(draw(st.sampled_from([0, 1, 1, 2]))):
                zf.writestr(f"d{i}.csv", raw)
        return name, out.getvalue()
    return name, raw
