"""Time the torch engine's training step through nncheck's interface against plain PyTorch.

The torch engine wraps the user's model: numpy batches in, a seeded global generator, the
mode switch, the output-shape guard and the loss as nncheck defines it, then the same
``backward`` and ``optimizer.step()``. This script measures what that wrapping costs::

    python benchmarks/engine_step_torch.py [--repeats N] [--batch 128] [--hidden 512]

Network: 784-512-10 ReLU MLP (recipes/models.py ``mlp``), softmax cross-entropy, Adam,
batches of 128 random samples. Both sides start from the same weights (the plain loop
trains a deep copy of the engine's module) and cycle over the same 16 batches; the plain
loop gets its batches as ready tensors, the engine as numpy arrays, as checks pass them.
They are timed interleaved in short alternating rounds after a warmup, so CPU frequency
changes and other load hit both alike; the median per side is reported with the ratio
engine/plain (target: <= 1.1), and the ratio of the 10th percentiles, which a busy machine
disturbs less. The interface costs a fixed ~0.05-0.1 ms per step (numpy -> tensor views,
seeding and restoring torch's global generator, the output-shape guard).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nncheck.engines.base import EngineConfig  # noqa: E402


def _timed(fn: Callable[[], float], n: int, into: list[float]) -> None:
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        fn()
        into.append(clock() - t0)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a small table; returns the process exit code."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeats", type=int, default=300, help="timed steps per side")
    ap.add_argument("--warmup", type=int, default=30, help="untimed steps per side first")
    ap.add_argument("--round", type=int, default=10, help="consecutive steps per side")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    ap.add_argument("--torch-threads", type=int, default=None, help="default: torch's own")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install -e '.[torch]'")
        return 1
    from nncheck.engines.torch_engine import TorchEngine

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    cfg = EngineConfig(
        input_shape=(28, 28),
        n_outputs=10,
        task="classification",
        optimizer="adam",
        lr=1e-3,
        batch_size=args.batch,
        output_bias="zero",
        extra={
            "factory": "models:mlp",
            "kwargs": {"hidden": [args.hidden], "activation": "relu"},
            "device": args.device,
            "recipe_dir": str(ROOT / "recipes"),
        },
    )
    engine = TorchEngine(cfg, seed=0)
    device = engine.device
    rng = np.random.default_rng(0)
    n_batches = 16
    x = rng.random((n_batches, args.batch, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, (n_batches, args.batch)).astype(np.int64)

    model = copy.deepcopy(engine.model).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs = [torch.from_numpy(b).reshape(len(b), 1, 28, 28).to(device) for b in x]
    ys = [torch.from_numpy(b).to(device) for b in y]
    i = j = 0

    def plain_step() -> float:
        nonlocal i
        i = (i + 1) % n_batches
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i]), ys[i])
        loss.backward()
        opt.step()
        return float(loss.detach())

    def engine_step() -> float:
        nonlocal j
        j = (j + 1) % n_batches
        return engine.step(x[j], y[j])

    junk: list[float] = []
    _timed(engine_step, args.warmup, junk)
    _timed(plain_step, args.warmup, junk)
    t_engine: list[float] = []
    t_plain: list[float] = []
    done = 0
    while done < args.repeats:
        n = min(args.round, args.repeats - done)
        _timed(engine_step, n, t_engine)
        _timed(plain_step, n, t_plain)
        done += n

    print(f"machine : {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"cpus    : {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})")
    print(
        f"python  : {platform.python_version()}  numpy {np.__version__}  torch "
        f"{torch.__version__} (threads {torch.get_num_threads()}, engine: "
        f"{engine.threads or 'torch default'})"
    )
    print(f"device  : {device}")
    print(f"network : 784-{args.hidden}-10 relu, CE, adam, batch {args.batch}")
    print(
        f"repeats : {args.repeats} per side in rounds of {args.round} "
        f"(+{args.warmup} warmup), median ms/step"
    )
    med_e = statistics.median(t_engine) * 1e3
    med_p = statistics.median(t_plain) * 1e3
    # The 10th percentiles: what each side takes when nothing else disturbs it (a loaded
    # machine moves the medians more than the interface does).
    p10_e = statistics.quantiles(t_engine, n=10)[0] * 1e3
    p10_p = statistics.quantiles(t_plain, n=10)[0] * 1e3
    print(f"engine  : {med_e:8.3f} ms  (TorchEngine.step, numpy batches in; p10 {p10_e:.3f})")
    print(f"plain   : {med_p:8.3f} ms  (the same module, torch loop; p10 {p10_p:.3f})")
    print(f"ratio   : {med_e / med_p:8.3f}  (engine/plain, target <= 1.1; p10 {p10_e / p10_p:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
