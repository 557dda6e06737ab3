"""``TorchEngine``: the user's own ``torch.nn.Module`` behind the ``Engine`` protocol.

``model.engine: torch`` with ``factory: "mypkg.models:build"`` makes nncheck audit a real
model. The factory is imported from the recipe's folder or the Python path
(``user_code.py``) and called as ``build(input_shape, n_outputs, **kwargs)``; it returns a
module mapping a float32 batch ``(N, *input_shape)`` to logits (or predictions for
regression). Every check runs on it through the same small interface as the numpy engine,
so no check knows which engine it has.

What the engine decides, and why:

- **Shapes.** Images keep their shape in the dataset; a per-sample shape of two dimensions
  (MNIST's 28 x 28) gets a channel dimension, so the model receives ``N x 1 x 28 x 28`` and
  the factory is told ``input_shape=(1, 28, 28)``. Outputs must be ``(N, n_outputs)``; a
  model of the wrong width is a usage error (exit 2) naming both numbers.
- **Modes.** ``forward``, ``loss`` and ``gradients`` run the model in *eval* mode (BatchNorm
  uses its running statistics, dropout is off): they are the function the trained model
  computes, they change nothing (no BatchNorm statistics move, no parameter), and loss and
  gradients of one call agree with each other, which the gradient check needs. ``step`` and
  ``train`` run it in *train* mode. ``with engine.train_mode():`` evaluates forward, loss
  and gradients in train mode instead (BatchNorm batch statistics; its running statistics
  are restored afterwards; dropout masks fixed for the whole block so loss and gradients
  still agree). ``mixes_batch_in_train`` says when train mode mixes the samples of a batch
  (BatchNorm), so a report can say that batch independence was judged in eval mode.
- **Randomness** (``seeding.py``). Construction runs the factory under
  ``torch.manual_seed(seed)`` (and seeded ``numpy.random``/``random`` for factories that use
  them); batch order comes from a ``torch.Generator`` seeded by ``train``'s seed; torch's
  global generator is re-seeded before every training step from (seed, step), so dropout
  and any ``torch.rand*`` in the forward pass are reproducible. The global generator state
  is restored after each call, so nncheck leaves no trace in the process. Randomness drawn
  elsewhere (an unseeded ``numpy.random.default_rng()``, the clock) is the user's bug, and
  the determinism check sees it. Deterministic algorithms are requested with
  ``warn_only=True``; warnings a model raises while it is probed (non-deterministic ops
  among them) are kept in ``engine.warnings``.
- **Output bias.** The last ``nn.Linear`` that runs with ``out_features == n_outputs`` gets
  the configured output bias (class log-priors / frequencies / target mean, or zeros), like
  the numpy engine; when there is none, ``output_bias_problem`` says why.
- **Frozen parameters.** ``parameters()`` lists every parameter; ``gradients()`` those that
  require a gradient (a frozen parameter has no gradient to check). A parameter that
  requires a gradient but is cut from the loss (a ``.detach()``) gets zeros.

Errors that make the model unusable (factory not found, the user's module failing to
import, the factory raising, a forward pass that fails or has the wrong output shape) are
``UsageError`` (exit 2) with the cause, and the user's own traceback lines where the fault
is in their code.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from nncheck.engines.base import (
    EngineConfig,
    Gradients,
    LayerActivation,
    StepCallback,
    TrainCurve,
    initial_output_bias,
)
from nncheck.engines.torch_engine import pieces
from nncheck.engines.torch_engine.recording import Recorder, is_activation
from nncheck.engines.torch_engine.seeding import (
    SALT_EVAL,
    SALT_PROBE,
    SALT_STEP,
    SALT_TRAIN,
    GlobalRNG,
    all_seeded,
    mix,
    pick_device,
    request_determinism,
)
from nncheck.engines.torch_engine.user_code import (
    call_user,
    describe_exc,
    on_path,
    resolve_factory,
    user_traceback,
)
from nncheck.errors import UsageError

_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
_PROBE_BATCH = 2  # BatchNorm needs more than one sample per channel in train mode
# A training step below this many multiply-adds (Linear and Conv layers, forward, one batch)
# runs on one CPU thread: intra-op threads cannot speed up such small tensors, and on a busy
# machine every op waits for a descheduled thread (wine's MLP: 30x slower on 2 threads).
_SMALL_STEP_MACS = 10_000_000
# Input values per forward pass when evaluating on CPU without gradients: larger batches are
# split into chunks of this many values (rounded down to a power of two of rows, 16-4096).
# A conv layer's activations for a whole batch outgrow the CPU caches: the bundled CNN's
# main training with its evaluations (2 x 1,024 monitor images at 11 points, then the
# 10,000 test images) took 2.16 s in chunks of 64 against 3.77 s in whole batches.
_EVAL_CHUNK_VALUES = 2**16


def model_input_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample shape the model receives: 2-D samples (images) get a channel axis."""
    shape = tuple(int(s) for s in input_shape)
    return (1, *shape) if len(shape) == 2 else shape


class TorchEngine:
    """The user's ``nn.Module`` answering the ``Engine`` protocol (see the module docs).

    Attributes checks may read (all optional for other engines, so read them with
    ``getattr(engine, name, default)``):

    - ``warnings``: warnings the model raised while probed and on its first training step,
      non-deterministic ops first ("non-deterministic op: ...").
    - ``notes``: plain sentences about how the model is run (modes, BatchNorm, dropout,
      frozen parameters, device), for a report.
    - ``output_bias_problem``: why no output bias was initialized, or None.
    - ``output_layer``: the module path of the final ``nn.Linear`` that got the bias.
    - ``mixes_batch_in_train`` / ``batch_mixing_modules``: BatchNorm layers, which mix the
      samples of a batch in train mode.
    - ``stochastic_modules``: dropout layers (active in train mode only, seeded per step).
    - ``frozen``: parameters with ``requires_grad=False``.
    - ``mode``: "eval" or "train", what ``forward``/``loss``/``gradients`` use now.
    """

    def __init__(
        self,
        config: EngineConfig,
        seed: int = 0,
        *,
        dtype: Any = np.float32,
        _model: torch.nn.Module | None = None,
    ) -> None:
        self.config = config
        self.dtype = np.dtype(dtype)
        if self.dtype not in _TORCH_DTYPES:
            raise ValueError(f"unsupported dtype {self.dtype}; use float32 or float64")
        self.tdtype = _TORCH_DTYPES[self.dtype]
        if config.loss not in ("cross_entropy", "mse", "bce"):
            raise ValueError(f"unknown loss {config.loss!r}")
        if config.task == "regression" and config.loss != "mse":
            raise ValueError("regression needs loss 'mse'")
        if (config.task == "multilabel") != (config.loss == "bce"):
            raise ValueError("multilabel targets go with loss 'bce', and only they")
        self.multilabel = config.task == "multilabel"
        extra = config.extra or {}
        # The user's own pieces (nncheck.objects.UserObjects) and their batch format.
        self.objects = extra.get("objects")
        self.batch_format = extra.get("batch")
        obj = self.objects
        if (obj is None or obj.optimizer is None) and config.optimizer not in (
            "sgd",
            "momentum",
            "rmsprop",
            "adam",
        ):
            raise ValueError(f"unknown optimizer {config.optimizer!r}")
        # Class (or next-token) indices as targets: softmax outputs, a log-prior bias.
        self.classification = config.task in (
            "classification",
            "language_model",
            "sequence_classification",
        )
        self.n_outputs = int(config.n_outputs)
        self.input_shape = tuple(int(s) for s in config.input_shape)
        self.model_input_shape = model_input_shape(self.input_shape)
        self.device = pick_device(extra.get("device", "auto"))
        self.factory_spec = extra.get("factory")
        self.recipe_dir = extra.get("recipe_dir")
        self.kwargs = dict(extra.get("kwargs") or {})
        self._rng = GlobalRNG(self.device)
        self.user_loss = (
            pieces.loss_for_dtype(obj.loss, self.tdtype, self.device)
            if obj is not None and obj.loss is not None
            else None
        )
        self.user_step = obj.step if obj is not None else None
        self.scheduler: Any = None
        self._mode = "eval"
        self._train_block_seed: int | None = None
        self._eval_calls = 0
        self._first_step_done = False
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.output_bias_problem: str | None = None
        self.output_layer: str | None = None
        self.macs_per_sample = 0
        self.threads: int | None = None  # CPU intra-op threads for this engine (None: torch's)
        self.channels_last = False  # 2-D convolutions on CPU in channels-last memory order
        request_determinism()
        if _model is not None:  # astype: a copy of an existing model, state loaded by caller
            self.seed = seed
            self._adopt(_model.to(device=self.device, dtype=self.tdtype))
            return
        self._build = self._model_factory()
        self.reset(seed)

    def _model_factory(self) -> Any:
        """The user's factory: a Python callable, a module to copy, or "module:function"."""
        model = self.objects.model if self.objects is not None else None
        if isinstance(model, torch.nn.Module):
            # A module instance: every engine starts from a copy of its weights as given.
            return lambda input_shape, n_outputs, **kw: copy.deepcopy(model)
        if model is not None:
            return model
        return resolve_factory(self.factory_spec, self.recipe_dir)

    # ---- building -------------------------------------------------------------------

    def reset(self, seed: int) -> None:
        """(Re)build the model with the factory under ``seed``, initialize the output bias
        and a fresh optimizer."""
        self.seed = seed
        self.warnings, self.notes = [], []
        self._eval_calls, self._first_step_done = 0, False
        model = self._call_factory(seed)
        model = model.to(device=self.device, dtype=self.tdtype)
        self._adopt(model)
        linears = self._probe()
        self._init_output_bias(linears)

    def _call_factory(self, seed: int) -> torch.nn.Module:
        spec, shape, k = self.factory_spec, self.model_input_shape, self.n_outputs
        call = (
            f"{spec}(input_shape={shape}, n_outputs={k}"
            + "".join(f", {key}={value!r}" for key, value in self.kwargs.items())
            + ")"
        )
        folder = str(self.recipe_dir) if self.recipe_dir else None
        try:
            with on_path(folder), all_seeded(seed):
                model = self._build(shape, k, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - the user's factory may raise anything
            raise UsageError(
                f"model.factory: {call} raised {describe_exc(exc)}"
                + user_traceback(exc.__traceback__, Path(folder) if folder else None)
            ) from None
        if not isinstance(model, torch.nn.Module):
            raise UsageError(
                f"model.factory: {call} returned a {type(model).__name__}; expected a "
                "torch.nn.Module"
            )
        return model

    def _adopt(self, model: torch.nn.Module) -> None:
        """Take ``model`` as this engine's model: optimizer, hooks list, facts for notes."""
        from torch.nn.modules.batchnorm import _BatchNorm
        from torch.nn.modules.dropout import _DropoutNd

        self.model = model
        self.model.eval()
        self._training = False
        self.named_params = dict(model.named_parameters())
        self.frozen = [n for n, p in self.named_params.items() if not p.requires_grad]
        self.trainable = {n: p for n, p in self.named_params.items() if p.requires_grad}
        self.optimizer = self._make_optimizer()
        self.n_steps = 0
        modules = list(model.named_modules())
        self.batch_mixing_modules = [n or "model" for n, m in modules if isinstance(m, _BatchNorm)]
        self.mixes_batch_in_train = bool(self.batch_mixing_modules)
        self.stochastic_modules = [
            n or "model" for n, m in modules if isinstance(m, (_DropoutNd, torch.nn.AlphaDropout))
        ]
        self._hook_modules = [
            (n, m)
            for n, m in modules
            if is_activation(m) or any(True for _ in m.parameters(recurse=False))
        ]
        self._write_notes()

    def _write_notes(self) -> None:
        notes = []
        if self.mixes_batch_in_train or self.stochastic_modules:
            notes.append(
                "forward, loss and gradients run the model in eval mode (BatchNorm running "
                "statistics, no dropout); training steps run it in train mode"
            )
        if self.mixes_batch_in_train:
            notes.append(
                "BatchNorm mixes the samples of a batch in training mode ("
                + ", ".join(self.batch_mixing_modules[:5])
                + "): sample independence is judged in eval mode"
            )
        if self.stochastic_modules:
            notes.append(
                "dropout (" + ", ".join(self.stochastic_modules[:5]) + ") is seeded per "
                "training step from the run's seed"
            )
        if self.frozen:
            notes.append(
                f"{len(self.frozen)} of {len(self.named_params)} parameter tensors are frozen "
                f"(requires_grad=False): {', '.join(self.frozen[:5])}"
                + ("..." if len(self.frozen) > 5 else "")
            )
        threads = getattr(self, "threads", None)
        where = f"runs on {self.device.type}"
        if threads == 1:
            where += " with 1 thread (a small model: threads would cost more than they save)"
        if getattr(self, "channels_last", False):
            where += ", convolutions in channels-last memory order (faster on CPU)"
        notes.append(where)
        self.notes = notes

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """The user's optimizer (and scheduler) when given; else the recipe's builtin with
        the numpy engine's hyperparameters (PyTorch's defaults: momentum 0.9; RMSprop alpha
        0.99, eps 1e-8; Adam betas 0.9/0.999, eps 1e-8), over every parameter (frozen ones
        receive no gradient and stay put)."""
        obj, folder = self.objects, self.recipe_dir
        self.scheduler = None
        if obj is not None and obj.optimizer is not None:
            name = obj.names.get("train.optimizer", "optimizer")
            opt = pieces.make_optimizer(obj.optimizer, self.model, name, folder)
        else:
            opt = self._builtin_optimizer()
        if obj is not None and obj.scheduler is not None:
            name = obj.names.get("train.scheduler", "scheduler")
            self.scheduler = pieces.make_scheduler(obj.scheduler, opt, name, folder)
        return opt

    def _builtin_optimizer(self) -> torch.optim.Optimizer:
        params = list(self.model.parameters())
        lr, name = float(self.config.lr), self.config.optimizer
        if not params:
            params = [torch.nn.Parameter(torch.zeros(0, device=self.device))]
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr)
        if name == "momentum":
            return torch.optim.SGD(params, lr=lr, momentum=0.9)
        if name == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-8)
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)

    def _probe(self) -> list[tuple[str, torch.nn.Linear]]:
        """Run the new model once on a small seeded batch, in eval mode and (with a backward
        pass) in train mode: validates the output shape, records warnings (non-deterministic
        ops), the execution order of ``nn.Linear`` layers and the multiply-adds per sample
        (which decide ``threads``). Leaves no trace in the model.
        """
        gen = torch.Generator().manual_seed(mix(self.seed, SALT_PROBE))
        x = self._probe_input(gen).to(self.device)
        order: list[tuple[str, torch.nn.Linear]] = []
        names = {id(m): n for n, m in self.model.named_modules()}
        macs = [0]

        def note(module: torch.nn.Module, inputs: Any, output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                return
            per_sample = output.numel() // _PROBE_BATCH
            if isinstance(module, torch.nn.Linear):
                order.append((names.get(id(module), "?"), module))
                macs[0] += per_sample * module.in_features
            else:  # a convolution: each output element sums over its receptive field
                c_in, groups = module.in_channels, module.groups  # type: ignore[union-attr]
                kernel = int(np.prod(module.kernel_size))  # type: ignore[union-attr]
                macs[0] += per_sample * (c_in // groups) * kernel

        conv = torch.nn.modules.conv._ConvNd
        handles = [
            m.register_forward_hook(note)
            for m in self.model.modules()
            if isinstance(m, (torch.nn.Linear, conv))
        ]
        saved = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        try:
            with warnings.catch_warnings(record=True) as caught, self._rng.scope():
                warnings.simplefilter("always")
                self._rng.seed(mix(self.seed, SALT_PROBE))
                with torch.no_grad():
                    out = self._run_user_forward(x, training=False)
                self._check_output(out, _PROBE_BATCH)
                eval_order = list(order)
                self.macs_per_sample = macs[0]
                out = self._run_user_forward(x, training=True)
                self._check_output(out, _PROBE_BATCH)
                if self.user_loss is not None:  # the user's loss must give a scalar
                    out = self._mean_loss(out, self._probe_targets(gen))
                if out.requires_grad:
                    out.float().sum().backward()
        finally:
            for h in handles:
                h.remove()
            self.model.load_state_dict(saved)
            self.model.zero_grad(set_to_none=True)
            self._set_training(False)
        self._keep_warnings(caught)
        self._choose_memory_format()
        self._choose_threads()
        return eval_order

    def _choose_memory_format(self) -> None:
        """Channels-last memory order for a CPU model with 2-D convolutions, when its
        outputs on the probe batch agree with the standard order's.

        On CPU, torch's convolution and max-pooling kernels are far faster on N x H x W x C
        memory: a training step of the bundled MNIST CNN takes 8.1 ms instead of 14.2, an
        evaluation of 1,024 images 93 ms instead of 169. The model and every input are
        simply laid out that way (same shapes, same operations). A model that cannot run
        so (a ``.view`` of a convolution's output raises) or whose outputs differ beyond
        float32 rounding keeps the standard order; the choice depends on the model alone,
        so it is the same in every run.
        """
        self.channels_last = False
        if self.device.type != "cpu" or len(self.model_input_shape) != 3:
            return
        if not any(isinstance(m, torch.nn.Conv2d) for m in self.model.modules()):
            return
        gen = torch.Generator().manual_seed(mix(self.seed, SALT_PROBE))
        x = self._probe_input(gen)
        channels_last = torch.channels_last
        try:
            with torch.no_grad(), self._rng.scope(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._set_training(False)
                self._rng.seed(mix(self.seed, SALT_PROBE))
                ref = self._model_out(x)
                self.model.to(memory_format=channels_last)
                self._rng.seed(mix(self.seed, SALT_PROBE))
                out = self._model_out(x.contiguous(memory_format=channels_last))
            scale = float(ref.abs().max()) + 1e-6
            agree = bool(torch.allclose(out, ref, rtol=1e-4, atol=1e-5 * scale))
        except Exception:  # noqa: BLE001 - any failure means: keep the standard order
            agree = False
        if agree:
            self.channels_last = True
        else:
            self.model.to(memory_format=torch.contiguous_format)

    def _choose_threads(self) -> None:
        """One intra-op thread for small models on CPU (see ``_SMALL_STEP_MACS``); else
        torch's own setting. Decided from the model and config alone, so it is the same in
        every run (a thread count can change float summation order)."""
        step_macs = self.macs_per_sample * max(1, int(self.config.batch_size))
        small = self.device.type == "cpu" and step_macs < _SMALL_STEP_MACS
        self.threads = 1 if small else None
        self._write_notes()

    @contextmanager
    def _thread_limit(self) -> Iterator[None]:
        """``threads`` for the duration of one engine call, torch's setting put back after."""
        previous = torch.get_num_threads()
        if self.threads is None or self.threads == previous:
            yield
            return
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def _run_user_forward(self, x: torch.Tensor, *, training: bool) -> Any:
        """The model's forward in the given mode; a failure is a UsageError with the user's
        frames (this runs at construction only, so a broken model stops the run early)."""
        self._set_training(training)
        try:
            return self.model(x)
        except Exception as exc:  # noqa: BLE001 - the user's forward may raise anything
            folder = Path(self.recipe_dir) if self.recipe_dir else None
            mode = "train" if training else "eval"
            raise UsageError(
                f"the model's forward pass failed on a batch of shape {tuple(x.shape)} "
                f"({str(self.tdtype).replace('torch.', '')}, {mode} mode): "
                f"{describe_exc(exc)}" + user_traceback(exc.__traceback__, folder)
            ) from None

    def _check_output(self, out: Any, n: int) -> None:
        """Outputs must be a float tensor (n, n_outputs); M8 names both sizes."""
        k = self.n_outputs
        if not isinstance(out, torch.Tensor):
            raise UsageError(
                f"the model's forward returned a {type(out).__name__}; expected a tensor of "
                f"shape (N, {k}) (logits or predictions)"
            )
        shape = tuple(out.shape)
        if len(shape) == 2 and shape[0] == n and shape[1] != k:
            what = (
                f"{k} classes"
                if self.classification
                else f"{k} labels"
                if self.multilabel
                else "a single regression target"
            )
            raise UsageError(
                f"model outputs {shape[1]} values per sample, the data has {what}: the "
                f"output layer of {self.factory_spec} must have n_outputs={k} units (the "
                "factory receives n_outputs)"
            )
        if shape != (n, k):
            raise UsageError(
                f"the model's forward returned shape {shape} for a batch of {n} samples of "
                f"shape {self.model_input_shape}; expected ({n}, {k}), i.e. (N, n_outputs)"
            )
        if not out.is_floating_point():
            raise UsageError(f"the model's forward returned {out.dtype} outputs; expected floats")

    def _keep_warnings(self, caught: list[warnings.WarningMessage]) -> None:
        seen = set(self.warnings)
        nondet, other = [], []
        for w in caught:
            text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
            if "deterministic" in text:
                entry = f"non-deterministic op: {text}"
                nondet.append(entry)
            else:
                entry = f"{w.category.__name__}: {text}"
                other.append(entry)
        for entry in [*nondet, *other]:
            if entry not in seen:
                seen.add(entry)
                self.warnings.append(entry)
        self.warnings.sort(key=lambda s: not s.startswith("non-deterministic"))

    def _init_output_bias(self, linears: list[tuple[str, torch.nn.Linear]]) -> None:
        k = self.n_outputs
        found = [(n, m) for n, m in linears if m.out_features == k]
        if not found:
            self.output_bias_problem = (
                f"no final nn.Linear with {k} outputs found (the output bias is left as the "
                "model initializes it)"
            )
            return
        name, layer = found[-1]
        if layer.bias is None:
            self.output_bias_problem = f"the final nn.Linear ({name}) has no bias (bias=False)"
            return
        self.output_layer = name
        values = torch.as_tensor(
            initial_output_bias(self.config, self.n_outputs), dtype=layer.bias.dtype
        )
        with torch.no_grad():
            layer.bias.copy_(values.to(layer.bias.device))

    # ---- internals ------------------------------------------------------------------

    @property
    def input_dtype(self) -> np.dtype:
        """The dtype the model receives (the engine's float dtype; token ids for sequences)."""
        return self.dtype

    def _probe_input(self, gen: torch.Generator) -> torch.Tensor:
        """A seeded batch of the model's input shape, for ``_probe``."""
        shape = (_PROBE_BATCH, *self.model_input_shape)
        return torch.randn(shape, generator=gen, dtype=self.tdtype)

    def _n_correct(self, out: torch.Tensor, yt: torch.Tensor) -> float:
        """Correct predictions in a batch, counted per sample (accuracy = this / batch)."""
        return float((out.detach().argmax(dim=1) == yt).sum())

    def _set_training(self, flag: bool) -> None:
        if self._training != flag:
            self.model.train(flag)
            self._training = flag

    def _as_input(self, x: np.ndarray) -> torch.Tensor:
        """Dataset batch (n, *input_shape) -> tensor (n, *model_input_shape) on the device.
        Shares memory with ``x`` on CPU when it is already contiguous in the engine dtype."""
        a = x if isinstance(x, np.ndarray) else np.asarray(x)
        if a.shape[1:] != self.input_shape:
            raise ValueError(f"inputs have shape {a.shape}; expected (n, *{self.input_shape})")
        if a.dtype != self.input_dtype or not a.flags.c_contiguous or not a.flags.writeable:
            a = np.array(a, dtype=self.input_dtype, order="C")  # torch wants writeable memory
        t = torch.from_numpy(a).view(a.shape[0], *self.model_input_shape)
        if self.channels_last:
            return t.contiguous(memory_format=torch.channels_last)
        return t.to(self.device, non_blocking=True) if self.device.type != "cpu" else t

    def _as_target(self, y: np.ndarray) -> torch.Tensor:
        a = y if isinstance(y, np.ndarray) else np.asarray(y)
        dtype = np.int64 if self.classification else self.dtype
        if a.dtype != dtype or not a.flags.c_contiguous or not a.flags.writeable:
            a = np.array(a, dtype=dtype, order="C")
        t = torch.from_numpy(a)
        return t.to(self.device) if self.device.type != "cpu" else t

    def _probe_targets(self, gen: torch.Generator) -> torch.Tensor:
        if self.classification:
            y = torch.randint(0, self.n_outputs, (_PROBE_BATCH,), generator=gen)
        elif self.multilabel:
            y = torch.randint(0, 2, (_PROBE_BATCH, self.n_outputs), generator=gen)
            y = y.to(self.tdtype)
        else:
            y = torch.randn(_PROBE_BATCH, generator=gen, dtype=self.tdtype)
        return y.to(self.device)

    @property
    def loss_name(self) -> str:
        """The loss as the report names it: the user's, or the builtin's."""
        if self.user_loss is None:
            return str(self.config.loss)
        return self.objects.names.get("train.loss", type(self.user_loss).__name__)

    def _user_loss_value(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The user's loss of a batch, given targets as their pipeline yields them."""
        what = f"train.loss {self.loss_name}(outputs, targets)"
        target = pieces.user_targets(self.batch_format, y)
        value = call_user(self.user_loss, out, target, what=what, folder=self.recipe_dir)
        return pieces.as_loss(value, what)

    def _per_sample_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(n,) losses: the user's loss per sample, or softmax cross-entropy, or MSE
        averaged over outputs (one-hot targets for classification), exactly the numpy
        engine's definitions."""
        if self.user_loss is not None:
            what = f"train.loss {self.loss_name}(outputs, targets)"
            target = pieces.user_targets(self.batch_format, y)
            return call_user(
                pieces.per_sample,
                self.user_loss,
                out,
                target,
                what,
                what=what,
                folder=self.recipe_dir,
            )
        if self.config.loss == "cross_entropy":
            return F.cross_entropy(out, y, reduction="none")
        if self.config.loss == "bce":  # summed over the labels, like the numpy engine
            return F.binary_cross_entropy_with_logits(out, y.to(out.dtype), reduction="none").sum(1)
        if self.classification:
            target = F.one_hot(y, self.n_outputs).to(out.dtype)
        else:
            target = y.to(out.dtype).reshape(-1, 1)
        return (out - target).square().mean(dim=1)

    def _mean_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batch loss: the user's loss as they reduce it, else the batch mean of
        ``_per_sample_loss`` (one fused op for cross-entropy)."""
        if self.user_loss is not None:
            return self._user_loss_value(out, y)
        if self.config.loss == "cross_entropy":
            return F.cross_entropy(out, y)
        return self._per_sample_loss(out, y).mean()

    def _reduce(self, losses: torch.Tensor, weights: np.ndarray | None) -> torch.Tensor:
        if weights is None:
            return losses.mean()
        w = torch.as_tensor(np.asarray(weights), dtype=losses.dtype, device=losses.device)
        return torch.dot(w.reshape(-1), losses)

    def _eval_out(self, xt: torch.Tensor) -> torch.Tensor:
        """``_model_out`` for ``forward`` and ``loss``: on CPU in eval mode a large batch is
        forwarded in chunks of ``eval_rows`` (see ``_EVAL_CHUNK_VALUES``). In train mode a
        batch is one batch (BatchNorm's statistics are over all of it), and on a GPU large
        batches are what it is quick at."""
        n, rows = int(xt.shape[0]), self.eval_rows
        if n <= rows or self._mode == "train" or self.device.type != "cpu":
            return self._model_out(xt)
        return torch.cat([self._model_out(xt[i : i + rows]) for i in range(0, n, rows)])

    @property
    def eval_rows(self) -> int:
        """Rows per chunk of an evaluation on CPU, from the size of one input alone."""
        values = max(1, int(np.prod(self.model_input_shape)))
        rows = 1 << max(0, (_EVAL_CHUNK_VALUES // values).bit_length() - 1)
        return int(min(4096, max(16, rows)))

    def _model_out(self, xt: torch.Tensor) -> torch.Tensor:
        out = self.model(xt)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (xt.shape[0], self.n_outputs):
            self._check_output(out, xt.shape[0])
        return out

    @contextmanager
    def _evaluating(self) -> Iterator[None]:
        """The mode forward/loss/gradients use, with seeded global generators: eval mode
        (each call its own seed, so a model random at inference shows it), or inside
        ``train_mode()`` train mode with one seed for the block and BatchNorm's running
        statistics put back afterwards."""
        with self._rng.scope():
            if self._mode == "train":
                assert self._train_block_seed is not None
                self._rng.seed(self._train_block_seed)
                self._set_training(True)
                buffers = [b.detach().clone() for b in self.model.buffers()]
                try:
                    yield
                finally:
                    with torch.no_grad():
                        for b, saved in zip(self.model.buffers(), buffers):
                            b.copy_(saved)
                return
            self._eval_calls += 1
            self._rng.seed(mix(self.seed, SALT_EVAL, self._eval_calls))
            self._set_training(False)
            yield

    def _numpy(self, t: torch.Tensor) -> np.ndarray:
        return t.detach().to("cpu", copy=True).numpy().astype(self.dtype, copy=False)

    # ---- modes ----------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """The mode forward, loss and gradients use: "eval" (default) or "train"."""
        return self._mode

    @contextmanager
    def train_mode(self) -> Iterator[TorchEngine]:
        """Evaluate forward/loss/gradients in train mode inside the block (BatchNorm batch
        statistics, dropout active with one fixed seed for the whole block, running
        statistics restored after each call). Training steps are unaffected."""
        previous, prev_seed = self._mode, self._train_block_seed
        self._mode = "train"
        self._train_block_seed = mix(self.seed, SALT_EVAL, -1)
        try:
            yield self
        finally:
            self._mode, self._train_block_seed = previous, prev_seed

    @contextmanager
    def eval_mode(self) -> Iterator[TorchEngine]:
        """Evaluate forward/loss/gradients in eval mode inside the block (the default)."""
        previous = self._mode
        self._mode = "eval"
        try:
            yield self
        finally:
            self._mode = previous

    # ---- the Engine protocol --------------------------------------------------------

    def forward(
        self, x: np.ndarray, *, activations: bool = False
    ) -> np.ndarray | tuple[np.ndarray, list[LayerActivation]]:
        """Raw outputs ``(n, n_outputs)``; with ``activations`` also one entry per module
        with parameters or activation module, in execution order (see ``_Recorder``), and
        a final "output" entry when the model transforms its last module's output."""
        xt = self._as_input(x)
        with torch.no_grad(), self._thread_limit(), self._evaluating():
            if not activations:
                return self._numpy(self._eval_out(xt))
            rec = Recorder(self._hook_modules)
            with rec.attached():
                out = self._model_out(xt)
        n = xt.shape[0]
        acts = [
            LayerActivation(
                name=r.name,
                kind=r.kind,
                pre=None if r.pre is None else self._numpy(r.pre.reshape(r.pre.shape[0], -1)),
                post=self._numpy(r.post.reshape(r.post.shape[0], -1)),
            )
            for r in rec.records
        ]
        last = rec.records[-1].post if rec.records else None
        if last is None or tuple(last.shape) != tuple(out.shape) or not torch.equal(last, out):
            acts.append(LayerActivation("output", "linear", None, self._numpy(out.reshape(n, -1))))
        return self._numpy(out), acts

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean loss of the batch under the configured loss."""
        xt, yt = self._as_input(x), self._as_target(y)
        with torch.no_grad(), self._thread_limit(), self._evaluating():
            # The same reduction as ``gradients``: bit-identical losses for the same batch
            # up to ``eval_rows`` rows (a larger one is forwarded in chunks).
            return float(self._batch_loss(self._eval_out(xt), yt, None))

    def _batch_loss(
        self, out: torch.Tensor, yt: torch.Tensor, weights: np.ndarray | None
    ) -> torch.Tensor:
        """The loss ``loss`` and ``gradients`` use: weighted per-sample losses, or (no
        weights) the user's own loss as they reduce it (class weights, label smoothing)."""
        if weights is None and self.user_loss is not None:
            return self._user_loss_value(out, yt)
        return self._reduce(self._per_sample_loss(out, yt), weights)

    def gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        inputs: bool = False,
        weights: np.ndarray | None = None,
    ) -> Gradients:
        """Gradients of the (weighted) loss w.r.t. every trainable parameter (and the inputs
        when asked), through autograd, in the current mode (eval unless ``train_mode()``).
        Parameter ``.grad`` fields are left untouched."""
        x_shape = np.shape(x)
        xt, yt = self._as_input(x), self._as_target(y)
        if inputs:
            xt = xt.detach().clone().requires_grad_(True)
        names = list(self.trainable)
        with torch.enable_grad(), self._thread_limit(), self._evaluating():
            loss = self._batch_loss(self._model_out(xt), yt, weights)
            targets = [self.trainable[n] for n in names] + ([xt] if inputs else [])
            if loss.requires_grad and targets:
                grads = torch.autograd.grad(loss, targets, allow_unused=True)
            else:  # the loss is cut from every parameter (e.g. the output is detached)
                grads = tuple(None for _ in targets)
        params = {
            n: self._numpy(g) if g is not None else np.zeros(tuple(p.shape), self.dtype)
            for n, p, g in zip(names, (self.trainable[n] for n in names), grads)
        }
        dx = None
        if inputs:
            g = grads[-1]
            dx = self._numpy(g).reshape(x_shape) if g is not None else np.zeros(x_shape, self.dtype)
        return Gradients(loss=float(loss.detach()), params=params, inputs=dx)

    def _step(
        self, xt: torch.Tensor, yt: torch.Tensor, seed: int, want_correct: bool
    ) -> tuple[float, float]:
        """One update in train mode with the global generators at ``seed``; skipped when
        the loss is not finite. Returns (loss, correct predictions)."""
        self._set_training(True)
        self._rng.seed(seed)
        run = self._user_step if self.user_step is not None else self._own_step
        if not self._first_step_done:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out, value = run(xt, yt)
            self._keep_warnings(caught)
            self._first_step_done = True
        else:
            out, value = run(xt, yt)
        correct = 0.0
        if want_correct and out is not None and out.shape[:1] == yt.shape[:1] and out.ndim >= 2:
            correct = self._n_correct(out, yt)
        if np.isfinite(value):
            self.n_steps += 1
            if self.scheduler is not None:
                pieces.step_scheduler(self.scheduler, value)
        return value, correct

    def _own_step(self, xt: torch.Tensor, yt: torch.Tensor) -> tuple[torch.Tensor, float]:
        """nncheck's step: zero the gradients, forward, loss, backward, update (skipped
        when the loss is not finite)."""
        self.optimizer.zero_grad(set_to_none=True)
        out, value = self._forward_backward(xt, yt)
        if np.isfinite(value):
            self.optimizer.step()
        return out.detach(), value

    def _user_step(self, xt: torch.Tensor, yt: torch.Tensor) -> tuple[torch.Tensor | None, float]:
        """The user's ``step(model, batch, optimizer, loss)`` on a batch shaped like their
        loader's; nothing is zeroed or updated for it. The model's output is caught by a
        hook for the batch accuracy."""
        name = self.objects.names.get("train.step", "step")
        batch = pieces.make_batch(self.batch_format, xt, pieces.user_targets(self.batch_format, yt))
        loss = self._loss_callable()
        with pieces.last_output(self.model) as output:
            value = call_user(
                self.user_step,
                self.model,
                batch,
                self.optimizer,
                loss,
                what=f"train.step {name}(model, batch, optimizer, loss)",
                folder=self.recipe_dir,
            )
        return output(), pieces.step_value(value, name)

    def _loss_callable(self) -> Any:
        """The loss handed to the user's step: theirs, or the builtin one as a callable."""
        if self.user_loss is not None:
            return self.user_loss
        if self.config.loss == "cross_entropy":
            return F.cross_entropy
        if self.config.loss == "bce":
            return lambda out, y: self._per_sample_loss(out, y).mean()
        return lambda out, y: self._per_sample_loss(out, y.reshape(-1)).mean()

    def _forward_backward(self, xt: torch.Tensor, yt: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Forward, loss and (when the loss is finite) backward into ``.grad``."""
        out = self._model_out(xt)
        loss = self._mean_loss(out, yt)
        value = float(loss.detach())
        if loss.requires_grad and np.isfinite(value):
            loss.backward()
        return out, value

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One optimizer update on this batch; returns the loss before the update."""
        xt, yt = self._as_input(x), self._as_target(y)
        with self._thread_limit(), self._rng.scope():
            return self._step(xt, yt, mix(self.seed, SALT_STEP, self.n_steps), False)[0]

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
        """Seeded minibatch training from the current state, with the numpy engine's
        semantics: each epoch a fresh permutation (here ``torch.randperm`` from a generator
        seeded with ``seed``) cut into batches of ``min(batch_size, n)``, the incomplete
        tail dropped; step indices 0-based; stops at the first NaN/inf loss (recorded, not
        applied) with ``diverged=True``. Dropout and other draws from torch's global
        generator are seeded from (seed, step). Batches move to the device one at a time.
        """
        a = np.asarray(x)
        if a.shape[1:] != self.input_shape:
            raise ValueError(f"inputs have shape {a.shape}; expected (n, *{self.input_shape})")
        a = np.ascontiguousarray(a, dtype=self.input_dtype)
        if not a.flags.writeable:
            a = a.copy()
        x_all = torch.from_numpy(a).reshape(a.shape[0], *self.model_input_shape)
        yy = np.asarray(y)
        y_all = torch.from_numpy(
            np.ascontiguousarray(yy, dtype=np.int64 if self.classification else self.dtype)
        )
        n = x_all.shape[0]
        if n == 0 or len(y_all) != n:
            raise ValueError(f"train needs matching, non-empty x and y (got {n} and {len(y_all)})")
        bs = max(1, min(int(batch_size), n))
        per_epoch = n // bs
        gen = torch.Generator().manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
        curve = TrainCurve(steps=[], loss=[], accuracy=[], seed=seed)
        order = torch.empty(0, dtype=torch.int64)
        pos = per_epoch
        on_cpu = self.device.type == "cpu"
        with self._thread_limit(), self._rng.scope():
            for step in range(int(steps)):
                if pos == per_epoch:
                    order, pos = torch.randperm(n, generator=gen), 0
                idx = order[pos * bs : (pos + 1) * bs]
                pos += 1
                xb, yb = x_all.index_select(0, idx), y_all.index_select(0, idx)
                if not on_cpu:
                    xb = xb.to(self.device, non_blocking=True)
                    yb = yb.to(self.device, non_blocking=True)
                loss, correct = self._step(xb, yb, mix(seed, SALT_TRAIN, step), self.classification)
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
        """Name (``named_parameters()``) -> array; views of the live tensors on CPU
        (do not mutate), copies from a GPU."""
        return {n: p.detach().cpu().numpy() for n, p in self.named_params.items()}

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Overwrite parameters by name, in place (the optimizer keeps its references)."""
        with torch.no_grad():
            for k, v in params.items():
                if k not in self.named_params:
                    raise KeyError(f"no parameter named {k!r}")
                p = self.named_params[k]
                if tuple(np.shape(v)) != tuple(p.shape):
                    raise ValueError(f"{k}: shape {np.shape(v)} != {tuple(p.shape)}")
                p.copy_(torch.as_tensor(np.asarray(v), dtype=p.dtype).to(p.device))

    def state(self) -> dict[str, Any]:
        """A deep copy of the model's state (parameters and buffers such as BatchNorm
        statistics), the optimizer's state and the step count, for ``restore``."""
        return {
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "scheduler": (
                copy.deepcopy(self.scheduler.state_dict()) if self.scheduler is not None else None
            ),
            "n_steps": self.n_steps,
            "seed": self.seed,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Return exactly to a state taken with ``state()`` (the state stays reusable)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(copy.deepcopy(state["scheduler"]))
        self.n_steps = int(state["n_steps"])
        self.seed = state.get("seed", self.seed)

    def astype(self, dtype: Any) -> TorchEngine:
        """An independent copy computing in ``dtype`` (float64 for finite differences): the
        model deep-copied and cast, optimizer state cast, nothing shared."""
        other = type(self)(self.config, self.seed, dtype=dtype, _model=copy.deepcopy(self.model))
        other.restore(self.state())
        other.warnings = list(self.warnings)
        other.output_bias_problem, other.output_layer = self.output_bias_problem, self.output_layer
        other._build = getattr(self, "_build", None)
        other.macs_per_sample, other.threads = self.macs_per_sample, self.threads
        other.channels_last = self.channels_last  # the copied model keeps its memory order
        other._write_notes()
        other._first_step_done = self._first_step_done
        return other

    # ---- what only the user's pieces can tell (read by the checks on those pieces) -----

    def output_loss(self, outputs: np.ndarray, y: np.ndarray) -> float:
        """The configured loss (the user's, as they reduce it) of given raw outputs: e.g.
        of the best constant prediction, for the expected loss at init."""
        out = torch.as_tensor(np.asarray(outputs), dtype=self.tdtype).to(self.device)
        with torch.no_grad():
            return float(self._mean_loss(out, self._as_target(y)))

    def output_losses(self, outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample losses of given raw outputs, (n,) float64."""
        out = torch.as_tensor(np.asarray(outputs), dtype=self.tdtype).to(self.device)
        with torch.no_grad():
            values = self._per_sample_loss(out, self._as_target(y))
        return values.detach().cpu().double().numpy()

    def loss_floor(self, y: np.ndarray) -> float:
        """The lowest loss any outputs reach on these targets: 0 for the builtin losses,
        above 0 for a loss with label smoothing (a batch cannot be fit below it)."""
        if self.user_loss is None:
            return 0.0
        target = pieces.user_targets(self.batch_format, self._as_target(y))
        what = f"train.loss {self.loss_name}(outputs, targets)"
        return call_user(
            pieces.loss_floor,
            self.user_loss,
            self.n_outputs,
            target,
            self.tdtype,
            what=what,
            folder=self.recipe_dir,
        )

    def lr_schedule(self, steps: int) -> list[list[float]] | None:
        """The learning rate of each param group at each of ``steps`` training steps as
        the user's scheduler sets it (None without one); the engine's state is unchanged."""
        if self.scheduler is None:
            return None
        name = self.objects.names.get("train.scheduler", "scheduler")
        return call_user(
            pieces.lr_curve,
            self.optimizer,
            self.scheduler,
            int(steps),
            what=f"train.scheduler {name}: step()",
            folder=self.recipe_dir,
        )

    def optimizer_coverage(self) -> dict[str, Any]:
        """Which trainable parameters the optimizer never updates (see pieces)."""
        return pieces.optimizer_coverage(self.named_params, self.optimizer)

    def step_gradients(
        self, x: np.ndarray, y: np.ndarray, preset: float | None
    ) -> dict[str, np.ndarray]:
        """The ``.grad`` of every trainable parameter after one training step on this batch
        that started with ``.grad`` None (``preset`` None) or filled with ``preset``: equal
        results mean the step zeroes gradients, results ``preset`` apart mean it adds to
        what the last step left. The engine's state is put back afterwards."""
        saved = self.state()
        xt, yt = self._as_input(x), self._as_target(y)
        try:
            with self._thread_limit(), self._rng.scope():
                for p in self.trainable.values():
                    p.grad = None if preset is None else torch.full_like(p, float(preset))
                self._step(xt, yt, mix(self.seed, SALT_STEP, self.n_steps), False)
                return pieces.grads(self.trainable)
        finally:
            self.restore(saved)
            self.model.zero_grad(set_to_none=True)
