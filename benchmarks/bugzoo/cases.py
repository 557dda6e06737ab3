"""The bug zoo: every bug class of bug-classes.md on at least two real datasets, the
publicly reported training bugs people ask about, and the healthy recipes they start from.

A case is a healthy recipe of one dataset plus one bug: injected into the data (D1-D9),
into the recipe (learning rate, init scale, output bias...) or as a torch module with
the bug in its code (M2, M4-M9). ``expected`` are the checks bug-classes.md says must flag
it; a case is caught when one of them warns or fails (or, for ``exit2`` cases, when
nncheck stops with exit 2 and a message containing the given words).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.bugzoo import inject as inj
from benchmarks.bugzoo import tables as tab
from benchmarks.bugzoo.datasets import ROOT
from nncheck.bug_classes import CATALOGUE

# bug class -> (what it is, the checks that must flag it): the catalogue, in one place.
# The zoo injects into data, recipes and models (D, M), into table files (T) and into the
# user's own training pieces (P: the examples/bugs modules, run on the zoo's datasets);
# the S classes need sequence data and models and are caught by name in examples/bugs
# (tests/test_bug_examples.py).
ZOO_CLASSES = "DMTP"
CLASSES: dict[str, tuple[str, tuple[str, ...]]] = {
    b.id: (b.title, b.flagged_by) for b in CATALOGUE if b.id[0] in ZOO_CLASSES
}

EXAMPLES = ROOT / "examples" / "bugs"
MODELS = Path(__file__).resolve().parent / "models"
HEALTHY_TORCH = ROOT / "recipes" / "models.py"

# The healthy recipe of each dataset (the numpy engine); cases override sections of it.
BASE: dict[str, dict[str, Any]] = {
    "wine": {
        "data": {"normalize": "standardize"},
        "model": {"hidden": [8, 5], "activation": "tanh", "init": "xavier"},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "steps": 500},
    },
    "breast_cancer": {
        "data": {"normalize": "standardize"},
        "model": {"hidden": [16], "activation": "relu", "init": "he"},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "steps": 300},
    },
    "digits": {
        "data": {"normalize": "standardize"},
        "model": {"hidden": [64], "activation": "relu", "init": "he"},
        "train": {"optimizer": "adam", "lr": 0.003, "batch_size": 64, "steps": 400},
    },
    "digits8x8": {
        "data": {"normalize": "minmax"},
        "model": {"hidden": [64], "activation": "relu", "init": "he"},
        "train": {"optimizer": "adam", "lr": 0.003, "batch_size": 64, "steps": 400},
    },
    "diabetes": {
        "data": {"normalize": "standardize"},
        "model": {"hidden": [32], "activation": "relu", "init": "he"},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "steps": 500},
    },
    "mnist": {
        "data": {"normalize": "scale255", "classes": 10},
        "model": {"hidden": [128], "activation": "relu", "init": "he"},
        "train": {"optimizer": "rmsprop", "lr": 0.001, "batch_size": 128, "steps": 300},
    },
}

# The small datasets whose cases make the test suite's fast subset.
FAST_DATASETS = ("wine", "digits", "digits8x8")

# The torch twin of a dataset's recipe: used by the model-code cases (and healthy itself).
TORCH: dict[str, Any] = {"engine": "torch", "device": "cpu"}


@dataclass(frozen=True)
class Case:
    """One run of nncheck: a dataset's healthy recipe with (at most) one bug in it."""

    bug: str  # a class of CLASSES, or "healthy"
    dataset: str
    slug: str  # short name, unique within (bug, dataset)
    what: str = ""  # how the bug came about (defaults to the injector's docstring)
    inject: Callable[..., Any] | None = None  # data bug: (Data, rng) -> Data
    recipe: dict[str, Any] = field(default_factory=dict)  # sections merged into the base
    model: Path | None = None  # torch module with build(); copied beside the recipe
    factory: str = "build"  # the function in ``model``
    expected: tuple[str, ...] = ()  # defaults to the class' checks
    exit2: tuple[str, ...] = ()  # exit 2 is the right answer; words its message must hold
    table: Callable[..., Any] | None = None  # table bug: (train, test frames, rng) -> frames
    data_factory: str = ""  # a function of ``model`` returning the data from the CSV path
    public: str = ""  # a publicly reported bug: how people ask about it

    @property
    def id(self) -> str:
        return f"{self.bug}.{self.dataset}.{self.slug}"

    @property
    def fast(self) -> bool:
        """In the test suite's fast subset (run with --only its expected checks)."""
        return self.dataset in FAST_DATASETS and self.bug != "healthy"

    @property
    def checks(self) -> tuple[str, ...]:
        if self.expected:
            return self.expected
        return CLASSES[self.bug][1] if self.bug in CLASSES else ()

    @property
    def description(self) -> str:
        if self.what:
            return self.what
        for fn in (self.inject, self.table):
            if fn is not None and fn.__doc__:
                return fn.__doc__.strip().splitlines()[0]
        return self.slug

    @property
    def engine(self) -> str:
        return "torch" if self.model is not None else "numpy"


def _cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    ex, mo = EXAMPLES, MODELS
    # ------------------------------------------------------------------ healthy
    for name in BASE:
        add(Case("healthy", name, "numpy", what="the dataset's healthy numpy recipe"))
    for name, hidden, act in (("wine", [8, 5], "tanh"), ("digits", [32], "relu")):
        add(
            Case(
                "healthy",
                name,
                "torch",
                what=f"the healthy torch MLP {hidden} {act} (recipes/models.py `mlp`)",
                model=HEALTHY_TORCH,
                factory="mlp",
                recipe={"model": {"kwargs": {"hidden": hidden, "activation": act}}},
            )
        )
    # ------------------------------------------------------------------ D1
    add(Case("D1", "wine", "concat", inject=inj.concat_twice))
    add(Case("D1", "digits", "oversample", inject=inj.oversample(0.15)))
    add(Case("D1", "mnist", "oversample", inject=inj.oversample(0.10)))
    add(Case("D1", "breast_cancer", "oversample_2pct", inject=inj.oversample(0.02)))
    add(Case("D1", "mnist", "oversample_1pct", inject=inj.oversample(0.01)))
    # ------------------------------------------------------------------ D2
    add(Case("D2", "wine", "exact", inject=inj.leak_exact(0.2)))
    add(Case("D2", "breast_cancer", "reencoded", inject=inj.leak_reencoded(0.1, 3)))
    add(Case("D2", "digits", "noised", inject=inj.leak_noised_table(0.1, 1)))
    add(Case("D2", "mnist", "mixed", inject=inj.leak_images(0.05)))
    add(Case("D2", "digits8x8", "shifted", inject=inj.leak_shifted_images(0.03)))
    # ------------------------------------------------------------------ D3
    add(Case("D3", "wine", "flipped", inject=inj.conflicting_copies(0.05)))
    add(Case("D3", "digits", "flipped", inject=inj.conflicting_copies(0.03)))
    add(Case("D3", "mnist", "flipped", inject=inj.conflicting_copies(0.02)))
    add(Case("D3", "mnist", "near_flipped", inject=inj.near_conflicts(0.02, 4.0)))
    # ------------------------------------------------------------------ D4
    add(Case("D4", "wine", "shuffled", inject=inj.shuffle_labels_everywhere))
    add(Case("D4", "digits", "off_by_one", inject=inj.off_by_one))
    add(Case("D4", "breast_cancer", "sorted", inject=inj.sorted_labels))
    add(Case("D4", "mnist", "shuffled", inject=inj.shuffle_labels_everywhere))
    # ------------------------------------------------------------------ D5
    raw = {"data": {"normalize": "none"}}
    add(
        Case(
            "D5",
            "wine",
            "raw",
            what="features on their own scales (0.1 to 1680), normalize: none",
            recipe=raw,
        )
    )
    add(
        Case(
            "D5",
            "breast_cancer",
            "raw",
            what="features on scales 1e-3 to 4e3, normalize: none",
            recipe=raw,
        )
    )
    add(Case("D5", "diabetes", "raw", what="raw clinical units, normalize: none", recipe=raw))
    add(Case("D5", "mnist", "raw", what="0-255 pixels, normalize: none", recipe=raw))
    add(Case("D5", "mnist", "scaled_twice", inject=inj.prescaled(255.0)))
    add(
        Case(
            "D5",
            "digits8x8",
            "scaled_twice",
            inject=inj.prescaled(16.0),
            recipe={"data": {"normalize": "scale255"}},
        )
    )
    # ------------------------------------------------------------------ D6
    add(Case("D6", "wine", "nan", inject=inj.nan_cells))
    add(Case("D6", "breast_cancer", "inf", inject=inj.inf_cells))
    add(Case("D6", "digits", "labels_1_to_10", inject=inj.labels_one_based))
    add(Case("D6", "diabetes", "sentinel", inject=inj.target_sentinel))
    add(
        Case(
            "D6",
            "mnist",
            "labels_1_to_10",
            inject=inj.labels_one_based,
            recipe={"data": {"classes": None}},
        )
    )
    # ------------------------------------------------------------------ D7
    add(Case("D7", "wine", "unit_error", inject=inj.unit_error_rows(2, 1000.0)))
    add(Case("D7", "breast_cancer", "spikes", inject=inj.sensor_spikes(3)))
    add(Case("D7", "breast_cancer", "one_unit_error", inject=inj.unit_error_rows(1, 1000.0)))
    add(Case("D7", "diabetes", "unit_error", inject=inj.unit_error_rows(3, 1000.0, column=2)))
    add(Case("D7", "mnist", "broken_images", inject=inj.broken_images(0.01)))
    add(Case("D7", "digits8x8", "broken_images", inject=inj.broken_images(0.02)))
    # ------------------------------------------------------------------ D8
    add(
        Case(
            "D8",
            "mnist",
            "uint8_div_255",
            inject=inj.integer_division_255,
            recipe={"data": {"normalize": "none"}},
        )
    )
    add(
        Case(
            "D8",
            "wine",
            "minmax_floordiv",
            inject=inj.minmax_integer_division,
            recipe={"data": {"normalize": "none"}},
        )
    )
    add(
        Case(
            "D8",
            "breast_cancer",
            "minmax_floordiv",
            inject=inj.minmax_integer_division,
            recipe={"data": {"normalize": "none"}},
        )
    )
    # ------------------------------------------------------------------ D9
    zero = {"model": {"output_bias": "zero"}}
    add(Case("D9", "breast_cancer", "imbalance", inject=inj.imbalance(0.05), recipe=zero))
    add(Case("D9", "digits", "imbalance", inject=inj.imbalance(0.05), recipe=zero))
    add(Case("D9", "mnist", "imbalance", inject=inj.imbalance(0.05), recipe=zero))
    add(Case("D9", "digits", "label_shift", inject=inj.label_shift(0.8)))
    add(Case("D9", "mnist", "label_shift", inject=inj.label_shift(0.8)))
    # ------------------------------------------------------------------ M1
    add(
        Case(
            "M1",
            "wine",
            "sgd_lr_50",
            what="SGD with lr 50 (a typo for 0.05)",
            recipe={"train": {"optimizer": "sgd", "lr": 50.0}},
        )
    )
    add(Case("M1", "digits", "adam_lr_3", what="Adam with lr 3", recipe={"train": {"lr": 3.0}}))
    add(
        Case(
            "M1",
            "diabetes",
            "sgd_lr_1",
            what="SGD with lr 1 on standardized inputs",
            recipe={"train": {"optimizer": "sgd", "lr": 1.0}},
        )
    )
    add(
        Case("M1", "mnist", "rmsprop_lr_1", what="RMSprop with lr 1", recipe={"train": {"lr": 1.0}})
    )
    # ------------------------------------------------------------------ M2
    add(
        Case(
            "M2",
            "wine",
            "lr_zero",
            what="lr 0 (a scheduler that starts at zero)",
            recipe={"train": {"lr": 0.0}},
        )
    )
    add(Case("M2", "digits", "lr_1e-7", what="Adam with lr 1e-7", recipe={"train": {"lr": 1e-7}}))
    add(
        Case(
            "M2",
            "wine",
            "frozen",
            what="every parameter requires_grad=False (examples/bugs)",
            model=ex / "frozen_layers.py",
        )
    )
    add(
        Case(
            "M2",
            "digits",
            "frozen",
            what="every parameter requires_grad=False (examples/bugs)",
            model=ex / "frozen_layers.py",
        )
    )
    add(
        Case(
            "M2",
            "wine",
            "no_grad_forward",
            what="forward under torch.no_grad() (examples/bugs)",
            model=ex / "detached_forward.py",
        )
    )
    add(
        Case(
            "M2",
            "digits",
            "detached_logits",
            what="logits .detach()ed for logging",
            model=mo / "detach_logits.py",
        )
    )
    # ------------------------------------------------------------------ M3
    big, small = (
        {"model": {"init": "normal", "init_std": 10.0}},
        {"model": {"init": "normal", "init_std": 1e-4}},
    )
    add(Case("M3", "wine", "std_10", what="init_std 10", recipe=big))
    add(Case("M3", "digits", "std_10", what="init_std 10", recipe=big))
    add(Case("M3", "digits", "std_1e-4", what="init_std 1e-4", recipe=small))
    add(Case("M3", "mnist", "std_1e-4", what="init_std 1e-4", recipe=small))
    add(
        Case(
            "M3",
            "mnist",
            "std_1",
            what="init_std 1 (N(0, 1) weights, 784 inputs)",
            recipe={"model": {"init": "normal", "init_std": 1.0}},
        )
    )
    add(Case("M3", "breast_cancer", "std_10", what="init_std 10", recipe=big))
    add(
        Case(
            "M3",
            "digits",
            "no_fan_in",
            what="torch weights N(0, 1): no fan-in scaling",
            model=mo / "missing_fan_in.py",
        )
    )
    # ------------------------------------------------------------------ M4
    add(
        Case(
            "M4",
            "wine",
            "softmax_twice",
            what="forward returns softmax probabilities (examples/bugs)",
            model=ex / "softmax_twice.py",
        )
    )
    add(
        Case(
            "M4",
            "digits",
            "softmax_layer",
            what="nn.Softmax as the last layer (a Keras port)",
            model=mo / "softmax_layer.py",
        )
    )
    # ------------------------------------------------------------------ M5
    add(
        Case(
            "M5",
            "wine",
            "unseeded_noise",
            what="input noise from np.random.default_rng() (examples/bugs)",
            model=ex / "unseeded_noise.py",
        )
    )
    add(
        Case(
            "M5",
            "digits",
            "clock_dropout",
            what="dropout from a torch.Generator seeded by Generator.seed()",
            model=mo / "clock_seeded_dropout.py",
        )
    )
    # ------------------------------------------------------------------ M6
    add(
        Case(
            "M6",
            "wine",
            "reshape",
            what="reshape instead of transpose (examples/bugs)",
            model=ex / "batch_mixing.py",
        )
    )
    add(
        Case(
            "M6",
            "digits",
            "batch_stats",
            what="features standardized over the batch in forward",
            model=mo / "batch_stats.py",
        )
    )
    # ------------------------------------------------------------------ M7
    add(
        Case(
            "M7",
            "wine",
            "buffer_input",
            what="forward uses a buffer instead of x (examples/bugs)",
            model=ex / "ignores_input.py",
        )
    )
    add(
        Case(
            "M7",
            "digits",
            "zero_mask",
            what="input mask buffer made with torch.zeros",
            model=mo / "zero_mask.py",
        )
    )
    # ------------------------------------------------------------------ M8
    add(
        Case(
            "M8",
            "wine",
            "hardcoded_2",
            what="2 outputs hard-coded for 3 classes (examples/bugs)",
            model=ex / "wrong_output_size.py",
            exit2=("model outputs 2 values per sample", "3 classes"),
        )
    )
    add(
        Case(
            "M8",
            "digits",
            "hardcoded_9",
            what="9 outputs hard-coded for 10 classes",
            model=mo / "hardcoded_outputs.py",
            exit2=("model outputs 9 values per sample", "10 classes"),
        )
    )
    add(
        Case(
            "M8",
            "wine",
            "classes_2",
            what="recipe declares classes: 2 for 3-class data (numpy)",
            recipe={"data": {"classes": 2}},
        )
    )
    add(
        Case(
            "M8",
            "mnist",
            "classes_9",
            what="recipe declares classes: 9 for 10-class data (numpy)",
            recipe={"data": {"classes": 9}},
        )
    )
    # ------------------------------------------------------------------ M9
    add(
        Case(
            "M9",
            "wine",
            "tanh_sign",
            what="custom tanh backward with a sign error",
            model=mo / "tanh_sign_error.py",
        )
    )
    add(
        Case(
            "M9",
            "digits",
            "relu_mask",
            what="custom ReLU backward masking with y >= 0",
            model=mo / "relu_mask_error.py",
        )
    )
    # ------------------------------------------------------------------ public
    pub = "public"
    add(
        Case(
            "M4",
            "digits",
            "relu_output",
            model=mo / "relu_output.py",
            public=pub,
            what="a ReLU after the output layer, before cross-entropy",
        )
    )
    add(
        Case(
            "M4",
            "wine",
            "relu_output",
            model=mo / "relu_output.py",
            public=pub,
            what="a ReLU after the output layer, before cross-entropy",
        )
    )
    add(
        Case(
            "M4",
            "digits",
            "sigmoid_output",
            model=mo / "sigmoid_output.py",
            public=pub,
            what="a sigmoid output layer before cross-entropy",
        )
    )
    add(
        Case(
            "M4",
            "wine",
            "sigmoid_output",
            model=mo / "sigmoid_output.py",
            public=pub,
            what="a sigmoid output layer before cross-entropy",
        )
    )
    add(
        Case(
            "D4",
            "breast_cancer",
            "shuffled_separately",
            inject=inj.shuffle_train_labels,
            public=pub,
        )
    )
    add(Case("D4", "diabetes", "shuffled_separately", inject=inj.shuffle_train_labels, public=pub))
    add(
        Case(
            "D5",
            "wine",
            "test_not_normalized",
            inject=inj.test_not_normalized,
            public=pub,
            recipe=raw,
            expected=("data.features", "skeleton.init_scale", "evaluate.full_test_set"),
        )
    )
    add(
        Case(
            "D5",
            "breast_cancer",
            "test_not_normalized",
            inject=inj.test_not_normalized,
            public=pub,
            recipe=raw,
            expected=("data.features", "skeleton.init_scale", "evaluate.full_test_set"),
        )
    )
    add(
        Case(
            "M1",
            "diabetes",
            "sgd_0.1_unscaled",
            public=pub,
            what="SGD lr 0.1 on an unscaled regression (normalize: none)",
            recipe={"data": {"normalize": "none"}, "train": {"optimizer": "sgd", "lr": 0.1}},
            expected=(
                "overfit.one_batch",
                "overfit.loss_decreases",
                "data.features",
                "skeleton.init_scale",
            ),
        )
    )
    add(
        Case(
            "M4",
            "breast_cancer",
            "single_unit_softmax",
            model=mo / "single_unit_softmax.py",
            public=pub,
            what="softmax over a 1-unit head (constant output)",
            expected=(
                "skeleton.init_loss",
                "overfit.one_batch",
                "overfit.loss_decreases",
                "skeleton.input_independent",
            ),
        )
    )
    add(
        Case(
            "M3",
            "digits",
            "deep_sigmoid",
            public=pub,
            what="8 sigmoid layers of 64 units that never learn",
            recipe={"model": {"hidden": [64] * 8, "activation": "sigmoid", "init": "xavier"}},
            expected=(
                "skeleton.init_scale",
                "skeleton.init_loss",
                "overfit.one_batch",
                "overfit.loss_decreases",
            ),
        )
    )
    add(
        Case(
            "M3",
            "mnist",
            "deep_sigmoid",
            public=pub,
            what="8 sigmoid layers of 64 units that never learn",
            recipe={"model": {"hidden": [64] * 8, "activation": "sigmoid", "init": "xavier"}},
            expected=(
                "skeleton.init_scale",
                "skeleton.init_loss",
                "overfit.one_batch",
                "overfit.loss_decreases",
            ),
        )
    )
    # ------------------------------------------------------------------ T1-T3
    for name in ("wine", "breast_cancer"):
        add(Case("T1", name, "row_names", table=tab.row_names_sorted_by_class))
    add(Case("T1", "digits", "customer_ids", table=tab.customer_ids))
    add(Case("T2", "wine", "question_marks", table=tab.question_marks))
    add(Case("T2", "digits", "empty_cells", table=tab.empty_cells))
    add(Case("T2", "diabetes", "zero_bp", table=tab.zero_blood_pressure))
    for name in ("wine", "breast_cancer"):
        add(
            Case(
                "T3",
                name,
                "patients",
                table=tab.patients_across_the_split,
                recipe={"data": {"groups": "patient"}},
            )
        )
    # ------------------------------------------------------------------ P1-P3
    # The examples/bugs modules, each run on two of the zoo's datasets: the pieces
    # (optimizer, scheduler, step) on the zoo's CSVs, the data factories reading them.
    pieces = (
        ("P1", "head_left_out", "optimizer_missing_params", "skeleton.optimizer_params",
         {"train": {"optimizer": "optimizer_missing_params:make_optimizer"}}, ""),
        ("P1", "schedule_per_epoch", "schedule_per_epoch", "skeleton.lr_schedule",
         {"train": {"optimizer": "adam", "lr": 0.003,
                    "scheduler": "schedule_per_epoch:make_scheduler"}}, ""),
        ("P2", "augmented_test", "augmented_test_set", "data.test_augmentation", {}, "make_data"),
        ("P2", "shifted_targets", "shifted_targets", "data.pipeline_targets", {}, "make_data"),
        ("P3", "no_zero_grad", "no_zero_grad", "skeleton.grad_accumulation",
         {"train": {"optimizer": "sgd", "lr": 0.01, "step": "no_zero_grad:train_step"}}, ""),
        ("P3", "sorted_loader", "sorted_loader", "data.loader_batches", {}, "make_data"),
        ("P3", "worker_rng", "worker_shared_rng", "data.worker_seeds", {}, "make_data"),
    )  # fmt: skip
    for bug, slug, module, check, recipe, data_factory in pieces:
        for name in ("wine", "digits"):
            add(
                Case(
                    bug,
                    name,
                    slug,
                    what=_first_line(ex / f"{module}.py"),
                    model=ex / f"{module}.py",
                    recipe={"train": {"steps": 300}, **recipe},
                    expected=(check,),
                    data_factory=data_factory,
                    # the loader bug needs what makes it bite: a file in class order
                    table=tab.sorted_by_class if slug == "sorted_loader" else None,
                )
            )
    return c


def _first_line(module: Path) -> str:
    """The summary line of a bug example's docstring ("P1: the optimizer leaves...")."""
    text = module.read_text().split('"""')[1].strip().splitlines()[0]
    return text.split(": ", 1)[-1].rstrip(".")


CASES: list[Case] = _cases()

# Why a case is missed (or a healthy recipe warns) and what would fix it; the results
# page shows these next to the numbers. Written from the measured runs.
NOTES: dict[str, str] = {
    "M1.wine.sgd_lr_50": (
        "overfit.one_batch passes: at lr 50 the 8-sample batch is 'memorized' in 10 steps"
        " (loss 1.18 -> exactly 0) by weights that blow up, and the same happens in"
        " M1.digits.adam_lr_3 (5 steps) and M1.mnist.rmsprop_lr_1 (6 steps); only"
        " overfit.loss_decreases sees the divergence (train-subset loss 1.07 -> 12.8)."
        " Would fix: one_batch treating a float32 loss of exactly 0 within a few steps, or"
        " a parameter norm grown by orders of magnitude, as 'lr far too high'."
    ),
    "M1.mnist.rmsprop_lr_1": (
        "Once only a warning (exit 0): the fixed train subset ends 17% below its start, so"
        " overfit.loss_decreases said 'decreased but unstable' although the smoothed batch"
        " loss peaked at 14,444x the start and the test-subset loss ended at 48.5 vs 2.4 at"
        " init. Fixed: a peak above `fail_spike_ratio` (100x) the start now fails."
    ),
    "D7.wine.unit_error": (
        "Every D7 case warns rather than fails (exit 0): data.outliers fails only when the"
        " corrupted samples are over 5% of a split (`fail_fraction`), so a CI gate needs"
        " `--fail-on warn` to stop on a handful of corrupted rows. By design: a far-out"
        " sample can be real."
    ),
    "D8.mnist.uint8_div_255": (
        "skeleton.input_independent passes: the 0.6% of pixels that were exactly 255"
        " survive as 1 and carry enough signal for 38% test accuracy (zeroed inputs: 13%);"
        " data.features catches the wipe (99.4% of the raw values are 0; healthy 81%)."
    ),
    "M4.wine.relu_output": (
        "skeleton.init_loss passes: nncheck's prior-initialized output bias (the class"
        " log-priors, all negative) puts every ReLU output unit below zero, so all logits"
        " are 0 and the loss is exactly log K, within the expected band. The model is"
        " dead from the start (init_scale: 'no gradient reaches any layer') and"
        " skeleton.determinism warns 'seed 1 gives exactly the same curve: the seed is"
        " ignored', a misleading diagnosis: the loss does not depend on the parameters at"
        " all. Would fix: determinism saying so when both seeds' curves are flat."
    ),
    "M5.wine.unseeded_noise": (
        "skeleton.gradient_check also fails ('opposite sign', every parameter affected):"
        " the finite differences are taken of a loss that changes on every evaluation, so"
        " the message blames backprop. Would fix: gradient_check evaluating L(p) twice and"
        " reporting 'the loss is not a deterministic function of the parameters'."
    ),
    "M3.digits.std_1e-4": (
        "skeleton.init_loss passes by design: with tiny weights and a prior-initialized"
        " bias the loss at init is exactly the prior's; skeleton.init_scale flags the"
        " vanishing signal (pre-activation std 0.00074)."
    ),
    "M3.digits.deep_sigmoid": (
        "overfit.loss_decreases passes (Adam still moves the loss 2.42 -> 1.11 in 400"
        " steps); skeleton.init_scale names the cause (layer0's gradient 3.8e4x smaller"
        " than the last layer's) and overfit.one_batch fails (plateau at 1.42)."
    ),
}


def by_id(ids: list[str] | None = None, pattern: str | None = None) -> list[Case]:
    """Cases by id or by a regular expression over ids (all when neither is given)."""
    out = CASES
    if ids:
        known = {c.id: c for c in CASES}
        missing = [i for i in ids if i not in known]
        if missing:
            raise KeyError(f"unknown case ids: {', '.join(missing)}")
        out = [known[i] for i in ids]
    if pattern:
        rx = re.compile(pattern)
        out = [c for c in out if rx.search(c.id)]
    return out


def classes_in_catalogue(path: Path) -> dict[str, tuple[str, ...]]:
    """Bug classes and their checks as bug-classes.md lists them (for the coverage test)."""
    out: dict[str, tuple[str, ...]] = {}
    for line in path.read_text().splitlines():
        m = re.match(rf"\|\s*([{ZOO_CLASSES}]\d+)\s*\|[^|]*\|[^|]*\|\s*([^|]*)\|", line)
        if m:
            out[m.group(1)] = tuple(re.findall(r"[a-z_]+\.[a-z_]+", m.group(2)))
    return out
