"""skeleton.init_scale: per-layer activation and gradient statistics at initialization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._skeleton import activation_stats, histogram, judge_hidden, layer_of, severity
from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, POSITIVE, RATIO, Range, check
from nncheck.engines.base import LayerActivation
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.init_scale",
    stage="skeleton",
    defaults={
        "batch_size": 256,
        "input_rms_warn": 5.0,
        "act_std_low_warn": 1e-2,
        "act_std_low_fail": 1e-3,
        "act_std_high_warn": 10.0,
        "act_std_high_fail": 100.0,
        "output_std_warn": 3.0,
        "output_std_fail": 10.0,
        "target_std_narrow": 0.003,
        "saturated_warn": 0.1,
        "saturated_fail": 0.5,
        "dead_warn": 0.3,
        "dead_fail": 0.6,
        "grad_ratio_warn": 100.0,
        "grad_ratio_fail": 1000.0,
    },
    ranges={
        "batch_size": Range(ge=2, le=100_000),
        "input_rms_warn": POSITIVE,
        "act_std_low_warn": POSITIVE,
        "act_std_low_fail": POSITIVE,
        "act_std_high_warn": POSITIVE,
        "act_std_high_fail": POSITIVE,
        "output_std_warn": POSITIVE,
        "output_std_fail": POSITIVE,
        "target_std_narrow": POSITIVE,
        "saturated_warn": FRACTION,
        "saturated_fail": FRACTION,
        "dead_warn": FRACTION,
        "dead_fail": FRACTION,
        "grad_ratio_warn": RATIO,
        "grad_ratio_fail": RATIO,
    },
    requires=("engine", "trainable", "any_target"),
)
def init_scale(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Activations and gradients at init have a healthy scale in every layer.

    Why: with a bad init scale or un-normalized inputs the signal dies or explodes on its
    way through the layers — activations shrink towards zero (weights too small), tanh and
    sigmoid units sit in their flat tails (too large, or 0-255 inputs), ReLUs never fire,
    and the gradient that reaches the first layer is thousands of times smaller than the
    last layer's (a deep sigmoid net) or larger. Such a net trains slowly or not at all,
    and nothing in the loss curve says why.

    On `batch_size` training samples at init, per layer: activation mean/std (the
    pre-activation std where the engine gives it), the fraction of dead ReLUs (units
    never active over the batch), the fraction of saturated tanh/sigmoid activations
    (|tanh| > 0.99, sigmoid < 0.01 or > 0.99), the gradient norm per layer and the ratio
    last/first layer. Judged, worst layer first: hidden activation std outside
    [`act_std_low_warn`, `act_std_high_warn`] warns, outside [`act_std_low_fail`,
    `act_std_high_fail`] fails (healthy he/xavier nets: 0.25-1.6); output spread (per-
    output std over the batch, in target stds for regression) above `output_std_warn` /
    `output_std_fail` (healthy: < 1.4); saturated fraction above `saturated_warn` /
    `saturated_fail` (healthy: < 1%; init_std 10 or 0-255 inputs: > 90%); dead ReLU
    fraction above `dead_warn` / `dead_fail` (healthy 8-layer ReLU: <= 11%); gradient norm
    ratio between the last and the first layer beyond `grad_ratio_warn` /
    `grad_ratio_fail` in either direction (healthy: 0.4-2.5; 8 sigmoid layers: 1.5e4-6e4;
    4 sigmoid layers: 280). A regression net whose outputs vary by less than
    `target_std_narrow` target stds must first grow its output weights by the inverse:
    warns (statsmodels' scotvote, target std 1.4e3: 0.0007, and its overfit checks fail;
    diabetes, std 77: 0.011, healthy at lr 0.01). Inputs whose largest per-feature RMS
    exceeds `input_rms_warn` warn as un-normalized (standardized data: 1; 0-255 pixels:
    ~150); token ids are looked up, not multiplied, so their size says nothing.

    Fix: normalize the inputs, use he (ReLU) or xavier (tanh/sigmoid) init instead of a
    hand-picked std, and prefer ReLU/tanh over sigmoid in deep nets.
    """
    cfg = ctx.engine_config
    assert cfg is not None  # guaranteed by requires=("engine",)
    engine = ctx.make_engine()
    x, y = ctx.sample_batch(int(t["batch_size"]))
    out, acts = engine.forward(x, activations=True)  # type: ignore[misc]
    grads = engine.gradients(x, y)
    params = engine.parameters()

    findings: list[tuple[int, str, str]] = []  # (severity 2 fail / 1 warn, message, hint)
    metrics: dict[str, Any] = {}
    rows: list[list[Any]] = []
    histograms: dict[str, dict[str, Any]] = {}

    # Inputs as the net sees them (D5).
    x2 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    feat_rms = np.sqrt(np.mean(x2**2, axis=0))
    worst_feat = int(np.argmax(feat_rms)) if feat_rms.size else 0
    input_rms = float(feat_rms[worst_feat]) if feat_rms.size else 0.0
    metrics.update(
        input_mean=float(x2.mean()),
        input_std=float(x2.std()),
        input_min=float(x2.min()),
        input_max=float(x2.max()),
        input_max_feature_rms=input_rms,
    )
    rows.append(["input", "data", x2.shape[1], _r(x2.mean()), _r(x2.std()), "", "", "", "", ""])
    if input_rms > float(t["input_rms_warn"]) and not ctx.dataset.token_inputs:
        feature = _feature_name(ctx, worst_feat)
        findings.append(
            (
                1,
                f"inputs look un-normalized: {feature} has RMS {input_rms:.3g} (range "
                f"{x2.min():.3g}..{x2.max():.3g}, normalize: {ctx.dataset.normalize})",
                "Normalize the inputs (data.normalize: standardize, or scale255 for pixels).",
            )
        )

    # Activations, layer by layer.
    layer_stats = []
    hidden = acts[:-1] if len(acts) > 1 else []
    for i, act in enumerate(acts):
        st = activation_stats(act)
        layer_stats.append(st)
        histograms[f"{act.name} activations"] = histogram(act.post)
        if act.pre is not None and act.kind in ("tanh", "sigmoid", "relu"):
            histograms[f"{act.name} pre-activations"] = histogram(act.pre)
        if not st["finite"]:
            findings.append(
                (
                    2,
                    f"{act.name} activations overflow to inf/NaN at init",
                    "Weights or inputs are far too large: normalize the inputs and use "
                    "he/xavier init.",
                )
            )
            continue
        if i < len(hidden):
            judge_hidden(act, st, t, findings)
    metrics["layers"] = layer_stats

    # Output spread (the last activation is the model's output).
    if acts:
        spread = float(np.mean(np.std(np.asarray(acts[-1].post, np.float64), axis=0)))
        unit = "logit std"
        if cfg.task == "regression":
            ystd = float(np.nanstd(ctx.dataset.train.y.astype(np.float64))) or 1.0
            spread, unit = spread / ystd, "output std in target stds"
        metrics["output_spread"] = spread
        level = severity(spread, float(t["output_std_warn"]), float(t["output_std_fail"]))
        if level:
            findings.append(
                (
                    level,
                    f"outputs at init are far too spread: {unit} {spread:.3g} over the batch "
                    f"(healthy < {float(t['output_std_warn']):g})",
                    "Weights too large or inputs un-normalized: the untrained net makes "
                    "confident random predictions. Use he/xavier init and normalized inputs.",
                )
            )
        if cfg.task == "regression" and spread < float(t["target_std_narrow"]):
            ystd = float(np.nanstd(ctx.dataset.train.y.astype(np.float64)))
            findings.append(
                (
                    1,
                    f"the target is far larger than what the untrained net outputs: its "
                    f"outputs vary by {spread:.2g} target stds over the batch (the target's "
                    f"std is {ystd:.3g}); training must first grow the output weights "
                    + (f"~{1 / spread:.0f}x" if spread > 0 else "from nothing"),
                    "Standardize the target (train on (y - mean) / std and scale the "
                    "predictions back), or express it in larger units; otherwise the first "
                    "thousands of steps only rescale the output.",
                )
            )

    # Gradients per layer.
    g_layers: dict[str, list[float]] = {}
    for pname, g in grads.params.items():
        g64 = np.asarray(g, dtype=np.float64)
        w64 = np.asarray(params[pname], dtype=np.float64) if pname in params else g64 * 0
        acc = g_layers.setdefault(layer_of(pname), [0.0, 0.0])
        acc[0] += float(np.sum(g64**2))
        acc[1] += float(np.sum(w64**2))
        if g64.ndim >= 2:
            histograms[f"{pname} weights"] = histogram(w64)
            histograms[f"{pname} gradients"] = histogram(g64)
    grad_norms = {k: math.sqrt(v[0]) for k, v in g_layers.items()}
    rel_grads = {
        k: math.sqrt(v[0]) / math.sqrt(v[1]) if v[1] > 0 else float("inf")
        for k, v in g_layers.items()
    }
    metrics["grad_norms"] = grad_norms
    metrics["grad_to_weight"] = rel_grads
    names = list(grad_norms)
    if len(names) >= 2:
        first, last = grad_norms[names[0]], grad_norms[names[-1]]
        ratio = first / last if last > 0 else (float("inf") if first > 0 else float("nan"))
        metrics["grad_ratio_first_last"] = ratio
        _judge_gradients(names, first, last, ratio, t, findings)

    # The per-layer table (activations and gradient norms side by side where names align).
    for i, (act, st) in enumerate(zip(acts, layer_stats)):
        gname = names[i] if i < len(names) and len(names) == len(acts) else ""
        rows.append(
            [
                act.name,
                act.kind,
                st["units"],
                _r(st["mean"]),
                _r(st["std"]),
                _r(st["pre_std"]) if st["pre_std"] is not None else "",
                _pct(st["dead"]),
                _pct(st["saturated"]),
                _r(grad_norms[gname]) if gname else "",
                _r(rel_grads[gname]) if gname else "",
            ]
        )
    artifacts = {
        "tables": {
            "init scale per layer": {
                "columns": [
                    "layer",
                    "kind",
                    "units",
                    "act mean",
                    "act std",
                    "pre std",
                    "dead ReLU",
                    "saturated",
                    "grad norm",
                    "grad/weight",
                ],
                "rows": rows,
            }
        },
        "histograms": histograms,
    }
    summary = _summary(acts, layer_stats, metrics)
    if not findings:
        return result("pass", summary, metrics=metrics, artifacts=artifacts)
    findings.sort(key=lambda f: -f[0])
    status = "fail" if findings[0][0] == 2 else "warn"
    message = "; ".join(f[1] for f in findings[:3])
    if len(findings) > 3:
        message += f" (+{len(findings) - 3} more)"
    hints = list(dict.fromkeys(f[2] for f in findings))
    metrics["findings"] = [f[1] for f in findings]
    return result(status, message, hint=" ".join(hints[:2]), metrics=metrics, artifacts=artifacts)


def _judge_gradients(
    names: list[str], first: float, last: float, ratio: float, t: dict[str, Any], findings: list
) -> None:
    if not math.isfinite(first) or not math.isfinite(last):
        findings.append((2, "gradients overflow to inf/NaN at init", "Weights far too large."))
        return
    if first == 0 and last == 0:
        findings.append((2, "no gradient reaches any layer at init", "Check the loss."))
        return
    if first == 0:
        findings.append(
            (
                2,
                f"no gradient reaches {names[0]} (gradient norm 0; {names[-1]}: {last:.2g})",
                "The first layer is detached from the loss, or every unit in between is "
                "dead/saturated.",
            )
        )
        return
    shrink = 1.0 / ratio if ratio > 0 else float("inf")
    level = severity(shrink, float(t["grad_ratio_warn"]), float(t["grad_ratio_fail"]))
    if level:
        findings.append(
            (
                level,
                f"vanishing gradients: {names[0]} gets a gradient {shrink:.3g}x smaller than "
                f"{names[-1]} (norms {first:.2g} vs {last:.2g}) across {len(names)} layers",
                "The gradient shrinks at every layer: use ReLU (he init) or tanh (xavier) "
                "instead of sigmoid, fewer layers, or residual connections / normalization.",
            )
        )
    level = severity(ratio, float(t["grad_ratio_warn"]), float(t["grad_ratio_fail"]))
    if level:
        findings.append(
            (
                level,
                f"exploding gradients: {names[0]} gets a gradient {ratio:.3g}x larger than "
                f"{names[-1]} (norms {first:.2g} vs {last:.2g})",
                "Weights too large for the depth: use he/xavier init (or a smaller init_std).",
            )
        )


def _feature_name(ctx: Context, j: int) -> str:
    ds = ctx.dataset
    if ds.feature_names and j < len(ds.feature_names):
        return f"feature {ds.feature_names[j]!r}"
    if ds.is_image and len(ds.input_shape) >= 2:
        w = int(ds.input_shape[-1])
        return f"pixel ({j // w}, {j % w})"
    return f"feature {j}"


def _summary(acts: list[LayerActivation], stats: list[dict[str, Any]], metrics: dict) -> str:
    parts = []
    for act, st in zip(acts[:-1], stats[:-1]):
        scale = st["pre_std"] if st["pre_std"] is not None else st["std"]
        extra = ""
        if st["dead"] is not None:
            extra = f", {st['dead']:.0%} dead"
        elif st["saturated"] is not None:
            extra = f", {st['saturated']:.0%} saturated"
        parts.append(f"{act.name} std {scale:.2g}{extra}")
    if len(parts) > 4:
        parts = parts[:2] + ["..."] + parts[-1:]
    ratio = metrics.get("grad_ratio_first_last")
    grad = f"; gradient norm first/last layer {ratio:.2g}" if ratio is not None else ""
    spread = metrics.get("output_spread")
    out = f"; output std {spread:.2g}" if spread is not None else ""
    return ("; ".join(parts) or "no hidden layers") + out + grad


def _r(v: float) -> float:
    return float(f"{v:.4g}") if v is not None and math.isfinite(v) else v


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v:.0%}"
