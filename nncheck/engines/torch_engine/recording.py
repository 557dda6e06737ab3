"""Forward hooks that record what each layer of the user's model produced.

``skeleton.init_scale`` judges activation and gradient statistics per layer; the numpy
engine knows its layers, a torch model does not say, so these hooks reconstruct "layers"
from the modules that run: every module with parameters of its own and every activation
module, an activation that directly consumes a parametrised module's output merged into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

ACTIVATION_KINDS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid"}


def is_activation(m: torch.nn.Module) -> bool:
    return type(m).__module__ == "torch.nn.modules.activation" and not list(m.children())


@dataclass
class Record:
    name: str
    kind: str
    post: torch.Tensor  # a detached copy, taken when the module returned
    obj: torch.Tensor  # the module's output object itself, to recognise what consumes it
    pre: torch.Tensor | None = None
    merged: bool = False


@dataclass
class Recorder:
    """Forward hooks that record, in execution order, every module with parameters of its
    own and every activation module; an activation that directly consumes a parametrised
    module's output is merged into that module's entry (pre = its output, post = the
    activation's), which is the numpy engine's notion of a layer."""

    modules: list[tuple[str, torch.nn.Module]]
    records: list[Record] = field(default_factory=list)
    _pending: dict[int, torch.Tensor] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def attached(self) -> Iterator[None]:
        handles = []
        for name, m in self.modules:
            if is_activation(m):
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
            if is_activation(module):
                kind = ACTIVATION_KINDS.get(cls, cls)
                pre = self._pending.pop(id(module), None)
                prev = self.records[-1] if self.records else None
                source = inputs[0] if inputs else None
                if prev is not None and not prev.merged and source is prev.obj:
                    prev.name = f"{prev.name[:-1]}+{cls})"  # "fc1 (Linear+ReLU)"
                    prev.kind, prev.pre, prev.post, prev.obj = kind, prev.post, post, output
                    prev.merged = True
                    return
                self.records.append(Record(f"{label} ({cls})", kind, post, output, pre, True))
                return
            self.records.append(Record(f"{label} ({cls})", cls, post, output))

        return hook
