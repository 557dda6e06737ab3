"""The numpy engine: a float32 MLP with hand-written forward and backward passes.

Read it top to bottom: the layers (Dense, the three activations, the two losses) each keep
their forward and backward side by side, then ``NumpyMLP`` strings them together and adds
the training loop. It needs nothing but numpy, which is why it is the default engine.

Two things shape the code beyond readability:

- **Speed.** The SPEC asks for a training step no slower than PyTorch on CPU. The hot path
  (``step``) therefore writes into preallocated buffers (a per-batch-size workspace and
  per-parameter gradient arrays), applies activations in place and lets the activation's
  backward work from its *output* only, so no pre-activation copy is kept while training.
- **Exactness.** Everything stays in the engine's dtype (float32 by default; ``astype``
  gives a float64 copy for finite differences). Constants are Python floats, which NumPy 2
  (NEP 50) never lets upcast an array. The same config and seed give bit-identical curves.

Shapes in comments: ``n`` batch, ``d`` flattened input size, ``h`` a layer's units,
``k`` outputs.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from nncheck.engines.base import (
    EngineConfig,
    Gradients,
    LayerActivation,
    StepCallback,
    TrainCurve,
    initial_output_bias,
)
from nncheck.engines.optim import Optimizer, make_optimizer

# Batches larger than this are not kept in the workspace cache (a forward over a whole
# dataset should not pin hundreds of MB after it returns).
_CACHE_MAX_ROWS = 8192
_CACHE_MAX_ENTRIES = 4


# --------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------


class Dense:
    """A fully connected layer ``y = x @ W + b`` with ``W`` shaped (fan_in, fan_out).

    The layer holds references to the engine's parameter arrays, so optimizer updates made
    in place are seen here without any copying.
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.weight = weight  # (d, h)
        self.bias = bias  # (h,)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # x (n, d) @ W (d, h) -> (n, h)
        out = np.matmul(x, self.weight, out=out)
        out += self.bias
        return out

    def backward(
        self,
        x: np.ndarray,
        dout: np.ndarray,
        dweight: np.ndarray,
        dbias: np.ndarray,
        dx: np.ndarray | None = None,
        want_dx: bool = True,
    ) -> np.ndarray | None:
        # dW (d, h) = x.T (d, n) @ dout (n, h);  db (h,) = sum over the batch
        np.matmul(x.T, dout, out=dweight)
        np.sum(dout, axis=0, out=dbias)
        if not want_dx:
            return None
        # dx (n, d) = dout (n, h) @ W.T (h, d)
        return np.matmul(dout, self.weight.T, out=dx)


class ReLU:
    """max(x, 0). The backward only needs the output: the gradient passes where out > 0."""

    kind = "relu"

    @staticmethod
    def forward(pre: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.maximum(pre, 0, out=out)

    @staticmethod
    def backward(post: np.ndarray, dout: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        # dout (n, h) *= 1[post > 0], in place
        np.greater(post, 0, out=scratch)
        return np.multiply(dout, scratch, out=dout)


class Tanh:
    """tanh(x); its derivative is 1 - tanh(x)**2, computed from the output."""

    kind = "tanh"

    @staticmethod
    def forward(pre: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.tanh(pre, out=out)

    @staticmethod
    def backward(post: np.ndarray, dout: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        # dout (n, h) *= 1 - post**2, in place
        np.multiply(post, post, out=scratch)
        np.subtract(1, scratch, out=scratch)
        return np.multiply(dout, scratch, out=dout)


class Sigmoid:
    """1 / (1 + exp(-x)); its derivative is s * (1 - s), computed from the output."""

    kind = "sigmoid"

    @staticmethod
    def forward(pre: np.ndarray, out: np.ndarray) -> np.ndarray:
        # exp(-x) overflows to inf for very negative x, giving exactly 0: the right limit.
        np.negative(pre, out=out)
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)

    @staticmethod
    def backward(post: np.ndarray, dout: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        # dout (n, h) *= post * (1 - post), in place
        np.subtract(1, post, out=scratch)
        scratch *= post
        return np.multiply(dout, scratch, out=dout)


ACTIVATIONS: dict[str, type[ReLU] | type[Tanh] | type[Sigmoid]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
}


def _sample_scale(n: int, weights: np.ndarray | None, dtype: np.dtype) -> float | np.ndarray:
    """How much each sample's loss counts: 1/n for the mean, else ``weights[:, None]``."""
    if weights is None:
        return 1.0 / n
    return np.asarray(weights, dtype=dtype).reshape(n, 1)


class SoftmaxCrossEntropy:
    """Softmax cross-entropy against integer labels, via a stable log-sum-exp.

    ``forward`` turns the logits buffer into softmax probabilities *in place* (the training
    step has no further use for the logits) and returns per-sample losses; ``backward``
    turns those probabilities into ``d loss / d logits = (softmax - onehot) * scale``, again
    in place, so the whole loss allocates only a few (n,) vectors.
    """

    def __init__(self) -> None:
        self._probs: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        n = logits.shape[0]
        rows = np.arange(n)
        # loss_i = logsumexp(z_i) - z_i[y_i], with z shifted by its row max for stability
        logits -= logits.max(axis=1, keepdims=True)  # (n, k), max 0 per row
        picked = logits[rows, labels]  # (n,) copy of z_i[y_i]
        np.exp(logits, out=logits)  # (n, k) unnormalised probabilities
        total = logits.sum(axis=1, keepdims=True)  # (n, 1)
        losses = np.log(total[:, 0])
        losses -= picked  # (n,)
        logits /= total  # (n, k) softmax probabilities
        self._probs, self._labels = logits, labels
        return losses

    def backward(self, scale: float | np.ndarray) -> np.ndarray:
        probs, labels = self._probs, self._labels
        assert probs is not None and labels is not None, "forward must run first"
        probs[np.arange(probs.shape[0]), labels] -= 1  # softmax - onehot
        probs *= scale  # (n, k) * (1/n or (n, 1) weights)
        return probs


class MeanSquaredError:
    """MSE with the per-sample loss averaged over outputs (Keras' convention).

    Classification targets are integer labels compared against one-hot vectors, which is
    done by subtracting 1 at the label position rather than building the one-hot matrix.
    Regression targets ``(n,)`` are compared against the single output column.
    """

    def __init__(self, classification: bool) -> None:
        self.classification = classification
        self._diff: np.ndarray | None = None

    def forward(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        n, k = out.shape
        if self.classification:
            out[np.arange(n), y] -= 1  # out - onehot(y), in place
        else:
            out -= y.reshape(n, 1).astype(out.dtype, copy=False)  # (n, 1)
        self._diff = out  # (n, k)
        return np.square(out).mean(axis=1)  # (n,)

    def backward(self, scale: float | np.ndarray) -> np.ndarray:
        diff = self._diff
        assert diff is not None, "forward must run first"
        # d/d out of mean_j diff_j**2 is 2 * diff / k, times the sample's scale
        diff *= 2.0 / diff.shape[1]
        diff *= scale
        return diff


class SigmoidBinaryCrossEntropy:
    """Sigmoid + binary cross-entropy per output against 0/1 targets, summed over the
    outputs (multilabel: each label is its own yes/no question, so a sample's loss is the
    sum of its labels' losses and the loss at init is the sum of their entropies).

    ``loss = softplus(z) - y z``, computed as ``max(z, 0) - y z + log1p(exp(-|z|))``, which
    never overflows; ``d loss / d z = sigmoid(z) - y``. In place, like the other losses.
    """

    def __init__(self) -> None:
        self._diff: np.ndarray | None = None

    def forward(self, logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        y = y.astype(logits.dtype, copy=False)
        losses = np.maximum(logits, 0).sum(axis=1)
        losses -= (logits * y).sum(axis=1)
        losses += np.log1p(np.exp(-np.abs(logits))).sum(axis=1)
        # sigmoid(z), stably: 1 / (1 + exp(-z)) written into the logits buffer
        np.negative(logits, out=logits)
        np.exp(logits, out=logits)
        logits += 1.0
        np.reciprocal(logits, out=logits)
        logits -= y  # now d loss / d z
        self._diff = logits
        return losses

    def backward(self, scale: float | np.ndarray) -> np.ndarray:
        diff = self._diff
        assert diff is not None, "forward must run first"
        diff *= scale
        return diff


# --------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------


class _Workspace:
    """Buffers for one batch size: each layer's output, and (allocated on the first
    backward pass, so a forward over a large dataset does not pay for them) the gradient
    w.r.t. each hidden output plus a scratch array for the activation's backward."""

    def __init__(self, n: int, widths: list[int], dtype: np.dtype) -> None:
        self.n, self.widths, self.dtype = n, widths, dtype
        self.h = [np.empty((n, w), dtype) for w in widths]  # layer outputs (post-activation)
        self._d: list[np.ndarray] | None = None
        self._s: list[np.ndarray] | None = None

    def backward_buffers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if self._d is None or self._s is None:
            hidden = self.widths[:-1]
            self._d = [np.empty((self.n, w), self.dtype) for w in hidden]  # d loss / d hidden
            self._s = [np.empty((self.n, w), self.dtype) for w in hidden]  # scratch
        return self._d, self._s


class NumpyMLP:
    """A seeded float32 MLP engine answering the ``Engine`` protocol.

    ``NumpyMLP(config, seed)`` builds the network at once. The parameters are named
    ``layer{i}.weight`` (fan_in, fan_out) and ``layer{i}.bias``; the output layer has the
    last index. The optimizer and its state live in the engine and are saved by ``state``.
    """

    def __init__(self, config: EngineConfig, seed: int = 0, *, dtype: Any = np.float32) -> None:
        self.config = config
        self.dtype = np.dtype(dtype)
        if config.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {config.activation!r}")
        if config.loss not in ("cross_entropy", "mse", "bce"):
            raise ValueError(f"unknown loss {config.loss!r}")
        if config.task == "regression" and config.loss != "mse":
            raise ValueError("regression needs loss 'mse'")
        if (config.task == "multilabel") != (config.loss == "bce"):
            raise ValueError("multilabel targets go with loss 'bce', and only they")
        self.act = ACTIVATIONS[config.activation]
        self.n_inputs = int(np.prod(config.input_shape, dtype=np.int64))
        self.widths = [*map(int, config.hidden), int(config.n_outputs)]
        self.classification = config.task == "classification"
        self.loss_fn: SoftmaxCrossEntropy | MeanSquaredError | SigmoidBinaryCrossEntropy
        if config.loss == "cross_entropy":
            self.loss_fn = SoftmaxCrossEntropy()
        elif config.loss == "bce":
            self.loss_fn = SigmoidBinaryCrossEntropy()
        else:
            self.loss_fn = MeanSquaredError(self.classification)
        self.seed = seed
        self.reset(seed)

    # ---- building -------------------------------------------------------------------

    def _init_std(self, fan_in: int, fan_out: int) -> float:
        init = self.config.init
        if init == "xavier":
            return float(np.sqrt(2.0 / (fan_in + fan_out)))
        if init == "he":
            return float(np.sqrt(2.0 / fan_in))
        if init == "normal":
            return float(self.config.init_std)
        raise ValueError(f"unknown init {init!r}")

    def _output_bias(self) -> np.ndarray:
        return initial_output_bias(self.config, self.widths[-1]).astype(self.dtype)

    def reset(self, seed: int) -> None:
        """(Re)build parameters and optimizer state from ``seed``; drop the workspaces."""
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        self.layers: list[Dense] = []
        fan_in = self.n_inputs
        for i, fan_out in enumerate(self.widths):
            std = self._init_std(fan_in, fan_out)
            # Drawn in float64 and then cast, so float32 and float64 engines share values.
            w = (rng.standard_normal((fan_in, fan_out)) * std).astype(self.dtype)
            last = i == len(self.widths) - 1
            b = self._output_bias() if last else np.zeros(fan_out, self.dtype)
            self.params[f"layer{i}.weight"] = w
            self.params[f"layer{i}.bias"] = b
            self.layers.append(Dense(w, b))
            fan_in = fan_out
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.optimizer: Optimizer = make_optimizer(
            self.config.optimizer, self.params, self.config.lr
        )
        self.n_steps = 0
        self._workspaces: dict[int, _Workspace] = {}

    # ---- internals ------------------------------------------------------------------

    def _as_input(self, x: np.ndarray) -> np.ndarray:
        """(n, *input_shape) -> contiguous (n, d) in the engine's dtype (a view if possible)."""
        x = np.asarray(x)
        return np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=self.dtype)

    def _workspace(self, n: int) -> _Workspace:
        ws = self._workspaces.get(n)
        if ws is None:
            ws = _Workspace(n, self.widths, self.dtype)
            if n <= _CACHE_MAX_ROWS:
                if len(self._workspaces) >= _CACHE_MAX_ENTRIES:
                    self._workspaces.pop(next(iter(self._workspaces)))
                self._workspaces[n] = ws
        return ws

    def _forward(self, x2: np.ndarray, ws: _Workspace) -> np.ndarray:
        """Forward pass into the workspace; activations applied in place. -> (n, k)."""
        h = x2
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            h = layer.forward(h, out=ws.h[i])  # (n, h_i)
            if i < last:
                self.act.forward(h, out=h)
        return h

    def _loss_and_grads(
        self,
        x2: np.ndarray,
        y: np.ndarray,
        ws: _Workspace,
        *,
        weights: np.ndarray | None = None,
        want_dx: bool = False,
        want_correct: bool = False,
    ) -> tuple[float, np.ndarray | None, int]:
        """Forward, loss and backward; fills ``self.grads``. Returns (loss, dx, correct)."""
        n = x2.shape[0]
        out = self._forward(x2, ws)  # (n, k)
        correct = 0
        if want_correct and self.classification:
            correct = int(np.count_nonzero(out.argmax(axis=1) == y))
        losses = self.loss_fn.forward(out, y)  # (n,); out is now owned by the loss
        loss = self._reduce(losses, weights)
        d = self.loss_fn.backward(_sample_scale(n, weights, self.dtype))  # (n, k)
        d_bufs, scratch = ws.backward_buffers()
        dx = None
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            inp = ws.h[i - 1] if i > 0 else x2
            gw, gb = self.grads[f"layer{i}.weight"], self.grads[f"layer{i}.bias"]
            if i > 0:
                d_in = layer.backward(inp, d, gw, gb, dx=d_bufs[i - 1])  # (n, h_{i-1})
                d = self.act.backward(ws.h[i - 1], d_in, scratch[i - 1])
            else:
                dx = layer.backward(inp, d, gw, gb, want_dx=want_dx)  # (n, d) or None
        return loss, dx, correct

    def _reduce(self, losses: np.ndarray, weights: np.ndarray | None) -> float:
        if weights is None:
            return float(losses.mean())
        return float(np.dot(np.asarray(weights, dtype=self.dtype), losses))

    def _check_targets(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if self.classification:
            return y.astype(np.intp, copy=False)
        return y.astype(self.dtype, copy=False)

    # ---- the Engine protocol --------------------------------------------------------

    def forward(
        self, x: np.ndarray, *, activations: bool = False
    ) -> np.ndarray | tuple[np.ndarray, list[LayerActivation]]:
        """Raw outputs ``(n, k)`` (fresh arrays); with ``activations`` also every layer's
        pre- and post-activation values, for init-scale statistics."""
        x2 = self._as_input(x)
        with np.errstate(all="ignore"):
            if not activations:
                return self._forward(x2, self._workspace(x2.shape[0])).copy()
            acts: list[LayerActivation] = []
            h = x2
            last = len(self.layers) - 1
            for i, layer in enumerate(self.layers):
                pre = layer.forward(h)  # (n, h_i), fresh
                if i < last:
                    h = self.act.forward(pre, out=np.empty_like(pre))
                    kind = self.act.kind
                else:
                    h, kind = pre, "linear"
                acts.append(LayerActivation(name=f"layer{i} ({kind})", kind=kind, pre=pre, post=h))
            return h, acts

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean loss of the batch under the configured loss."""
        x2 = self._as_input(x)
        with np.errstate(all="ignore"):
            out = self._forward(x2, self._workspace(x2.shape[0]))
            return self._reduce(self.loss_fn.forward(out, self._check_targets(y)), None)

    def gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        inputs: bool = False,
        weights: np.ndarray | None = None,
    ) -> Gradients:
        """Gradients of the (weighted) loss w.r.t. every parameter, and the inputs if asked.

        Returns copies, since the engine reuses its gradient buffers on the next call.
        """
        x = np.asarray(x)
        x2 = self._as_input(x)
        with np.errstate(all="ignore"):
            loss, dx, _ = self._loss_and_grads(
                x2,
                self._check_targets(y),
                self._workspace(x2.shape[0]),
                weights=weights,
                want_dx=inputs,
            )
        grads = {k: g.copy() for k, g in self.grads.items()}
        dxs = dx.reshape(x.shape) if dx is not None else None
        return Gradients(loss=loss, params=grads, inputs=dxs)

    def _step(self, x2: np.ndarray, y: np.ndarray, want_correct: bool) -> tuple[float, int]:
        """One update on an already-prepared batch; skipped when the loss is not finite."""
        loss, _, correct = self._loss_and_grads(
            x2, y, self._workspace(x2.shape[0]), want_correct=want_correct
        )
        if np.isfinite(loss):
            self.optimizer.step(self.grads)
            self.n_steps += 1
        return loss, correct

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One optimizer update on this batch; returns the loss before the update."""
        with np.errstate(all="ignore"):
            return self._step(self._as_input(x), self._check_targets(y), False)[0]

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
        """Seeded minibatch training from the current state.

        Each epoch is a fresh permutation from ``default_rng(seed)`` cut into consecutive
        batches of ``min(batch_size, n)``; an incomplete tail batch is dropped so every
        recorded loss is over the same number of samples. Step indices in the curve are
        0-based within this call. Stops early (``diverged=True``) at the first NaN/inf loss,
        which is recorded, without applying that update.
        """
        x2 = self._as_input(x)
        yy = self._check_targets(y)
        n = x2.shape[0]
        if n == 0 or len(yy) != n:
            raise ValueError(f"train needs matching, non-empty x and y (got {n} and {len(yy)})")
        bs = max(1, min(int(batch_size), n))
        per_epoch = n // bs
        rng = np.random.default_rng(seed)
        curve = TrainCurve(steps=[], loss=[], accuracy=[], seed=seed)
        xb = np.empty((bs, x2.shape[1]), self.dtype)
        yb = np.empty((bs, *yy.shape[1:]), yy.dtype)  # (bs,) labels or (bs, L) multilabel
        order = np.empty(0, np.intp)
        pos = per_epoch
        with np.errstate(all="ignore"):
            for step in range(int(steps)):
                if pos == per_epoch:
                    order, pos = rng.permutation(n), 0
                idx = order[pos * bs : (pos + 1) * bs]
                pos += 1
                np.take(x2, idx, axis=0, out=xb)
                np.take(yy, idx, axis=0, out=yb)
                loss, correct = self._step(xb, yb, self.classification)
                curve.steps.append(step)
                curve.loss.append(loss)
                if self.classification:
                    curve.accuracy.append(correct / bs)
                if callback is not None:
                    callback(step, loss)
                if not np.isfinite(loss):
                    curve.diverged = True
                    break
        return curve

    def parameters(self) -> dict[str, np.ndarray]:
        """Name -> the live parameter arrays (not copies; do not mutate)."""
        return self.params

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Overwrite parameters by name, in place (layers and optimizer keep their refs)."""
        for k, v in params.items():
            if k not in self.params:
                raise KeyError(f"no parameter named {k!r}")
            if np.shape(v) != self.params[k].shape:
                raise ValueError(f"{k}: shape {np.shape(v)} != {self.params[k].shape}")
            np.copyto(self.params[k], v, casting="unsafe")

    def state(self) -> dict[str, Any]:
        """A deep copy of parameters, optimizer state and step count, for ``restore``."""
        return {
            "params": {k: p.copy() for k, p in self.params.items()},
            "optimizer": self.optimizer.state(),
            "n_steps": self.n_steps,
            "seed": self.seed,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Return exactly to a state taken with ``state()``."""
        self.set_parameters(state["params"])
        self.optimizer.load_state(state["optimizer"])
        self.n_steps = int(state["n_steps"])
        self.seed = state.get("seed", self.seed)

    def astype(self, dtype: Any) -> NumpyMLP:
        """An independent copy computing entirely in ``dtype`` (float64 for finite
        differences); parameters and optimizer state are cast, nothing is shared."""
        other = type(self)(self.config, self.seed, dtype=dtype)  # subclasses stay themselves
        other.restore(copy.deepcopy(self.state()))
        return other
