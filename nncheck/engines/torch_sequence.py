"""The torch engine for language models: token ids in, next-token logits out.

The user's model maps int64 token ids ``(N, T)`` to logits ``(N, T, V)``; the targets are
``(N, T)`` next-token ids. A sample's loss is the mean cross-entropy over its tokens, with
the padding token (``data.pad_token``) left out, and a batch's loss the mean over its
samples: the same per-sample reduction as the classification engine, so the checks that
weight samples (one sample's gradient alone) work unchanged. Everything else (seeding,
modes, the output bias from the unigram frequencies, optimizers) is ``TorchEngine``'s.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

from nncheck.engines.base import EngineConfig
from nncheck.engines.torch_engine.engine import _PROBE_BATCH, TorchEngine
from nncheck.errors import UsageError


class TorchSequenceEngine(TorchEngine):
    """``TorchEngine`` for ``task: language_model`` (see the module docs)."""

    def __init__(self, config: EngineConfig, seed: int = 0, **kwargs) -> None:
        pad = (config.extra or {}).get("pad_token")
        self.pad_token: int | None = None if pad is None else int(pad)
        super().__init__(config, seed, **kwargs)

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(np.int64)

    @property
    def seq_len(self) -> int:
        return int(self.input_shape[0])

    def _probe_input(self, gen: torch.Generator) -> torch.Tensor:
        return torch.randint(0, self.n_outputs, (_PROBE_BATCH, self.seq_len), generator=gen)

    def _as_target(self, y: np.ndarray) -> torch.Tensor:
        a = np.ascontiguousarray(np.asarray(y), dtype=np.int64)
        t = torch.from_numpy(a.copy() if not a.flags.writeable else a)
        return t.to(self.device) if self.device.type != "cpu" else t

    def _check_output(self, out: object, n: int) -> None:
        k, t = self.n_outputs, self.seq_len
        if not isinstance(out, torch.Tensor):
            raise UsageError(
                f"the model's forward returned a {type(out).__name__}; expected a tensor of"
                f" shape (N, T, vocab) = (N, {t}, {k}) (next-token logits)"
            )
        shape = tuple(out.shape)
        if shape != (n, t, k):
            raise UsageError(
                f"the model's forward returned shape {shape} for a batch of {n} sequences of"
                f" {t} tokens; expected ({n}, {t}, {k}), i.e. (N, T, vocab): one logit per"
                f" vocabulary entry at every position (the factory receives n_outputs={k})"
            )
        if not out.is_floating_point():
            raise UsageError(f"the model's forward returned {out.dtype} outputs; expected floats")

    def _model_out(self, xt: torch.Tensor) -> torch.Tensor:
        out = self.model(xt)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (
            xt.shape[0],
            self.seq_len,
            self.n_outputs,
        ):
            self._check_output(out, xt.shape[0])
        return out

    def _token_mask(self, y: torch.Tensor) -> torch.Tensor | None:
        return None if self.pad_token is None else (y != self.pad_token)

    def _per_sample_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(n,) mean next-token cross-entropy of each sequence over its non-padding tokens
        (0 for a sequence of padding only)."""
        n, t, k = out.shape
        per_token = F.cross_entropy(out.reshape(n * t, k), y.reshape(n * t), reduction="none")
        per_token = per_token.reshape(n, t)
        mask = self._token_mask(y)
        if mask is None:
            return per_token.mean(dim=1)
        m = mask.to(per_token.dtype)
        return (per_token * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)

    def _mean_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._per_sample_loss(out, y).mean()

    def _n_correct(self, out: torch.Tensor, yt: torch.Tensor) -> float:
        """Per-sample token accuracy summed over the batch (padding left out)."""
        hit = (out.detach().argmax(dim=-1) == yt).to(torch.float64)
        mask = self._token_mask(yt)
        if mask is None:
            return float(hit.mean(dim=1).sum())
        m = mask.to(torch.float64)
        return float(((hit * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)).sum())


class TorchTokenClassifier(TorchEngine):
    """``TorchEngine`` for ``task: sequence_classification``: int64 token ids ``(N, T)`` in,
    class logits ``(N, K)`` out, as for any classifier; only the inputs are ids (no float
    cast, no input gradients) and the probe draws random ids below ``vocab_size``."""

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(np.int64)

    def _probe_input(self, gen: torch.Generator) -> torch.Tensor:
        vocab = int(self.kwargs.get("vocab_size") or 2)
        return torch.randint(0, vocab, (_PROBE_BATCH, int(self.input_shape[0])), generator=gen)
