"""Safe YAML for recipes, with the limits a hostile or broken file needs.

``yaml.safe_load`` builds no Python objects but trusts the document's shape: a duplicate
key silently keeps the last value (`lr: 0.1` then `lr: 10` audits 10), 3,000 nested
brackets end in a RecursionError, and a "billion laughs" document of a few hundred bytes
expands through aliases to 10^9 values that validation then walks for hours. This loader
is PyYAML's SafeLoader with four limits, each reported with the line it concerns:

- the file is at most ``MAX_RECIPE_BYTES`` (a recipe is a few lines; this bounds all else);
- no mapping repeats a key (flow ``{a: 1, a: 2}`` included; ``<<`` merge keys may still be
  overridden, as YAML intends);
- nesting is at most ``MAX_DEPTH`` levels, while composing (before Python's recursion
  limit) and after expanding aliases;
- the document expands to at most ``MAX_VALUES`` values, counting every use of an alias,
  computed on the node graph (each node once), so measuring a bomb costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nncheck.errors import cut, shown

MAX_RECIPE_BYTES = 1 << 20
MAX_DEPTH = 100
MAX_VALUES = 250_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


class RecipeYAMLError(Exception):
    """A recipe document that cannot be used; ``line`` is 1-based (None when unknown)."""

    def __init__(self, problem: str, line: int | None = None, column: int = 1):
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column

    def located(self, file: object) -> str:
        """``file: line L, column C: problem`` (the line left out when unknown)."""
        if self.line is None:
            return f"{file}: {self.problem}"
        return f"{file}: line {self.line}, column {self.column}: {self.problem}"


def _error(problem: str, mark: Any) -> RecipeYAMLError:
    if mark is None:
        return RecipeYAMLError(problem)
    return RecipeYAMLError(problem, mark.line + 1, mark.column + 1)


class _RecipeLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self._depth >= MAX_DEPTH:
            raise _error(
                f"nested more than {MAX_DEPTH} levels deep; a recipe needs a few",
                self.peek_event().start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            # The constructed key, so `1` and `0x1`, or `yes` and `true`, are one key.
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise _error(
                    f"duplicate key {shown(key)} (first on line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = line
        return node

    def compose_document(self) -> Node:
        node = super().compose_document()
        _check_expansion(node)
        return node


def _problem(text: str) -> str:
    """PyYAML's own wording, cut: it quotes the user's text (an undefined alias name...)."""
    return cut(text, 200)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: Node | None) -> None:
    """Refuse a document that expands (through aliases) past MAX_VALUES or MAX_DEPTH, or
    whose aliases refer to themselves. Iterative, each distinct node visited once."""
    if root is None:
        return
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) when expanded
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = [measured[id(k)] for k in _children(node)]
            values = 1 + sum(v for v, _ in kids)
            depth = 1 + max((d for _, d in kids), default=0)
            if values > MAX_VALUES:
                raise _error(
                    f"expands to more than {MAX_VALUES:,} values, counting every use of an"
                    " alias (an alias bomb?); a recipe needs a few dozen",
                    node.start_mark,
                )
            if depth > MAX_DEPTH:
                raise _error(
                    f"nested more than {MAX_DEPTH} levels deep once aliases are expanded",
                    node.start_mark,
                )
            measured[key] = (values, depth)
            continue
        if key in measured:
            continue
        if key in on_path:
            raise _error(
                "an alias refers to a value that contains it (a recursive anchor)", node.start_mark
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in measured)


def read_yaml(file: Path) -> Any:
    """Read and parse a recipe file within the limits above.

    Raises ``RecipeYAMLError`` for a document that breaks a limit or is not valid YAML,
    ``OSError``/``UnicodeDecodeError`` when the file cannot be read as text.
    """
    with open(file, "rb") as fh:
        data = fh.read(MAX_RECIPE_BYTES + 1)
    if len(data) > MAX_RECIPE_BYTES:
        raise RecipeYAMLError(
            f"the file is larger than {MAX_RECIPE_BYTES // (1 << 20)} MiB; a recipe is a"
            " short YAML file (data goes in the files it names)"
        )
    text = data.decode("utf-8")
    loader = None
    try:
        loader = _RecipeLoader(text)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        problem = ", ".join(parts) or type(exc).__name__
        raise _error(f"invalid YAML: {_problem(problem)}", mark) from None
    except yaml.YAMLError as exc:
        raise RecipeYAMLError(f"invalid YAML: {_problem(str(exc))}") from None
    except (ValueError, OverflowError) as exc:
        # A scalar the constructor cannot build, e.g. the timestamp 2020-13-45.
        raise RecipeYAMLError(f"a value cannot be read: {_problem(str(exc))}") from None
    finally:
        if loader is not None:
            loader.dispose()
