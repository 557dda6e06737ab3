"""The checks on the user's own pieces (P1-P3), on small torch pieces each built for one
verdict. The bugs of examples/bugs are caught by name in test_bug_examples.py; these are the
cases around them: what must pass (warmup, a frozen layer, zero_grad at the end, shuffled
or imbalanced loaders, workers seeded by torch) and the other ways to fail."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

import nncheck  # noqa: E402


def build(input_shape: tuple[int, ...], n_outputs: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(input_shape[0], 8), torch.nn.ReLU(), torch.nn.Linear(8, n_outputs)
    )


def tensors(n: int = 120, k: int = 3, seed: int = 0, sort: bool = False) -> TensorDataset:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    if sort:
        y = np.sort(y)
    x = rng.standard_normal((n, 5)).astype(np.float32) + y[:, None]
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def one(check_id: str, **kwargs):
    kwargs.setdefault("model", build)
    kwargs.setdefault("train", tensors())
    kwargs.setdefault("test", tensors(40, seed=1))
    kwargs.setdefault("steps", 100)
    return nncheck.audit(only=[check_id], **kwargs)[check_id]


# ---------------------------------------------------------------- skeleton.lr_schedule (P1)


def warmup_cosine(optimizer):
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=10)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=90)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, cos], milestones=[10])


def exploding(optimizer):
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=1.1)


def test_warmup_then_cosine_to_zero_passes_with_the_curve() -> None:
    res = one("skeleton.lr_schedule", scheduler=warmup_cosine)
    assert res.status == "pass", res.message
    curve = res.artifacts["curves"]["learning rate per training step"]
    assert len(curve["step"]) == 100 and curve["lr"][0] < curve["lr"][10]


def test_a_growing_lr_fails() -> None:
    res = one("skeleton.lr_schedule", scheduler=exploding)
    assert res.status == "fail" and "climbs" in res.message


def test_no_scheduler_skips_with_a_reason() -> None:
    res = one("skeleton.lr_schedule")
    assert res.status == "skip" and "no LR scheduler" in res.message


# ------------------------------------------------------------ skeleton.optimizer_params (P1)


def head_at_lr_zero(model):
    return torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.0}], lr=0.1
    )


def frozen_first_layer(input_shape, n_outputs):
    model = build(input_shape, n_outputs)
    model[0].requires_grad_(False)
    return model


def trainable_only(model):
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad])


def test_a_group_at_lr_zero_fails() -> None:
    res = one("skeleton.optimizer_params", optimizer=head_at_lr_zero)
    assert res.status == "fail" and "only in groups with lr 0: 2.weight, 2.bias" in res.message


def test_frozen_parameters_left_out_pass() -> None:
    res = one("skeleton.optimizer_params", model=frozen_first_layer, optimizer=trainable_only)
    assert res.status == "pass", res.message
    assert res.metrics["trainable_tensors"] == 2


# ----------------------------------------------------------- skeleton.grad_accumulation (P3)


def zero_grad_at_the_end(model, batch, optimizer, loss):
    x, y = batch
    value = loss(model(x), y)
    value.backward()
    optimizer.step()
    optimizer.zero_grad()
    return value


def test_zeroing_at_the_end_of_the_step_passes() -> None:
    res = one("skeleton.grad_accumulation", step=zero_grad_at_the_end)
    assert res.status == "pass", res.message


# ---------------------------------------------------------------- data.loader_batches (P3)


def test_a_shuffled_loader_passes_and_an_imbalanced_sorted_one_is_not_blamed() -> None:
    loader = DataLoader(tensors(sort=True), batch_size=16, shuffle=True)
    assert one("data.loader_batches", train=loader).status == "pass"
    # 95% one class: even shuffled batches are mostly pure, so purity is no evidence
    rng = np.random.default_rng(0)
    y = np.sort(np.where(rng.random(400) < 0.97, 0, 1))
    x = rng.standard_normal((400, 5)).astype(np.float32)
    ds = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    res = one("data.loader_batches", train=DataLoader(ds, batch_size=16))
    assert res.status == "pass", res.message


def test_no_loader_skips() -> None:
    assert one("data.loader_batches").status == "skip"


# ------------------------------------------------------------------ data.worker_seeds (P3)


class TorchNoise(Dataset):
    """Noise from torch's generator, which torch seeds per worker: no shared stream."""

    def __init__(self, base: TensorDataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        x, y = self.base[i]
        return x + 0.1 * torch.randn_like(x), y


def test_workers_seeded_by_torch_pass() -> None:
    loader = DataLoader(TorchNoise(tensors()), batch_size=16, shuffle=True, num_workers=2)
    res = one("data.worker_seeds", train=loader)
    assert res.status == "pass", res.message
    assert res.metrics["random_augmentation"] is True


# ----------------------------------------------------- data.pipeline_targets (P2) and test aug


class NoisyLabels(Dataset):
    """A label-noise step left on: one label in four is redrawn at every read."""

    def __init__(self, base: TensorDataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        x, y = self.base[i]
        if torch.rand(()) < 0.25:
            y = torch.randint(0, 3, ())
        return x, y


def test_labels_that_change_between_reads_fail() -> None:
    res = one("data.pipeline_targets", train=NoisyLabels(tensors()))
    assert res.status == "fail" and "different target on a second read" in res.message


def test_a_deterministic_test_set_passes() -> None:
    res = one("data.test_augmentation")
    assert res.status == "pass", res.message
    res = one("data.pipeline_targets")
    assert res.status == "pass", res.message
