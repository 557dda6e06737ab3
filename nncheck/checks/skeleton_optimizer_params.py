"""skeleton.optimizer_params: the user's optimizer updates every trainable parameter."""

from __future__ import annotations

from typing import Any

from nncheck.checks.context import Context
from nncheck.checks.registry import check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.optimizer_params",
    stage="skeleton",
    defaults={},
    requires=("engine", "user_optimizer"),
)
def optimizer_params(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Every parameter that requires a gradient is in one of the optimizer's param groups,
    with a learning rate above zero.

    Why: param groups are written by hand (a lower lr for the backbone, no weight decay on
    biases and norms), and a layer forgotten in them receives gradients but is never
    updated: it stays at its random init while the rest trains, and the loss still goes
    down, so nothing looks wrong until the model underperforms. A frozen parameter
    (``requires_grad=False``) left out is fine and not counted.

    Builds the model with the user's optimizer and compares the model's trainable
    parameters with those in ``optimizer.param_groups``; fails when any is missing or sits
    only in groups with lr 0.

    Fix: build the groups from ``model.named_parameters()`` so that every parameter lands in
    exactly one group (e.g. split by name into decay / no-decay), or freeze on purpose with
    ``requires_grad_(False)``.
    """
    engine = ctx.make_engine()
    cov = engine.optimizer_coverage()  # type: ignore[attr-defined]
    sizes: dict[str, int] = cov["sizes"]
    missing, zero_lr = list(cov["missing"]), list(cov["zero_lr"])
    total = sum(sizes.values())
    left = missing + zero_lr
    left_weights = sum(sizes[n] for n in left)
    metrics: dict[str, Any] = {
        "trainable_tensors": len(sizes),
        "trainable_weights": total,
        "param_groups": cov["groups"],
        "missing": missing,
        "zero_lr": zero_lr,
        "weights_left_out": left_weights,
    }
    name = ctx.engine_config.user_optimizer if ctx.engine_config else "the optimizer"
    if left:
        parts = []
        if missing:
            parts.append(f"in no param group: {_names(missing)}")
        if zero_lr:
            parts.append(f"only in groups with lr 0: {_names(zero_lr)}")
        return result(
            "fail",
            f"{name} leaves {len(left)} of {len(sizes)} trainable parameter tensors out "
            f"({left_weights:,} of {total:,} weights, {left_weights / max(total, 1):.0%}): "
            + "; ".join(parts),
            hint="These parameters get gradients but are never updated and stay at their "
            "init. Build the param groups from model.named_parameters() so every parameter "
            "is in exactly one group, or freeze it on purpose with requires_grad_(False).",
            metrics=metrics,
        )
    return result(
        "pass",
        f"{name} updates all {len(sizes)} trainable parameter tensors ({total:,} weights) in "
        f"{cov['groups']} param group{'s' if cov['groups'] != 1 else ''}",
        metrics=metrics,
    )


def _names(names: list[str], limit: int = 6) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
