"""`nncheck diff OLD NEW`: what changed between two audits, in Markdown for a CI summary.

A CI job audits main, audits the branch and asks what got worse. Three things count:

- a check whose status got worse (pass -> warn -> fail -> error; skip ranks with pass);
- a metric of the evaluate stage that moved beyond its uncertainty in the bad direction:
  the two 95% intervals (``<name>_ci``, or ``<name> ± 1.96 <name>_se``) no longer overlap.
  Metrics of other stages that moved so are listed too, without a judgement: a baseline
  or a diagnostic moving is news, not a regression;
- new suspects: more leaked test samples, duplicates, near duplicates, label conflicts,
  label-error suspects or outliers than before, or ones the old audit did not list.

Only results.json is read (a report folder or the file itself), never the report's HTML,
so any two audits of the same schema compare, whichever nncheck version wrote them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nncheck.errors import UsageError

SEVERITY = {"pass": 0, "skip": 0, "warn": 1, "fail": 2, "error": 3}
Z95 = 1.959964  # two-sided 95% normal quantile, as the checks use for their intervals
SHOWN = 10  # new suspects listed per check; the count says how many there are in all


def _leak(e: dict[str, Any]) -> str:
    near = "" if e.get("kind") == "exact" else f" ({e.get('kind')})"
    return f"test row {e.get('test_row')} = train row {e.get('train_row')}{near}"


def _rows(e: dict[str, Any]) -> str:
    return f"{e.get('split')} rows {', '.join(str(r) for r in e.get('rows', []))}"


def _conflict(e: dict[str, Any]) -> str:
    return " / ".join(
        f"{s.get('split')} row {s.get('row')} ({s.get('label')})" for s in e.get("samples", [])
    )


def _label_error(e: dict[str, Any]) -> str:
    return f"{e.get('split')} row {e.get('row')}: {e.get('given')} -> {e.get('suggested')}"


def _outlier(e: dict[str, Any]) -> str:
    return f"{e.get('split')} row {e.get('row')} ({', '.join(e.get('problems', []))})"


@dataclass(frozen=True)
class SuspectKind:
    """How one check's results.json lists its suspects: the metrics that count them (a
    sum; examples are capped, counts are not), which examples are suspects, and a stable
    name for one."""

    what: str
    counts: tuple[str, ...]
    name: Callable[[dict[str, Any]], str]
    is_suspect: Callable[[dict[str, Any]], bool] = lambda e: True


SUSPECTS: dict[str, SuspectKind] = {
    "data.leakage": SuspectKind("leaked test samples", ("leaked",), _leak),
    "data.duplicates": SuspectKind(
        "redundant duplicate rows", ("train_redundant_rows", "test_redundant_rows"), _rows
    ),
    "data.near_duplicates": SuspectKind(
        "near-duplicate pairs", ("train_pairs", "test_pairs"), _rows
    ),
    "data.label_conflicts": SuspectKind(
        "samples with conflicting labels", ("samples_involved",), _conflict
    ),
    "data.label_errors": SuspectKind(
        "label-error suspects", ("suspects",), _label_error, lambda e: bool(e.get("flagged"))
    ),
    "data.outliers": SuspectKind(
        "far-out or corrupted samples",
        (
            "train_far_samples",
            "test_far_samples",
            "train_feature_spikes",
            "test_feature_spikes",
            "train_corrupted",
            "test_corrupted",
        ),
        _outlier,
        lambda e: bool(e.get("problems")),
    ),
}

# Which way is better, from the metric's name: the evaluate stage names its metrics so.
HIGHER = ("accuracy", "agreement", "kappa", "f1", "r2", "improvement", "gain", "recall")
LOWER = ("loss", "mse", "mae", "rmse", "error", "cross_entropy")


def direction(metric: str) -> int:
    """+1 when a larger value is better, -1 when a smaller one is, 0 when the name does not
    say (``loss_gain`` is a gain: the suffix decides before the stem)."""
    last = metric.rsplit("_", 1)[-1]
    if last in HIGHER:
        return 1
    if last in LOWER or any(word in metric for word in LOWER):
        return -1
    return 1 if any(word in metric for word in HIGHER) else 0


@dataclass
class StatusChange:
    check: str
    old: str
    new: str
    message: str  # the new audit's message (the old one's if the check is gone)

    @property
    def change(self) -> int:
        return SEVERITY.get(self.new, 0) - SEVERITY.get(self.old, 0)


@dataclass
class MetricMove:
    check: str
    metric: str
    old: tuple[float, float, float]  # value, low, high of its 95% interval
    new: tuple[float, float, float]
    judged: bool  # an evaluate-stage metric whose direction is known

    @property
    def worse(self) -> bool:
        return self.judged and direction(self.metric) * (self.new[0] - self.old[0]) < 0

    @property
    def better(self) -> bool:
        return self.judged and not self.worse


@dataclass
class NewSuspects:
    check: str
    what: str
    old_count: int
    new_count: int
    new: list[str]  # listed by the new audit, not by the old one

    @property
    def worse(self) -> bool:
        return self.new_count > self.old_count or bool(self.new)


@dataclass
class Comparison:
    old_path: Path
    new_path: Path
    old: dict[str, Any]
    new: dict[str, Any]
    statuses: list[StatusChange] = field(default_factory=list)
    metrics: list[MetricMove] = field(default_factory=list)
    suspects: list[NewSuspects] = field(default_factory=list)
    recipe: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def worse(self) -> bool:
        return (
            any(s.change > 0 for s in self.statuses)
            or any(m.worse for m in self.metrics)
            or any(s.worse for s in self.suspects)
        )

    @property
    def exit_code(self) -> int:
        return 1 if self.worse else 0


def load(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """An audit's results: ``results.json`` itself or the report folder holding it."""
    p = Path(path)
    file = p / "results.json" if p.is_dir() else p
    if not file.is_file():
        where = f"{p} holds no results.json" if p.is_dir() else f"{p} does not exist"
        raise UsageError(f"{where}: give a report folder or its results.json")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{file}: not a readable results.json ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise UsageError(f"{file}: not an nncheck results.json (it has no list of checks)")
    return file, data


def compare(old_path: str | Path, new_path: str | Path) -> Comparison:
    op, old = load(old_path)
    np_, new = load(new_path)
    if old.get("schema_version") != new.get("schema_version"):
        raise UsageError(
            f"{op} has results schema {old.get('schema_version')}, {np_} has "
            f"{new.get('schema_version')}: audit both with the same nncheck version"
        )
    cmp = Comparison(op, np_, old, new)
    old_checks = {c["id"]: c for c in old["checks"]}
    new_checks = {c["id"]: c for c in new["checks"]}
    ids = list(new_checks) + [i for i in old_checks if i not in new_checks]
    for cid in ids:
        a, b = old_checks.get(cid), new_checks.get(cid)
        sa, sb = (a or {}).get("status", "absent"), (b or {}).get("status", "absent")
        if sa != sb:
            cmp.statuses.append(StatusChange(cid, sa, sb, (b or a or {}).get("message", "")))
        if a and b:
            cmp.metrics += _moved(cid, a, b)
            if cid in SUSPECTS:
                found = _new_suspects(cid, SUSPECTS[cid], a, b)
                if found.worse:
                    cmp.suspects.append(found)
    cmp.recipe = _recipe_changes(old, new)
    return cmp


def intervals(metrics: dict[str, Any]) -> dict[str, tuple[float, float, float]]:
    """Every metric that carries its uncertainty: ``name`` with ``name_ci`` = [low, high]
    or ``name_se`` (then value ± 1.96 se)."""
    out = {}
    for name, value in metrics.items():
        if not _number(value):
            continue
        ci, se = metrics.get(f"{name}_ci"), metrics.get(f"{name}_se")
        if isinstance(ci, list) and len(ci) == 2 and all(_number(v) for v in ci):
            out[name] = (float(value), float(ci[0]), float(ci[1]))
        elif _number(se):
            out[name] = (float(value), value - Z95 * se, value + Z95 * se)
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _moved(cid: str, a: dict[str, Any], b: dict[str, Any]) -> list[MetricMove]:
    old, new = intervals(a.get("metrics") or {}), intervals(b.get("metrics") or {})
    judged_stage = b.get("stage") == "evaluate"
    moves = []
    for name in new:
        if name in old and (new[name][1] > old[name][2] or new[name][2] < old[name][1]):
            judged = judged_stage and direction(name) != 0
            moves.append(MetricMove(cid, name, old[name], new[name], judged))
    return moves


def _new_suspects(cid: str, kind: SuspectKind, a: dict[str, Any], b: dict[str, Any]) -> NewSuspects:
    def count(c: dict[str, Any]) -> int:
        m = c.get("metrics") or {}
        return int(sum(m.get(k, 0) for k in kind.counts if _number(m.get(k, 0))))

    def names(c: dict[str, Any]) -> list[str]:
        return [kind.name(e) for e in c.get("examples") or [] if kind.is_suspect(e)]

    seen = set(names(a))
    fresh = [n for n in dict.fromkeys(names(b)) if n not in seen]
    return NewSuspects(cid, kind.what, count(a), count(b), fresh)


def _recipe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Recipe fields that differ (the report folder aside), and the split sizes: what a
    reader needs to see next to the changes it caused."""

    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, dict) and v:
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    a, b = flat(old.get("recipe") or {}), flat(new.get("recipe") or {})
    for key in ("n_train", "n_test"):
        a[f"dataset.{key}"] = (old.get("dataset") or {}).get(key)
        b[f"dataset.{key}"] = (new.get("dataset") or {}).get(key)
    keys = list(dict.fromkeys([*a, *b]))
    return [
        (k, a.get(k), b.get(k))
        for k in keys
        if not k.startswith("report.") and a.get(k) != b.get(k)
    ]


def md(text: Any) -> str:
    """A user string (a check message, a class label, a recipe value) made inert for a
    Markdown table cell as GitHub renders a job summary: no table break, no code span,
    link or image, no HTML (a label ``<img src=...>`` must not make the summary load
    anything). Backslash escapes, so the text still reads plainly in a terminal."""
    s = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    for ch in "\\`*[]|<&":
        s = s.replace(ch, "\\" + ch)
    return " ".join(s.split())


def _num(v: float) -> str:
    return f"{v:.4g}"


def _interval(v: tuple[float, float, float]) -> str:
    return f"{_num(v[0])} [{_num(v[1])}, {_num(v[2])}]"


def to_markdown(cmp: Comparison) -> str:
    """The comparison as Markdown: a verdict line first (what CI shows), then one table per
    kind of change; sections with nothing in them are left out."""
    old_name = cmp.old.get("recipe", {}).get("name", "old")
    new_name = cmp.new.get("recipe", {}).get("name", "new")
    worse_checks = [s for s in cmp.statuses if s.change > 0]
    worse_metrics = [m for m in cmp.metrics if m.worse]
    out = [f"## nncheck diff: {md(old_name)} → {md(new_name)}", ""]
    if cmp.worse:
        parts = []
        if worse_checks:
            parts.append(_plural(len(worse_checks), "check") + " got worse")
        if worse_metrics:
            parts.append(_plural(len(worse_metrics), "test metric") + " got worse")
        if cmp.suspects:
            parts.append("new suspects in " + ", ".join(f"`{s.check}`" for s in cmp.suspects))
        out.append("**WORSE**: " + "; ".join(parts) + ".")
    else:
        changed = cmp.statuses or cmp.metrics
        out.append("**Nothing got worse**" + (" (some things changed, below)." if changed else "."))
    verdicts = (cmp.old.get("verdict", "?"), cmp.new.get("verdict", "?"))
    out += [
        "",
        f"Verdict {md(verdicts[0])} → {md(verdicts[1])}. "
        f"Old: `{md(str(cmp.old_path))}`; new: `{md(str(cmp.new_path))}`.",
    ]
    if cmp.statuses:
        out += ["", "### Checks whose status changed", ""]
        out += ["| check | old | new | | now says |", "|---|---|---|---|---|"]
        for s in cmp.statuses:
            word = "worse" if s.change > 0 else "better" if s.change < 0 else "changed"
            out.append(f"| `{s.check}` | {s.old} | {s.new} | {word} | {md(s.message)} |")
    if cmp.metrics:
        out += ["", "### Metrics that moved beyond their uncertainty (95% intervals)", ""]
        out += ["| check | metric | old | new | |", "|---|---|---|---|---|"]
        for m in cmp.metrics:
            word = "worse" if m.worse else "better" if m.better else "moved"
            out.append(
                f"| `{m.check}` | `{m.metric}` | {_interval(m.old)} | {_interval(m.new)} | {word} |"
            )
    if cmp.suspects:
        out += ["", "### New suspects", ""]
        out += ["| check | what | old | new | newly listed |", "|---|---|---|---|---|"]
        for s in cmp.suspects:
            listed = "; ".join(md(n) for n in s.new[:SHOWN])
            if len(s.new) > SHOWN:
                listed += f"; and {len(s.new) - SHOWN} more"
            out.append(
                f"| `{s.check}` | {s.what} | {s.old_count} | {s.new_count} | {listed or '—'} |"
            )
    if cmp.recipe:
        out += ["", "### What differs in the recipe", ""]
        out += ["| field | old | new |", "|---|---|---|"]
        out += [f"| {md(k)} | {md(a)} | {md(b)} |" for k, a, b in cmp.recipe]
    return "\n".join(out) + "\n"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def diff(old: str | Path, new: str | Path, output: str | Path | None = None) -> int:
    """Print the comparison (and write it to ``output``, e.g. ``$GITHUB_STEP_SUMMARY``,
    appended); the exit code is 1 when something got worse."""
    cmp = compare(old, new)
    text = to_markdown(cmp)
    print(text, end="")
    if output:
        try:
            with open(output, "a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise UsageError(f"--output {output}: cannot write ({exc.strerror})") from None
    return cmp.exit_code
