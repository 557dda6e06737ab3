"""The bug classes nncheck exists to catch, and the checks that point at each.

The one place the bug-class tags come from: ``nncheck checks`` and README's check table
(``nncheck checks --markdown``, kept equal by a test) derive each check's tags from here,
and the bug zoo (``benchmarks/bugzoo``) counts a case as caught when one of its class's
``flagged_by`` checks warns or fails. ``flagged_by`` is the project's catalogue
(bug-classes.md); ``also`` are checks that point at the class too, as the bug zoo's runs
show (label errors warn on shuffled labels; near duplicates flag near copies within a split).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BugClass:
    id: str
    title: str
    flagged_by: tuple[str, ...]
    also: tuple[str, ...] = ()

    @property
    def checks(self) -> tuple[str, ...]:
        return self.flagged_by + self.also


CATALOGUE: tuple[BugClass, ...] = (
    BugClass(
        "D1", "exact duplicate samples in train", ("data.duplicates",), ("data.near_duplicates",)
    ),
    BugClass(
        "D2", "test samples that also occur in train", ("data.leakage",), ("data.sequence_overlap",)
    ),
    BugClass(
        "D3",
        "identical inputs with different labels",
        ("data.label_conflicts",),
        ("data.label_errors",),
    ),
    BugClass(
        "D4",
        "labels misaligned with inputs",
        ("skeleton.input_independent", "evaluate.full_test_set"),
        ("data.label_errors",),
    ),
    BugClass("D5", "un-normalized inputs", ("data.features", "skeleton.init_scale")),
    BugClass("D6", "NaN / inf values, labels outside the class range", ("data.integrity",)),
    BugClass("D7", "corrupted samples", ("data.outliers",)),
    BugClass(
        "D8", "inputs wiped by preprocessing", ("data.features", "skeleton.input_independent")
    ),
    BugClass(
        "D9",
        "heavy class imbalance with a zero output bias; label shift",
        ("data.class_balance", "skeleton.output_bias", "skeleton.init_loss"),
    ),
    BugClass("M1", "learning rate far too high", ("overfit.one_batch", "overfit.loss_decreases")),
    BugClass(
        "M2",
        "nothing learns (lr zero, frozen, detached)",
        ("overfit.one_batch", "overfit.loss_decreases"),
        ("overfit.lm_one_batch",),
    ),
    BugClass(
        "M3",
        "bad init scale",
        ("skeleton.init_loss", "skeleton.init_scale"),
        ("skeleton.lm_init_loss",),
    ),
    BugClass(
        "M4",
        "softmax twice / wrong loss for the outputs",
        ("skeleton.init_loss", "overfit.one_batch"),
        ("skeleton.lm_init_loss",),
    ),
    BugClass("M5", "unseeded randomness", ("skeleton.determinism",)),
    BugClass(
        "M6",
        "samples mixed across the batch",
        ("skeleton.batch_independence",),
        ("skeleton.sequence_independence",),
    ),
    BugClass("M7", "the model ignores its input", ("skeleton.input_independent",)),
    BugClass("M8", "output layer size does not match the classes", ("data.integrity",)),
    BugClass("M9", "backprop disagrees with the forward pass", ("skeleton.gradient_check",)),
    BugClass(
        "P1",
        "optimizer leaves parameters out; schedule drives the lr to 0",
        ("skeleton.optimizer_params", "skeleton.lr_schedule"),
    ),
    BugClass(
        "P2",
        "random augmentation on the test set; targets changed",
        ("data.test_augmentation", "data.pipeline_targets"),
    ),
    BugClass(
        "P3",
        "no zero_grad; one class per batch; workers sharing a seed",
        ("skeleton.grad_accumulation", "data.loader_batches", "data.worker_seeds"),
    ),
    BugClass(
        "T1",
        "categorical, identifier or row-number columns fed as features",
        ("data.identifiers", "data.categories"),
    ),
    BugClass("T2", "missing values as ?, empty, NA or numeric sentinels", ("data.missing_values",)),
    BugClass("T3", "the same group on both sides of the split", ("data.leakage",)),
    BugClass(
        "S1",
        "sequence model sees the future; targets unshifted; padding in the loss",
        ("skeleton.causal", "data.sequence_targets", "data.padding"),
        ("skeleton.lm_init_loss",),
    ),
    BugClass(
        "S2",
        "softmax over independent (multilabel) labels; images fed channels-last",
        ("skeleton.multilabel_init", "data.image_layout"),
        ("overfit.one_batch",),
    ),
)
BY_ID = {b.id: b for b in CATALOGUE}


def tags(check_id: str) -> tuple[str, ...]:
    """The bug classes a check points at, in catalogue order (e.g. ``("D6", "M8")``)."""
    return tuple(b.id for b in CATALOGUE if check_id in b.checks)
