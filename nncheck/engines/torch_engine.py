"""The torch engine: the user's own ``torch.nn.Module`` behind the ``Engine`` protocol.

``model.engine: torch`` with ``factory: "mypkg.models:build"`` makes nncheck audit a real
model. The factory is imported from the recipe's folder or the Python path and called as
``build(input_shape, n_outputs, **kwargs)``; it returns a module mapping a float32 batch
``(N, *input_shape)`` to logits (or predictions for regression). Every check runs on it
through the same small interface as the numpy engine, so no check knows which engine it
has. The file reads top to bottom: finding the factory (and explaining why it cannot be
found), seeding, then ``TorchEngine``.

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
- **Randomness.** Construction runs the factory under ``torch.manual_seed(seed)`` (and seeded
  ``numpy.random``/``random`` for factories that use them); batch order comes from a
  ``torch.Generator`` seeded by ``train``'s seed; torch's global generator is re-seeded
  before every training step from (seed, step), so dropout and any ``torch.rand*`` in the
  forward pass are reproducible. The global generator state is restored after each call,
  so nncheck leaves no trace in the process. Randomness drawn elsewhere (an unseeded
  ``numpy.random.default_rng()``, the clock) is the user's bug, and the determinism check
  sees it. Deterministic algorithms are requested with ``warn_only=True``; warnings a
  model raises while it is probed (non-deterministic ops among them) are kept in
  ``engine.warnings``.
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
import difflib
import importlib
import os
import random
import sys
import sysconfig
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

# cuBLAS needs this before the first CUDA call to run deterministically (harmless on CPU).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

from nncheck.engines.base import (  # noqa: E402
    EngineConfig,
    Gradients,
    LayerActivation,
    StepCallback,
    TrainCurve,
)
from nncheck.errors import UsageError  # noqa: E402

_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
_ACTIVATION_KINDS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid"}
_MASK64 = (1 << 64) - 1
# Salts that keep the seeds of different uses of the engine's seed apart.
_SALT_STEP, _SALT_TRAIN, _SALT_EVAL, _SALT_PROBE = 1, 2, 3, 4
_PROBE_BATCH = 2  # BatchNorm needs more than one sample per channel in train mode
# A training step below this many multiply-adds (Linear and Conv layers, forward, one batch)
# runs on one CPU thread: intra-op threads cannot speed up such small tensors, and on a busy
# machine every op waits for a descheduled thread (wine's MLP: 30x slower on 2 threads).
_SMALL_STEP_MACS = 10_000_000


# --------------------------------------------------------------------------------------
# Finding the factory
# --------------------------------------------------------------------------------------


def resolve_factory(spec: str | None, recipe_dir: str | os.PathLike[str] | None = None):
    """The callable named by ``"module:function"``, imported from the recipe's folder first,
    then from the Python path. Every failure is a ``UsageError`` that names the cause."""
    if not spec or ":" not in spec:
        raise UsageError(
            f'model.factory: expected "module:function" (e.g. "models:build"), got {spec!r}'
        )
    modname, _, attr = spec.partition(":")
    modname, attr = modname.strip(), attr.strip()
    if not modname or not attr:
        raise UsageError(f'model.factory: expected "module:function", got {spec!r}')
    module = _import_user_module(modname, recipe_dir, spec)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n))]
            close = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            where = getattr(module, "__file__", None) or modname
            raise UsageError(
                f"model.factory {spec!r}: module '{modname}' ({where}) has no '{part}'{hint}; "
                f"it defines: {', '.join(names[:12]) or 'no public callables'}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(
            f"model.factory {spec!r}: '{attr}' is a {type(obj).__name__}, not a function "
            "build(input_shape, n_outputs, **kwargs) returning a torch.nn.Module"
        )
    return obj


@contextmanager
def _on_path(folder: str | None) -> Iterator[None]:
    """``folder`` first on ``sys.path`` for the duration (imports made lazily by the user's
    module during ``build`` find their siblings too)."""
    if not folder:
        yield
        return
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)


def _local_file(modname: str, folder: Path) -> Path | None:
    rel = Path(*modname.split("."))
    for cand in (folder / rel.with_suffix(".py"), folder / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _forget_stale(modname: str, folder: Path) -> None:
    """Drop a cached module of the same name imported from another folder (two recipes
    with their own ``models.py`` in one process), so the recipe's own file is imported."""
    top = modname.split(".")[0]
    cached = sys.modules.get(top)
    if cached is None:
        return
    file = getattr(cached, "__file__", None)
    if file and Path(file).resolve().is_relative_to(folder.resolve()):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]


def _import_user_module(modname: str, recipe_dir: Any, spec: str) -> ModuleType:
    folder = Path(recipe_dir) if recipe_dir else None
    local = _local_file(modname, folder) if folder is not None else None
    if local is not None and folder is not None:
        _forget_stale(modname, folder)
    looked = f"{folder} and the Python path" if folder is not None else "the Python path"
    try:
        with _on_path(str(folder) if local is not None and folder is not None else None):
            return importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (modname == missing or modname.startswith(missing + ".")):
            raise UsageError(
                f"model.factory {spec!r}: cannot find module '{modname}' (looked in {looked}); "
                "put it beside the recipe or install it"
            ) from None
        raise UsageError(
            f"model.factory {spec!r}: importing '{modname}' failed: {_describe_exc(exc)}"
            + _user_traceback(exc.__traceback__, folder)
        ) from None
    except SyntaxError as exc:
        where = f'  File "{exc.filename}", line {exc.lineno}\n    {(exc.text or "").rstrip()}'
        raise UsageError(
            f"model.factory {spec!r}: '{modname}' has a syntax error: {exc.msg}\n{where}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - whatever the user's module raises at import
        raise UsageError(
            f"model.factory {spec!r}: importing '{modname}' failed: {_describe_exc(exc)}"
            + _user_traceback(exc.__traceback__, folder)
        ) from None


def _describe_exc(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are not the user's: nncheck, torch, the standard library and
    installed packages."""
    dirs = {str(Path(__file__).resolve().parents[1]), str(Path(torch.__file__).resolve().parent)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(str(Path(path).resolve()))
    return tuple(sorted(dirs))


def _user_traceback(tb: TracebackType | None, folder: Path | None) -> str:
    """The frames of a traceback that lie in the user's code, formatted like Python's;
    empty when the fault is not in the user's code (then no traceback is shown)."""
    if tb is None:
        return ""
    libs = _library_dirs()
    inside = str(folder.resolve()) if folder is not None else None
    frames = []
    for fr in traceback.extract_tb(tb):
        name = fr.filename
        if name.startswith("<"):
            continue
        resolved = str(Path(name).resolve())
        if inside and resolved.startswith(inside):
            frames.append(fr)
        elif not resolved.startswith(libs):
            frames.append(fr)
    if not frames:
        return ""
    lines = "".join(traceback.format_list(frames)).rstrip()
    return "\nin your code (most recent call last):\n" + lines


# --------------------------------------------------------------------------------------
# Seeds and generators
# --------------------------------------------------------------------------------------


def _mix(*parts: int) -> int:
    """A 63-bit seed from several integers (splitmix64-style), so (seed, step) pairs give
    unrelated streams."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = ((h ^ (int(p) & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        h ^= h >> 31
    return h & 0x7FFF_FFFF_FFFF_FFFF


class _GlobalRNG:
    """Seeds torch's global generators for a call and puts their state back afterwards.

    Dropout and ``torch.rand*`` without a generator draw from the global generators, so
    seeding them is what makes those reproducible; restoring them keeps nncheck from
    changing the random stream of anything else in the process. (``torch.manual_seed``
    costs ~0.1 ms as it visits every backend; the generators themselves take microseconds.)
    """

    def __init__(self, device: torch.device) -> None:
        self.cuda_index = (
            (device.index if device.index is not None else torch.cuda.current_device())
            if device.type == "cuda"
            else None
        )

    @contextmanager
    def scope(self) -> Iterator[None]:
        cpu = torch.default_generator.get_state()
        cuda = torch.cuda.get_rng_state(self.cuda_index) if self.cuda_index is not None else None
        try:
            yield
        finally:
            torch.default_generator.set_state(cpu)
            if cuda is not None:
                torch.cuda.set_rng_state(cuda, self.cuda_index)

    def seed(self, seed: int) -> None:
        torch.default_generator.manual_seed(seed)
        if self.cuda_index is not None:
            torch.cuda.default_generators[self.cuda_index].manual_seed(seed)


@contextmanager
def _all_seeded(seed: int) -> Iterator[None]:
    """Every global generator a factory might use, seeded; all restored afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32))
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
            if cuda_states is not None:
                torch.cuda.set_rng_state_all(cuda_states)


def _pick_device(requested: Any) -> torch.device:
    name = str(requested or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(
                "model.device: cuda, but torch sees no CUDA GPU (torch.cuda.is_available() "
                "is False); use device: auto or cpu"
            )
        return torch.device("cuda")
    if name == "cpu":
        return torch.device("cpu")
    raise UsageError(f"model.device: expected auto, cpu or cuda, got {name!r}")


def model_input_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample shape the model receives: 2-D samples (images) get a channel axis."""
    shape = tuple(int(s) for s in input_shape)
    return (1, *shape) if len(shape) == 2 else shape


# --------------------------------------------------------------------------------------
# Activation recording
# --------------------------------------------------------------------------------------


def _is_activation(m: torch.nn.Module) -> bool:
    return type(m).__module__ == "torch.nn.modules.activation" and not list(m.children())


@dataclass
class _Record:
    name: str
    kind: str
    post: torch.Tensor  # a detached copy, taken when the module returned
    obj: torch.Tensor  # the module's output object itself, to recognise what consumes it
    pre: torch.Tensor | None = None
    merged: bool = False


@dataclass
class _Recorder:
    """Forward hooks that record, in execution order, every module with parameters of its
    own and every activation module; an activation that directly consumes a parametrised
    module's output is merged into that module's entry (pre = its output, post = the
    activation's), which is the numpy engine's notion of a layer."""

    modules: list[tuple[str, torch.nn.Module]]
    records: list[_Record] = field(default_factory=list)
    _pending: dict[int, torch.Tensor] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def attached(self) -> Iterator[None]:
        handles = []
        for name, m in self.modules:
            if _is_activation(m):
                handles.append(m.register_forward_pre_hook(self._pre_hook))
            handles.append(m.register_forward_hook(self._make_hook(name)))
        try:
            yield
        finally:
            for h in handles:
                h.remove()
            self._pending.clear()

    def _pre_hook(self, module: torch.nn.Module, inputs: tuple[Any, ...]) -> None:
        if inputs and isinstance(inputs[0], torch.Tensor):
            self._pending[id(module)] = inputs[0].detach().clone()  # before an in-place op

    def _make_hook(self, name: str) -> Callable[..., None]:
        def hook(module: torch.nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                return
            cls = type(module).__name__
            label = name or "model"
            count = self._seen.get(label, 0) + 1
            self._seen[label] = count
            if count > 1:
                label = f"{label}#{count}"
            post = output.detach().clone()
            if _is_activation(module):
                kind = _ACTIVATION_KINDS.get(cls, cls)
                pre = self._pending.pop(id(module), None)
                prev = self.records[-1] if self.records else None
                source = inputs[0] if inputs else None
                if prev is not None and not prev.merged and source is prev.obj:
                    prev.name = f"{prev.name[:-1]}+{cls})"  # "fc1 (Linear+ReLU)"
                    prev.kind, prev.pre, prev.post, prev.obj = kind, prev.post, post, output
                    prev.merged = True
                    return
                self.records.append(_Record(f"{label} ({cls})", kind, post, output, pre, True))
                return
            self.records.append(_Record(f"{label} ({cls})", cls, post, output))

        return hook


# --------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------


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
        if config.loss not in ("cross_entropy", "mse"):
            raise ValueError(f"unknown loss {config.loss!r}")
        if config.task == "regression" and config.loss != "mse":
            raise ValueError("regression needs loss 'mse'")
        if config.optimizer not in ("sgd", "momentum", "rmsprop", "adam"):
            raise ValueError(f"unknown optimizer {config.optimizer!r}")
        extra = config.extra or {}
        # Class (or next-token) indices as targets: softmax outputs, a log-prior bias.
        self.classification = config.task in ("classification", "language_model")
        self.n_outputs = int(config.n_outputs)
        self.input_shape = tuple(int(s) for s in config.input_shape)
        self.model_input_shape = model_input_shape(self.input_shape)
        self.device = _pick_device(extra.get("device", "auto"))
        self.factory_spec = extra.get("factory")
        self.recipe_dir = extra.get("recipe_dir")
        self.kwargs = dict(extra.get("kwargs") or {})
        self._rng = _GlobalRNG(self.device)
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
        _request_determinism()
        if _model is not None:  # astype: a copy of an existing model, state loaded by caller
            self.seed = seed
            self._adopt(_model.to(device=self.device, dtype=self.tdtype))
            return
        self._build = resolve_factory(self.factory_spec, self.recipe_dir)
        self.reset(seed)

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
            with _on_path(folder), _all_seeded(seed):
                model = self._build(shape, k, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - the user's factory may raise anything
            raise UsageError(
                f"model.factory: {call} raised {_describe_exc(exc)}"
                + _user_traceback(exc.__traceback__, Path(folder) if folder else None)
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
            if _is_activation(m) or any(True for _ in m.parameters(recurse=False))
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
        notes.append(where)
        self.notes = notes

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """The recipe's optimizer with the numpy engine's hyperparameters (PyTorch's
        defaults: momentum 0.9; RMSprop alpha 0.99, eps 1e-8; Adam betas 0.9/0.999, eps
        1e-8), over every parameter (frozen ones receive no gradient and stay put)."""
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
        gen = torch.Generator().manual_seed(_mix(self.seed, _SALT_PROBE))
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
                self._rng.seed(_mix(self.seed, _SALT_PROBE))
                with torch.no_grad():
                    out = self._run_user_forward(x, training=False)
                self._check_output(out, _PROBE_BATCH)
                eval_order = list(order)
                self.macs_per_sample = macs[0]
                out = self._run_user_forward(x, training=True)
                self._check_output(out, _PROBE_BATCH)
                if out.requires_grad:
                    out.float().sum().backward()
        finally:
            for h in handles:
                h.remove()
            self.model.load_state_dict(saved)
            self.model.zero_grad(set_to_none=True)
            self._set_training(False)
        self._keep_warnings(caught)
        self._choose_threads()
        return eval_order

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
                f"{_describe_exc(exc)}" + _user_traceback(exc.__traceback__, folder)
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
            what = f"{k} classes" if self.classification else "a single regression target"
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

    def _output_bias_values(self) -> np.ndarray:
        """The numpy engine's output bias for this config (float64)."""
        cfg, k = self.config, self.n_outputs
        prior = np.asarray(cfg.prior, dtype=np.float64)
        if cfg.output_bias == "zero" or prior.size == 0:
            return np.zeros(k)
        if cfg.output_bias != "prior":
            raise ValueError(f"unknown output_bias {cfg.output_bias!r}")
        if not self.classification:
            return np.full(k, prior[0])
        if prior.size != k:
            raise ValueError(f"prior has {prior.size} class frequencies but {k} outputs")
        if cfg.loss == "cross_entropy":
            return np.log(np.clip(prior, 1e-6, None))
        return prior

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
        values = torch.as_tensor(self._output_bias_values(), dtype=layer.bias.dtype)
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
        return t.to(self.device, non_blocking=True) if self.device.type != "cpu" else t

    def _as_target(self, y: np.ndarray) -> torch.Tensor:
        a = y if isinstance(y, np.ndarray) else np.asarray(y)
        dtype = np.int64 if self.classification else self.dtype
        if a.dtype != dtype or not a.flags.c_contiguous or not a.flags.writeable:
            a = np.array(a, dtype=dtype, order="C")
        t = torch.from_numpy(a)
        return t.to(self.device) if self.device.type != "cpu" else t

    def _per_sample_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(n,) losses: softmax cross-entropy, or MSE averaged over outputs (one-hot targets
        for classification), exactly the numpy engine's definitions."""
        if self.config.loss == "cross_entropy":
            return F.cross_entropy(out, y, reduction="none")
        if self.classification:
            target = F.one_hot(y, self.n_outputs).to(out.dtype)
        else:
            target = y.to(out.dtype).reshape(-1, 1)
        return (out - target).square().mean(dim=1)

    def _mean_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batch mean of ``_per_sample_loss`` (one fused op for cross-entropy)."""
        if self.config.loss == "cross_entropy":
            return F.cross_entropy(out, y)
        return self._per_sample_loss(out, y).mean()

    def _reduce(self, losses: torch.Tensor, weights: np.ndarray | None) -> torch.Tensor:
        if weights is None:
            return losses.mean()
        w = torch.as_tensor(np.asarray(weights), dtype=losses.dtype, device=losses.device)
        return torch.dot(w.reshape(-1), losses)

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
            self._rng.seed(_mix(self.seed, _SALT_EVAL, self._eval_calls))
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
        self._train_block_seed = _mix(self.seed, _SALT_EVAL, -1)
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
                return self._numpy(self._model_out(xt))
            rec = _Recorder(self._hook_modules)
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
            # The same reduction as ``gradients`` (bit-identical losses for the same batch).
            return float(self._reduce(self._per_sample_loss(self._model_out(xt), yt), None))

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
            loss = self._reduce(self._per_sample_loss(self._model_out(xt), yt), weights)
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
        self.optimizer.zero_grad(set_to_none=True)
        if not self._first_step_done:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out, value = self._forward_backward(xt, yt)
            self._keep_warnings(caught)
            self._first_step_done = True
        else:
            out, value = self._forward_backward(xt, yt)
        correct = self._n_correct(out, yt) if want_correct else 0.0
        if np.isfinite(value):
            self.optimizer.step()
            self.n_steps += 1
        return value, correct

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
            return self._step(xt, yt, _mix(self.seed, _SALT_STEP, self.n_steps), False)[0]

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
                loss, correct = self._step(
                    xb, yb, _mix(seed, _SALT_TRAIN, step), self.classification
                )
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
            "n_steps": self.n_steps,
            "seed": self.seed,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Return exactly to a state taken with ``state()`` (the state stays reusable)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
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
        other._write_notes()
        other._first_step_done = self._first_step_done
        return other


def _request_determinism() -> None:
    """Deterministic algorithms where torch has them; ops without one warn (kept in
    ``engine.warnings`` by the probe) instead of raising."""
    if not torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
