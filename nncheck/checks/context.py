"""The shared, read-only context every check receives.

Checks read the recipe, the dataset, earlier results and build engines through
``make_engine``; they never write files or print. ``memo`` lets checks share expensive work
(one short training can serve several checks) without knowing about each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from nncheck.data.dataset import Dataset
from nncheck.data.pipeline import Pipeline
from nncheck.engines.base import Engine, EngineConfig
from nncheck.recipe.schema import Recipe
from nncheck.results import CheckResult

T = TypeVar("T")
StepProgress = Callable[[str, int, int], None]  # (label, step, total)


@dataclass
class Context:
    recipe: Recipe
    dataset: Dataset
    engine_config: EngineConfig | None
    engine_factory: Callable[[EngineConfig, int], Engine] | None
    engine_problem: str | None = None  # why no engine could be built, for `skip` reasons
    # The user's data objects behind ``dataset`` (a torch Dataset / DataLoader read through
    # their transforms), for the checks that read the pipeline itself; None for data files.
    pipeline: Pipeline | None = None
    results: dict[str, CheckResult] = field(default_factory=dict)
    progress: StepProgress | None = None
    _memo: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.recipe.seed

    def make_engine(self, seed: int | None = None, **overrides: Any) -> Engine:
        """A fresh engine built from the recipe (``overrides`` replace config fields)."""
        if self.engine_config is None or self.engine_factory is None:
            raise RuntimeError(self.engine_problem or "no engine available")
        config = self.engine_config
        if overrides:
            from dataclasses import replace

            config = replace(config, **overrides)
        return self.engine_factory(config, self.seed if seed is None else seed)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute once per run and share (e.g. a training that several checks judge)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def test_scope(self) -> str:
        """How many test samples the model checks saw, as a message says it: "all 10000",
        or "a seeded sample of 60,000 of 100,000" (data.max_samples; the intervals are
        then those of the sample)."""
        n = len(self.dataset.test)
        total = n
        if self.dataset.stream is not None:
            total = len(self.dataset.stream.test)
        elif self.pipeline is not None and self.pipeline.test is not None:
            total = max(n, self.pipeline.test.n_items)
        return f"all {n}" if total == n else f"a seeded sample of {n:,} of {total:,}"

    def memoized(self, prefix: str) -> list[Any]:
        """What was already shared under keys starting with ``prefix``, in order computed."""
        return [v for k, v in self._memo.items() if k.startswith(prefix)]

    def report_steps(self, label: str, total: int) -> Callable[[int, float], None] | None:
        """A training callback that forwards step progress to the terminal, if any."""
        if self.progress is None:
            return None
        progress = self.progress

        def callback(step: int, loss: float) -> None:
            if step % 10 == 0 or step == total - 1:
                progress(label, step + 1, total)

        return callback

    def training_setup(self) -> str:
        """How the model is trained, for messages: "lr 0.001" with a builtin optimizer, or
        the user's own optimizer, schedule and step by name."""
        cfg = self.engine_config
        if cfg is None or not (cfg.user_optimizer or cfg.user_scheduler or cfg.user_step):
            return f"lr {self.recipe.train.lr:g}"
        parts = [cfg.user_optimizer or f"{self.recipe.train.optimizer} lr {self.recipe.train.lr:g}"]
        if cfg.user_scheduler:
            parts.append(f"schedule {cfg.user_scheduler}")
        if cfg.user_step:
            parts.append(f"step {cfg.user_step}")
        return ", ".join(parts)

    def sample_batch(self, size: int, seed_offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A seeded batch of training samples with valid labels (stratified-ish by chance)."""
        train = self.dataset.train
        rng = np.random.default_rng(self.seed + 1000 + seed_offset)
        n = len(train)
        idx = np.sort(rng.choice(n, size=min(size, n), replace=False))
        return train.x[idx], train.y[idx]


def usability_problem(dataset: Dataset) -> str | None:
    """Why the data cannot be fed to a model as it is, or None.

    Model checks on NaN inputs or invalid labels would only report confusing symptoms, so
    the runner skips them with this reason and `data.integrity` reports the cause.
    """
    train, test = dataset.train, dataset.test
    if len(train) == 0:
        return "the training split is empty"
    if len(test) == 0:
        return "the test split is empty"
    for name, split in (("train", train), ("test", test)):
        if not np.isfinite(split.x).all():
            return f"{name} inputs contain NaN or inf"
        if dataset.has_classes:
            if (split.y < 0).any():
                return f"{name} has labels outside the classes"
        elif dataset.is_multilabel:
            if not np.isfinite(split.y).all():
                return f"{name} has label cells that are not 0/1"
        elif not np.isfinite(split.y).all():
            return f"{name} has a target that is NaN, inf or not numeric"
    if dataset.has_classes and len(np.unique(train.y)) < 2:
        return "the training split has a single class"
    return None
