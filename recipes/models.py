"""Models for the bundled torch recipes (``model.engine: torch``).

nncheck calls a factory as ``build(input_shape, n_outputs, **kwargs)``, where
``input_shape`` is the shape of one sample as the model receives it (MNIST: ``(1, 28, 28)``)
and ``n_outputs`` the number of classes (1 for regression); the factory returns an
``nn.Module`` mapping a float32 batch to logits. Recipes name it as ``"models:build"``,
found beside the recipe.
"""

from __future__ import annotations

import math

from torch import nn


def build(
    input_shape: tuple[int, ...],
    n_outputs: int,
    channels: int = 16,
    batchnorm: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """A small CNN for images ``(C, H, W)``: two conv-ReLU-maxpool blocks (``channels``
    and ``2 * channels`` filters), then a linear classifier. ``batchnorm`` adds BatchNorm
    after each convolution and ``dropout`` a dropout before the classifier (to audit how
    nncheck handles them)."""
    if len(input_shape) != 3:
        raise ValueError(f"the CNN needs image samples (C, H, W); got shape {input_shape}")
    c, h, w = input_shape
    layers: list[nn.Module] = []
    in_ch = c
    for out_ch in (channels, 2 * channels):
        layers.append(nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm2d(out_ch))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        in_ch = out_ch
    layers.append(nn.Flatten())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(2 * channels * (h // 4) * (w // 4), n_outputs))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")  # He init for ReLU
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    final = model[-1]
    nn.init.xavier_normal_(final.weight)
    nn.init.zeros_(final.bias)  # nncheck sets it to the class log-priors
    return model


def mlp(
    input_shape: tuple[int, ...],
    n_outputs: int,
    hidden: tuple[int, ...] | list[int] = (8, 5),
    activation: str = "tanh",
) -> nn.Module:
    """The numpy engine's MLP in torch: Linear layers with ``activation`` between them,
    xavier-normal weights (std sqrt(2 / (fan_in + fan_out))) and zero biases, so a torch
    recipe and a numpy recipe describe the same network."""
    acts = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
    fan_in = math.prod(input_shape)
    layers: list[nn.Module] = [nn.Flatten()] if len(input_shape) > 1 else []
    for width in hidden:
        layers += [nn.Linear(fan_in, int(width)), acts[activation]()]
        fan_in = int(width)
    layers.append(nn.Linear(fan_in, n_outputs))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
    return model
