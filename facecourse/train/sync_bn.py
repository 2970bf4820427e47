"""Batch norm over the global batch under DDP (`model.sync_bn=true`), on GPU and on CPU.

With plain DDP each process normalizes with the statistics of its own slice of the batch, so
2 processes and 1 process train different weights from the same seed (taught in lesson 04).
`nn.SyncBatchNorm` pools the statistics over all processes, but only on GPUs; on CPU (gloo)
`GlobalBatchNorm` does the same with a differentiable all-reduce of the per-channel sums
(Ioffe & Szegedy, arXiv:1502.03167, Eq. in Alg. 1, with the mean and variance of the global
batch). The state-dict keys stay those of `nn.BatchNorm*d`, so checkpoints load either way.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.nn.functional import all_reduce


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm{1,2}d whose training statistics are those of the batch of all processes."""

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f"GlobalBatchNorm expects (B, C, ...) input, got {tuple(x.shape)}")

    def forward(self, x):
        sync = self.training and dist.is_available() and dist.is_initialized() \
            and dist.get_world_size() > 1
        if not sync:
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        c = x.shape[1]
        count = x.new_full((1,), x.numel() / c, dtype=torch.float32)
        xf = x.float()
        stats = all_reduce(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]))  # (2C + 1,)
        n = stats[-1]
        mean = stats[:c] / n  # (C,) over the global batch
        var = (stats[c:2 * c] / n - mean * mean).clamp_min(0)  # biased, as used to normalize
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                f = (1.0 / self.num_batches_tracked.item() if self.momentum is None
                     else self.momentum)
                self.running_mean.mul_(1 - f).add_(mean.detach(), alpha=f)
                self.running_var.mul_(1 - f).add_(var.detach() * n / (n - 1).clamp_min(1),
                                                  alpha=f)
        shape = (1, c) + (1,) * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_sync_bn(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm*d of `module` pooled over the DDP processes: `nn.SyncBatchNorm` on CUDA,
    `GlobalBatchNorm` elsewhere (gloo). Weights and running statistics are kept."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new.to(next(iter(module.state_dict().values()), torch.zeros(())).device)
    for name, child in module.named_children():
        module.add_module(name, convert_sync_bn(child, device))
    return module

