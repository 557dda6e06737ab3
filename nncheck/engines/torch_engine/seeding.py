"""Seeds, generators and determinism for the torch engine.

Every random draw the engine makes, or lets the user's code make (init in the factory,
dropout and ``torch.rand*`` in the forward pass, the user's own train step), comes from a
seed derived from the run's seed, and torch's global generators are put back afterwards so
that nncheck leaves no trace in the process.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

# cuBLAS needs this before the first CUDA call to run deterministically (harmless on CPU).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402

from nncheck.errors import UsageError  # noqa: E402

_MASK64 = (1 << 64) - 1
# Salts that keep the seeds of different uses of the engine's seed apart.
SALT_STEP, SALT_TRAIN, SALT_EVAL, SALT_PROBE = 1, 2, 3, 4


def mix(*parts: int) -> int:
    """A 63-bit seed from several integers (splitmix64-style), so (seed, step) pairs give
    unrelated streams."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = ((h ^ (int(p) & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        h ^= h >> 31
    return h & 0x7FFF_FFFF_FFFF_FFFF


class GlobalRNG:
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
def all_seeded(seed: int) -> Iterator[None]:
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


def pick_device(requested: Any) -> torch.device:
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


def request_determinism() -> None:
    """Deterministic algorithms where torch has them; ops without one warn (kept in
    ``engine.warnings`` by the probe) instead of raising."""
    if not torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
