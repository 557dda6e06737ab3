"""``python audit_mnist.py [report_dir]``: the project audited through the Python API."""

from __future__ import annotations

import sys

from mnist_model import STEPS, build_model, make_data, make_optimizer, train_step
from torch import nn

import nncheck


def run_audit(report_dir: str | None = None) -> nncheck.Audit:
    train, test = make_data()
    return nncheck.audit(
        build_model,
        train,
        test,
        loss=nn.CrossEntropyLoss(),
        optimizer=make_optimizer,
        step=train_step,
        steps=STEPS,
        report_dir=report_dir,
        name="mnist-images",
    )


if __name__ == "__main__":
    result = run_audit(sys.argv[1] if len(sys.argv) > 1 else None)
    print(result.summary())
    sys.exit(0 if result.passed else 1)
