"""Optimizers for the numpy engine: SGD, momentum, RMSprop and Adam.

Each one follows PyTorch's update formula exactly (same operation order, same defaults), so
a curve from the numpy engine can be compared against ``torch.optim`` and a test can check
a few steps against it. Updates are in place into the parameter arrays, using one scratch
buffer per parameter, because the optimizer runs once per training step and allocating
fresh arrays there would dominate small networks.

All hyperparameters are Python floats: under NumPy 2's promotion rules (NEP 50) a float32
array times a Python float stays float32, so the update never silently upcasts.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")


# Large parameters are updated in blocks of this many elements. Each optimizer is a chain
# of element-wise ufuncs; run over a whole 784x512 weight (1.6 MB per array) every pass
# streams from L3/memory, while a 256 KB block keeps the parameter, its gradient and the
# buffers in L2 for the whole chain. Element-wise work gives bit-identical results in any
# block size. (Python threads were tried too: OpenBLAS's worker spins on the second core
# right after the backward matmul, so a second update thread only fought it.)
_BLOCK = 65536


class Optimizer(ABC):
    """Base class: holds references to the parameter arrays and updates them in place.

    ``params`` maps names to the engine's own parameter arrays (not copies); ``step`` takes
    gradients under the same names. ``state``/``load_state`` are what the engine saves in
    its own ``state()`` so that a restore returns the optimizer exactly where it was.
    Subclasses name their per-parameter buffers in ``buffer_names`` and write ``_update``
    over plain arrays (possibly flat blocks of a parameter), in the buffers' order.
    """

    name = "base"
    buffer_names: tuple[str, ...] = ()

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        self.params = params
        self.lr = float(lr)
        self.t = 0  # number of updates taken (Adam's bias correction needs it)
        # One scratch buffer per parameter, reused every step.
        self._tmp = {k: np.empty_like(p) for k, p in params.items()}
        self.buffers: dict[str, dict[str, np.ndarray]] = {
            b: {k: np.zeros_like(p) for k, p in params.items()} for b in self.buffer_names
        }

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """Apply one update with these gradients."""
        self.t += 1
        self._prepare()
        for k, p in self.params.items():
            arrays = (p, grads[k], self._tmp[k], *(self.buffers[b][k] for b in self.buffer_names))
            if p.size <= _BLOCK or not all(a.flags.c_contiguous for a in arrays):
                self._update(*arrays)
                continue
            flats = [a.reshape(-1) for a in arrays]  # views
            for lo in range(0, p.size, _BLOCK):
                self._update(*(f[lo : lo + _BLOCK] for f in flats))

    def _prepare(self) -> None:  # noqa: B027 - optional hook: most optimizers need none
        """Per-step scalars (e.g. Adam's bias corrections), computed once before updating."""

    @abstractmethod
    def _update(self, p: np.ndarray, g: np.ndarray, tmp: np.ndarray, *bufs: np.ndarray) -> None:
        """Update ``p`` in place from gradient ``g`` (``tmp`` is scratch, ``bufs`` state)."""

    def state(self) -> dict[str, Any]:
        """A deep copy of the optimizer's state (step count and per-parameter buffers)."""
        return {
            "t": self.t,
            "buffers": {b: {k: a.copy() for k, a in d.items()} for b, d in self.buffers.items()},
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Copy a state taken with ``state()`` back into the existing buffers."""
        self.t = int(state["t"])
        for b, d in state["buffers"].items():
            for k, a in d.items():
                np.copyto(self.buffers[b][k], a, casting="unsafe")


class SGD(Optimizer):
    """Plain SGD: ``p -= lr * g``."""

    name = "sgd"

    def _update(self, p: np.ndarray, g: np.ndarray, tmp: np.ndarray, *bufs: np.ndarray) -> None:
        np.multiply(g, self.lr, out=tmp)
        p -= tmp


class Momentum(Optimizer):
    """SGD with heavy-ball momentum, PyTorch's convention (dampening 0, not Nesterov).

    ``buf = momentum * buf + g; p -= lr * buf``. PyTorch starts ``buf`` as a copy of the
    first gradient, which is exactly what ``0.9 * 0 + g`` gives, so a zero buffer is used.
    """

    name = "momentum"
    buffer_names = ("momentum_buffer",)

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.9) -> None:
        super().__init__(params, lr)
        self.momentum = float(momentum)

    def _update(self, p: np.ndarray, g: np.ndarray, tmp: np.ndarray, *bufs: np.ndarray) -> None:
        (buf,) = bufs
        buf *= self.momentum
        buf += g
        np.multiply(buf, self.lr, out=tmp)
        p -= tmp


class RMSprop(Optimizer):
    """RMSprop with PyTorch's defaults (alpha 0.99, eps 1e-8, eps added after the sqrt).

    ``sq = alpha * sq + (1 - alpha) * g**2; p -= lr * g / (sqrt(sq) + eps)``.
    """

    name = "rmsprop"
    buffer_names = ("square_avg",)

    def __init__(
        self, params: dict[str, np.ndarray], lr: float, alpha: float = 0.99, eps: float = 1e-8
    ) -> None:
        super().__init__(params, lr)
        self.alpha, self.eps = float(alpha), float(eps)

    def _update(self, p: np.ndarray, g: np.ndarray, tmp: np.ndarray, *bufs: np.ndarray) -> None:
        (sq,) = bufs
        sq *= self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.alpha
        sq += tmp
        np.sqrt(sq, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp


class Adam(Optimizer):
    """Adam with bias correction: PyTorch's update (betas 0.9/0.999, eps 1e-8).

    PyTorch computes ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2`` and
    ``p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)`` with ``bc = 1 - beta**t``.
    Here the buffers are kept *pre-divided* by ``(1 - b1)`` and ``(1 - b2)``
    (``m' = b1 m' + g``, ``v' = b2 v' + g**2``) and every per-step constant is folded into
    two scalars, which is the same update in 10 array passes instead of 13 (the optimizer
    is memory-bound, so passes are time). Results agree with ``torch.optim.Adam`` to float
    rounding; use ``exp_avg()``/``exp_avg_sq()`` for PyTorch's buffer values.
    """

    name = "adam"
    buffer_names = ("exp_avg_scaled", "exp_avg_sq_scaled")

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self._k1 = self._k2 = 0.0

    def _prepare(self) -> None:
        # Per-step constants in Python floats (as torch does), so float32 stays float32:
        # update = m' / (sqrt(v') * k1 + k2), with
        #   k1 = sqrt(1 - b2) / (sqrt(bc2) * step_size * (1 - b1)),
        #   k2 = eps / (step_size * (1 - b1)),   step_size = lr / bc1.
        c1, c2 = 1.0 - self.beta1, 1.0 - self.beta2
        step_size = self.lr / (1.0 - self.beta1**self.t)
        bc2_sqrt = math.sqrt(1.0 - self.beta2**self.t)
        scale = step_size * c1
        self._k1 = math.sqrt(c2) / (bc2_sqrt * scale) if scale else 0.0
        self._k2 = self.eps / scale if scale else 0.0

    def _update(self, p: np.ndarray, g: np.ndarray, tmp: np.ndarray, *bufs: np.ndarray) -> None:
        m, v = bufs  # m' = m / (1 - b1), v' = v / (1 - b2)
        m *= self.beta1
        m += g
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        v += tmp
        if self._k1 == 0.0:  # lr == 0: buffers move, parameters do not
            return
        np.sqrt(v, out=tmp)
        tmp *= self._k1
        tmp += self._k2
        np.divide(m, tmp, out=tmp)
        p -= tmp

    def exp_avg(self) -> dict[str, np.ndarray]:
        """PyTorch's ``exp_avg`` (first moment) for each parameter."""
        return {k: a * (1.0 - self.beta1) for k, a in self.buffers["exp_avg_scaled"].items()}

    def exp_avg_sq(self) -> dict[str, np.ndarray]:
        """PyTorch's ``exp_avg_sq`` (second moment) for each parameter."""
        return {k: a * (1.0 - self.beta2) for k, a in self.buffers["exp_avg_sq_scaled"].items()}


def make_optimizer(name: str, params: dict[str, np.ndarray], lr: float) -> Optimizer:
    """Build the optimizer named in the recipe (``sgd|momentum|rmsprop|adam``)."""
    classes: dict[str, type[Optimizer]] = {
        "sgd": SGD,
        "momentum": Momentum,
        "rmsprop": RMSprop,
        "adam": Adam,
    }
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    return classes[name](params, lr)
