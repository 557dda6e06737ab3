"""data.image_layout: colour images reach a torch model channels-first, as it reads them."""

from __future__ import annotations

from typing import Any

from nncheck.checks.context import Context
from nncheck.checks.registry import Range, check
from nncheck.results import CheckOutcome, result

CHANNEL_COUNTS = (1, 3, 4)  # grey, RGB/BGR, RGBA


@check(
    "data.image_layout",
    stage="data",
    defaults={"min_side": 5},
    ranges={"min_side": Range(ge=2, le=4096)},
    requires=("image_shaped", "any_target"),
)
def image_layout(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Image samples are C x H x W when the model is a torch module.

    Why: Pillow, OpenCV and ``np.asarray(image)`` give height x width x channels; torch's
    convolutions read channels x height x width, and ``transforms.ToTensor`` (or
    ``.permute(2, 0, 1)``) is what moves the axis. A pipeline that forgets it still runs
    whenever the model is built from the shape it is given: the image rows become input
    channels and the convolutions slide across columns and colours. The model learns
    something, so no loss curve shows it.
    Each sample's shape (A, B, C): when C is a channel count (1, 3 or 4) and A and B are
    at least `min_side` (sides of an image, not channels), the samples are channels-last.
    With a torch model that fails; with the numpy MLP, which flattens every sample, the
    layout does not matter and it passes saying so. nncheck's own image loaders already
    give C x H x W (an npz in N x H x W x C is transposed, and the notes say so), so this
    fires on the user's own Dataset or arrays.
    Fix: ``transforms.ToTensor()``, or ``torch.from_numpy(img).permute(2, 0, 1)``.
    """
    shape = tuple(int(s) for s in ctx.dataset.input_shape)
    a, b, c = shape
    side = int(t["min_side"])
    engine = ctx.recipe.model.engine
    metrics: dict[str, Any] = {"sample_shape": list(shape), "engine": engine}
    said = "x".join(map(str, shape))
    last = c in CHANNEL_COUNTS and a >= side and b >= side
    first = a in CHANNEL_COUNTS and b >= side and c >= side
    metrics["channels_last"] = last and not first
    if last and not first:
        if engine == "torch":
            return result(
                "fail",
                f"samples are {said}: the last axis looks like {c} colour channel(s) and the "
                f"first two like an image's sides, but a torch model reads C x H x W, so it "
                f"takes the {a} rows for input channels",
                hint="Move the channel axis first in the Dataset: transforms.ToTensor(), or "
                "torch.from_numpy(img).permute(2, 0, 1) (and check the colour order too: "
                "OpenCV reads BGR where most pretrained weights expect RGB).",
                metrics=metrics,
            )
        return result(
            "pass",
            f"samples are {said} (channels last); the numpy MLP flattens every sample, so "
            "the layout does not change what it learns",
            metrics=metrics,
        )
    return result("pass", f"samples are {said}: channels first (C x H x W)", metrics=metrics)
