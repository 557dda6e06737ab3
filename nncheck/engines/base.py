"""The engine interface every check talks to.

Checks never know which engine they have: the numpy MLP and (later) the torch engine both
answer this small protocol. Keeping it small is what lets one check serve both engines, so
add a method here only when a check cannot be written with the ones that exist.

Conventions shared by every engine:

- Inputs are float32 arrays shaped ``(n, *input_shape)`` exactly as the dataset holds them
  (images keep their shape; an MLP flattens them itself).
- Targets: int64 class indices ``(n,)`` for classification, float32 ``(n,)`` for regression.
- ``forward`` returns raw outputs ``(n, n_outputs)``: logits for softmax cross-entropy, the
  predictions themselves for MSE.
- Losses are means over the batch; ``weights`` turns them into ``sum_i weights[i] * loss_i``
  (used to take the gradient of one sample's loss alone).
- Every random choice (init, batch order, dropout) comes from the seed given to
  ``reset``/``train``, so the same seed gives bit-identical curves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

Task = Literal[
    "classification", "regression", "language_model", "sequence_classification", "multilabel"
]


@dataclass(frozen=True)
class EngineConfig:
    """Everything an engine needs to build a model; resolved from the recipe and the data."""

    input_shape: tuple[int, ...]
    n_outputs: int
    task: Task
    hidden: tuple[int, ...] = (64,)
    activation: Literal["relu", "tanh", "sigmoid"] = "relu"
    init: Literal["xavier", "he", "normal"] = "xavier"
    init_std: float = 0.01
    output_bias: Literal["prior", "zero"] = "prior"
    # bce: sigmoid + binary cross-entropy per output, summed over outputs (multilabel)
    loss: Literal["cross_entropy", "mse", "bce"] = "cross_entropy"
    optimizer: Literal["sgd", "momentum", "rmsprop", "adam"] = "adam"
    lr: float = 1e-3
    batch_size: int = 32
    steps: int = 500
    # Output-bias prior: class frequencies (classification, length n_outputs), each label's
    # positive rate (multilabel, length n_outputs) or the target mean (regression, length
    # 1), all measured on the training split.
    prior: tuple[float, ...] = ()
    # The user's own pieces this run uses, by name ("" = nncheck's builtin): checks judge
    # them (the expected init loss under the user's loss, the optimizer's parameters, the
    # schedule, the step) and skip with a reason when there is none.
    user_loss: str = ""
    user_optimizer: str = ""
    user_scheduler: str = ""
    user_step: str = ""
    # Engine-specific extras (torch: factory, kwargs, device, the user's objects).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerActivation:
    """What one layer produced on a forward pass, for init-scale statistics."""

    name: str  # e.g. "layer0 (tanh)"
    kind: str  # "relu" | "tanh" | "sigmoid" | "linear" | a module class name
    pre: np.ndarray | None  # pre-activation (n, units), None where not available
    post: np.ndarray  # output of the layer (n, units)


@dataclass(frozen=True)
class Gradients:
    """Gradients of the (weighted) mean loss.

    ``params`` maps parameter names (``"layer0.weight"``, ``"layer0.bias"``, ...) to arrays
    shaped like the parameters; ``inputs`` has the shape of the input batch when asked for.
    """

    loss: float
    params: dict[str, np.ndarray]
    inputs: np.ndarray | None = None


@dataclass
class TrainCurve:
    """The record of one training run: what the report plots and the checks judge."""

    steps: list[int]  # step index of each recorded loss (0-based, before the update)
    loss: list[float]  # training loss on the batch of that step
    accuracy: list[float] = field(default_factory=list)  # batch accuracy (classification)
    seed: int = 0
    diverged: bool = False  # stopped early because the loss became NaN/inf

    def final_loss(self) -> float:
        return self.loss[-1] if self.loss else float("nan")


# Called after each step's update with (step, loss). It may call forward/loss on the
# engine (the shared training measures held-out loss this way); engines keep those free of
# side effects on parameters, optimizer state, random state and train/eval mode.
StepCallback = Callable[[int, float], None]


@runtime_checkable
class Engine(Protocol):
    """The small interface that every check uses."""

    config: EngineConfig

    def reset(self, seed: int) -> None:
        """(Re)build parameters and optimizer state from ``seed``."""

    def forward(
        self, x: np.ndarray, *, activations: bool = False
    ) -> np.ndarray | tuple[np.ndarray, list[LayerActivation]]:
        """Raw outputs ``(n, n_outputs)``; with ``activations=True`` also per-layer ones."""

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean loss of the batch under the configured loss."""

    def gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        inputs: bool = False,
        weights: np.ndarray | None = None,
    ) -> Gradients:
        """Gradients w.r.t. every parameter (and the inputs when ``inputs=True``)."""

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One optimizer update on this batch; returns the loss before the update."""

    def train(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        steps: int,
        batch_size: int,
        seed: int,
        callback: StepCallback | None = None,
    ) -> TrainCurve:
        """Seeded minibatch training from the current state; stops early on NaN/inf."""

    def parameters(self) -> dict[str, np.ndarray]:
        """Name -> parameter array (copies are not required; callers must not mutate)."""

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Overwrite parameters by name (used by finite differences)."""

    def state(self) -> dict[str, Any]:
        """A deep copy of parameters and optimizer state, for ``restore``."""

    def restore(self, state: dict[str, Any]) -> None:
        """Return exactly to a state taken with ``state()``."""

    def astype(self, dtype: Any) -> Engine:
        """An independent copy computing in ``dtype`` (float64 for gradient checks)."""


def initial_output_bias(cfg: EngineConfig, k: int) -> np.ndarray:
    """The output layer's starting bias (float64, ``k`` values): zeros, or the prior that
    makes the initial prediction the best constant one, so the loss at init is the prior's
    entropy: the class log-priors (softmax cross-entropy), each label's log-odds (bce), the
    frequencies themselves (MSE on one-hot targets) or the target mean (regression)."""
    prior = np.asarray(cfg.prior, dtype=np.float64)
    if cfg.output_bias == "zero" or prior.size == 0:
        return np.zeros(k)
    if cfg.output_bias != "prior":
        raise ValueError(f"unknown output_bias {cfg.output_bias!r}")
    if cfg.task == "regression":
        return np.full(k, prior[0])
    if prior.size != k:
        raise ValueError(f"prior has {prior.size} class frequencies but {k} outputs")
    if cfg.loss == "cross_entropy":
        return np.log(np.clip(prior, 1e-6, None))
    if cfg.loss == "bce":
        return prior_log_odds(prior)
    return prior


def prior_log_odds(rates: np.ndarray) -> np.ndarray:
    """The output bias whose sigmoid is each label's positive rate (multilabel): the best
    constant under binary cross-entropy. Rates are clipped to [1e-6, 1 - 1e-6], so a label
    that is never (or always) set gets a large but finite bias."""
    p = np.clip(np.asarray(rates, dtype=np.float64), 1e-6, 1.0 - 1e-6)
    return np.log(p) - np.log1p(-p)
