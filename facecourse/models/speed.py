"""Measured speed of a backbone on this machine: images per second of training or inference.

Parameters and MACs (`count_parameters`, `count_flops`) predict cost; this module measures it,
because memory traffic, depthwise convolutions and the memory format (NCHW vs channels-last)
decide real speed on a CPU. MobileFaceNets (Chen et al., "MobileFaceNets: Efficient CNNs for
Accurate Real-Time Face Verification on Mobile Devices", arXiv:1804.07573) report speed as
measured inference time for this reason. Taught in lesson 04 (backbones).
"""
from __future__ import annotations

import copy
import time

import torch
from torch import nn

__all__ = ["measure_throughput"]


def measure_throughput(model: nn.Module, image_size: int, batch_size: int = 64, steps: int = 3,
                       warmup: int = 1, train: bool = True, channels_last: bool = False,
                       device: str | torch.device = "cpu", seed: int = 0) -> float:
    """Images per second of `model` on random (batch_size, 3, image_size, image_size) batches.

    ``train=True`` times forward + backward + an SGD step (what `fit` spends per batch, less the
    head and data), ``train=False`` a forward pass under ``torch.no_grad()``. The first
    ``warmup`` batches are not timed (allocator and kernel selection). A copy of `model` is
    timed, so the caller's weights and mode are left untouched. ``channels_last`` converts the
    copy and the input to ``torch.channels_last`` (NHWC) memory format.
    """
    if steps < 1 or warmup < 0 or batch_size < 2:
        raise ValueError(f"measure_throughput needs steps >= 1, warmup >= 0, batch_size >= 2; got "
                         f"steps={steps}, warmup={warmup}, batch_size={batch_size}")
    device = torch.device(device)
    net = copy.deepcopy(model).to(device).train(train)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, image_size, image_size, generator=g).to(device)  # (B, 3, H, W)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3) if train else None

    def one_batch() -> None:
        if train:
            opt.zero_grad(set_to_none=True)
            net(x).square().mean().backward()
            opt.step()
        else:
            with torch.no_grad():
                net(x)

    for _ in range(warmup):
        one_batch()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        one_batch()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch_size / max(time.perf_counter() - start, 1e-9)
