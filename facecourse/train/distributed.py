"""DDP helpers: join the process group `torchrun` describes (NCCL on GPU, gloo on CPU).

`torchrun --nproc_per_node=2 -m facecourse train ...` sets RANK, WORLD_SIZE, LOCAL_RANK and
MASTER_ADDR/PORT; `setup` reads them. A plain `python` run is world size 1 and never touches
torch.distributed.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0  # this process, 0..world_size-1
    world_size: int = 1  # number of processes
    local_rank: int = 0  # this process on its machine (its GPU index)
    device: torch.device = torch.device("cpu")
    created_group: bool = False  # True when setup() called init_process_group

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> cuda:<local_rank> when CUDA is available, else cpu."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={name!r} but CUDA is not available here (torch "
                             f"{torch.__version__}, no GPU found); use --device cpu / "
                             "--set device=cpu, or 'auto'")
        if device.index is None:
            device = torch.device("cuda", local_rank)
    return device


def setup(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun; return rank, world size and device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if dist.is_available() and dist.is_initialized():
        world_size = dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world_size <= 1:
        return DistInfo(device=dev)
    created = False
    if not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        created = True
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, dev, created)


def cleanup(info: DistInfo) -> None:
    """Leave the process group if `setup` created it."""
    if info.created_group and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Mean of `t` over all processes (a no-op with one process)."""
    if info.world_size > 1:
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t /= info.world_size
    return t


def barrier(info: DistInfo) -> None:
    if info.world_size > 1:
        dist.barrier()


def exit_process(code: int) -> None:
    """End this process with exit status `code`; a torchrun worker skips the interpreter's teardown.

    DDP keeps the gloo process group alive after `destroy_process_group` (its threads,
    pt_gloo_runloop and gloo_tcp_loop, are still running when the script ends; measured with
    torch 2.14.1), so a worker's teardown destroys C++ objects under running threads and aborts
    about once in 50-100 runs on busy cores: "terminate called without an active exception",
    exit -6, and torchrun kills the other ranks. A worker calls this last: stdout and stderr are
    flushed, then `os._exit` skips the teardown. A process outside torchrun exits as usual.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or gone: nothing left to lose
            pass
    os._exit(code)
