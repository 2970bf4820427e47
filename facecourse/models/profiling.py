"""Model size helpers: parameters and multiply-accumulates (MACs) of one forward pass.

Lessons 04 and 08 compare backbones and students by these sizes.
"""
from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, image_size: int, in_channels: int = 3) -> int:
    """Multiply-accumulates of the Conv2d and Linear layers for ONE image of ``image_size``.

    Counted with forward hooks on a (1, in_channels, image_size, image_size) input in eval mode:
    a conv costs out_elements * (in_channels / groups) * kh * kw, a linear layer
    out_elements * in_features. BatchNorm, activations, pooling and additions are not counted
    (they are a few % of a CNN). This is the "FLOPs" papers quote (1 MAC = 1 "FLOP"); double it
    for strict floating-point operations.
    """
    macs = 0

    def hook(module: nn.Module, inputs, output) -> None:
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs += output.numel() * (module.in_channels // module.groups) * kh * kw
        else:
            macs += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        with torch.no_grad():
            model(torch.zeros(1, in_channels, image_size, image_size, device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return macs
