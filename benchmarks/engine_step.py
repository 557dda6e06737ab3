"""Time one training step of the numpy engine against the same step in plain PyTorch (CPU).

The SPEC promises that the numpy engine's training step is no slower than PyTorch on CPU
for the same network; this script is how a person checks that on their machine::

    python benchmarks/engine_step.py [--repeats N] [--batch 128] [--hidden 512]

Network: 784-512-10 ReLU MLP, softmax cross-entropy, Adam, a batch of 128 random samples.
The two engines are timed interleaved, in short alternating rounds (``--round`` steps of
numpy, then of torch, ...), after a warmup, so that CPU frequency changes and other load
hit both alike. Rounds rather than single alternating steps because each library's thread
pool spins for a while after its last call (OpenBLAS, OpenMP) and would be timed as the
other one's slowness. Every step is timed; the median per engine is reported, with the
ratio numpy/torch (target: <= 1.0). Steps cycle over 16 random batches so the network
does not memorise one batch into tiny (denormal) gradients.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nncheck.engines.base import EngineConfig  # noqa: E402
from nncheck.engines.numpy_mlp import NumpyMLP  # noqa: E402


def _torch_step_fn(engine: NumpyMLP, x: np.ndarray, y: np.ndarray, threads: int | None):
    """The equivalent torch model, initialised from the numpy engine's parameters."""
    try:
        import torch
    except ImportError:
        return None, None
    if threads:
        torch.set_num_threads(threads)
    sizes = [engine.n_inputs, *engine.widths]
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for i, lin in enumerate(linears):
            lin.weight.copy_(torch.from_numpy(engine.params[f"layer{i}.weight"].T.copy()))
            lin.bias.copy_(torch.from_numpy(engine.params[f"layer{i}.bias"]))
    opt = torch.optim.Adam(model.parameters(), lr=engine.config.lr)
    xs = [torch.from_numpy(b.reshape(len(b), -1)) for b in x]
    ys = [torch.from_numpy(b) for b in y]
    loss_fn = torch.nn.CrossEntropyLoss()
    i = 0

    def step() -> float:
        nonlocal i
        i = (i + 1) % len(xs)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i]), ys[i])
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, torch


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a small table; returns the process exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=300, help="timed steps per engine")
    ap.add_argument("--warmup", type=int, default=30, help="untimed steps per engine first")
    ap.add_argument("--round", type=int, default=10, help="consecutive steps per engine")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--torch-threads", type=int, default=None, help="default: torch's own")
    args = ap.parse_args(argv)

    cfg = EngineConfig(
        input_shape=(28, 28),
        n_outputs=10,
        task="classification",
        hidden=(args.hidden,),
        activation="relu",
        init="he",
        optimizer="adam",
        lr=1e-3,
        output_bias="zero",
    )
    rng = np.random.default_rng(0)
    n_batches = 16
    x = rng.random((n_batches, args.batch, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, (n_batches, args.batch)).astype(np.int64)
    engine = NumpyMLP(cfg, seed=0)
    torch_step, torch = _torch_step_fn(engine, x, y, args.torch_threads)
    i = 0

    def np_step() -> float:
        nonlocal i
        i = (i + 1) % n_batches
        return engine.step(x[i], y[i])

    def timed(fn, n: int, into: list[float]) -> None:
        clock = time.perf_counter
        for _ in range(n):
            t0 = clock()
            fn()
            into.append(clock() - t0)

    junk: list[float] = []
    timed(np_step, args.warmup, junk)
    if torch_step is not None:
        timed(torch_step, args.warmup, junk)

    t_np: list[float] = []
    t_torch: list[float] = []
    done = 0
    while done < args.repeats:
        n = min(args.round, args.repeats - done)
        timed(np_step, n, t_np)
        if torch_step is not None:
            timed(torch_step, n, t_torch)
        done += n

    print(f"machine : {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"cpus    : {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})")
    print(f"python  : {platform.python_version()}  numpy {np.__version__}", end="")
    if torch is not None:
        print(f"  torch {torch.__version__} (threads {torch.get_num_threads()})")
    else:
        print("  torch: not installed")
    print(f"network : 784-{args.hidden}-10 relu, CE, adam, batch {args.batch}")
    print(
        f"repeats : {args.repeats} per engine in rounds of {args.round} "
        f"(+{args.warmup} warmup), median ms/step"
    )
    med_np = statistics.median(t_np) * 1e3
    print(f"numpy   : {med_np:8.3f} ms")
    if t_torch:
        med_t = statistics.median(t_torch) * 1e3
        print(f"torch   : {med_t:8.3f} ms")
        print(f"ratio   : {med_np / med_t:8.3f}  (numpy/torch, target <= 1.0)")
        # The torch engine behind nncheck's interface vs plain torch on the same model.
        import engine_step_torch

        print()
        engine_step_torch.main(
            [
                f"--repeats={args.repeats}",
                f"--warmup={args.warmup}",
                f"--round={args.round}",
                f"--batch={args.batch}",
                f"--hidden={args.hidden}",
            ]
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
