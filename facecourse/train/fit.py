"""`fit(cfg)`: the one training loop every lesson and `python -m facecourse train` run.

Read it top to bottom: set up (devices, data, model, objective, optimizer, resume), then a
plain loop of forward -> loss -> backward -> step, with logging, the NaN guard and checkpoints
at fixed steps. What differs between ways of training lives in the objective that
`cfg.objective` names (train/objectives/: classification, triplet, siamese, distill): whether
a head is trained, whether batches are pairs, and the loss of a batch. A teacher's term
(`TeacherTerm`) and an `extra_loss` add to any objective.

The device is synchronised only at log and checkpoint steps, so the loop runs as fast as a
hand-written one (bench/train_speed.py measures it).
"""
from __future__ import annotations

import json
import os
import random
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from facecourse.models.augment import flip, flip_mask, jitter
from facecourse.models.outputs import split_output

from . import build, distributed
from .checkpoint import (CHECKPOINT_NAME, load_checkpoint, non_finite, save_checkpoint,
                         set_rng_state, training_state)
from .config import RESUMABLE, TrainConfig, resume_conflicts, validate
from .history import History
from .objectives import Batch, TeacherTerm, create_objective, objective_class
from .optim import build_optimizer, build_scheduler, param_groups
from .run_dir import open_run
from .samplers import PairView, make_sampler

KILL_ENV = "FACECOURSE_KILL_AT_STEP"  # tests: SIGKILL this process right after that step


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


@dataclass
class FitResult:
    backbone: nn.Module  # the trained backbone (on the training device, train mode off)
    head: nn.Module | None  # the trained head (None for triplet training)
    history: list  # one dict per log step: step, epoch, loss, lr, head_lr, img_per_s, time_s
    out_dir: Path | None  # where config.json, history.csv/jsonl and the checkpoint are
    checkpoint_path: Path | None  # out_dir/checkpoint.pt (None when out_dir is None)

    @property
    def checkpoint(self) -> Path | None:
        return self.checkpoint_path


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as PyTorch's CPU build
    reports it; False where it cannot tell (another architecture, another torch)."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if check is not None)


class _Net(nn.Module):
    """backbone + head as one module, so DDP syncs both with one set of hooks."""

    def __init__(self, backbone: nn.Module, head: nn.Module | None):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, images, labels):
        embeddings, extras = split_output(self.backbone(images))  # (B, D), side outputs
        if self.head is None:
            return embeddings, None, extras
        if torch.is_autocast_enabled(embeddings.device.type) and \
                torch.get_autocast_dtype(embeddings.device.type) == torch.bfloat16:
            # bf16 keeps 8 significant bits: cos θ in [0.5, 1) would move in steps of 2^-8,
            # 0.06 in a logit at s = 16. The head is one small matmul, so it runs in fp32.
            # fp16 (11 bits) stays as it is: insightface computes its heads' logits in fp16.
            with torch.autocast(embeddings.device.type, enabled=False):
                return embeddings, self.head(embeddings.float(), labels), extras  # (B, C)
        return embeddings, self.head(embeddings, labels), extras  # (B, C)


def _shard_path(ckpt_path: Path, rank: int) -> Path:
    """Where rank `rank` keeps its PartialFC shard (head + optimizer) beside the checkpoint."""
    return ckpt_path.with_name(f"{ckpt_path.stem}.head-rank{rank}.pt")


def fit(cfg: TrainConfig, train_set=None, *, backbone: nn.Module | None = None,
        head: nn.Module | None = None, teacher: nn.Module | None = None,
        extra_loss=None) -> FitResult:
    """Train `backbone` (+ `head`) on `train_set` as `cfg` says; return them and the history.

    `train_set`: a FaceDataset (or any dataset of (image, label)); None = build cfg.data.
    `backbone`, `head`: start from these modules (stage-2 fine-tuning) instead of new ones.
    `teacher`: a frozen backbone; adds cfg.distill.weight * (1 - cos(student, teacher)). A
    teacher with `takes_indices = True` (`EmbeddingTable`: embeddings computed before training)
    is given the batch's indices into `train_set` instead of its images.
    `extra_loss`: a term added every step, ``extra_loss(images, labels, embeddings, extras)``
    -> scalar, on the batch just embedded; ``extras`` are the side outputs the backbone's
    training forward returned (`facecourse.models.BackboneOutput`: a DANN's domain logits,
    CBAM's attention maps; {} for a plain backbone). Distillation and domain-adversarial
    losses (facecourse.losses) are such terms. An nn.Module is moved to the device; its
    trainable parts must live in the backbone (a wrapper module), since the optimizer only
    sees backbone and head.
    A head may return a ``HeadOutput`` (logits, labels, loss) in training instead of logits
    (BoundaryFace corrects labels): classification's cross-entropy then uses its labels.
    Under torchrun, a script that calls fit ends with `distributed.exit_process(0)` (why: there).
    """
    validate(cfg)
    out_dir = Path(cfg.out_dir) if cfg.out_dir else None
    ckpt_path = out_dir / CHECKPOINT_NAME if out_dir else None
    resume_from = _resume_path(cfg, ckpt_path)
    state = None
    if resume_from is not None:  # refuse before anything is built or written
        state = load_checkpoint(resume_from)
        conflicts = resume_conflicts(state["config"], cfg)
        if conflicts:
            raise ValueError(
                f"cannot resume {str(resume_from)!r} with other settings: "
                f"{'; '.join(conflicts)}. They decide the weights, so the run would not be the "
                f"one its config.json says. Only {', '.join(RESUMABLE[:6])} and data.workers may "
                "change on resume: drop the others, or start a new run (another --out, or "
                "--overwrite).")
    info = distributed.setup(cfg.device)
    device, main = info.device, info.is_main
    # "auto" with no checkpoint: whatever a run left there before its first checkpoint is replaced
    overwrite = cfg.overwrite or (cfg.resume == "auto" and resume_from is None)
    lock = open_run(out_dir, resume_from is not None, overwrite) if out_dir and main else None
    try:
        return _fit(cfg, info, train_set, backbone, head, teacher, extra_loss, state,
                    resume_from, out_dir, ckpt_path)
    finally:
        if lock is not None:
            lock.release()


def _fit(cfg, info, train_set, backbone, head, teacher, extra_loss, state, resume_from,
         out_dir, ckpt_path) -> FitResult:
    device, main = info.device, info.is_main
    torch.manual_seed(cfg.seed), np.random.seed(cfg.seed), random.seed(cfg.seed)

    # ---- data: a sampler that cuts global batches from (seed, epoch), sharded by rank
    if train_set is None:
        train_set = build.build_train_set(cfg.data, cfg.model.image_size)
    labels = build.labels_of(train_set)  # (N,)
    ages = getattr(train_set, "meta", {}).get("age") if hasattr(train_set, "meta") else None
    sampler = make_sampler(cfg.data, labels, cfg.batch_size, cfg.seed, info.rank,
                           info.world_size, ages)
    steps_per_epoch = sampler.steps_per_epoch
    total_steps = cfg.max_steps or max(1, int(round(cfg.epochs * steps_per_epoch)))

    # ---- model, objective, optimizer
    num_classes = int(getattr(train_set, "num_classes", 0) or int(labels.max()) + 1)
    kind = objective_class(cfg.objective)
    if cfg.objective == "distill" and teacher is None:
        raise ValueError("objective='distill' needs a teacher: fit(..., teacher=...), or "
                         "distill.teacher=dlib / distill.teacher_checkpoint=... on the command line")
    backbone = backbone if backbone is not None else build.build_backbone(cfg.model)
    if cfg.model.sync_bn and info.world_size > 1:
        from .sync_bn import convert_sync_bn
        backbone = convert_sync_bn(backbone, device)
    use_head = kind.uses_head(cfg)
    if head is None and use_head:
        head = build.build_head(cfg.head, cfg.model.embedding_dim, num_classes)
    # PartialFC on several processes: each holds its own shard of the centres, which DDP must
    # not average, so DDP wraps the backbone alone and each rank checkpoints its shard
    sharded = cfg.head.partial_fc > 0 and info.world_size > 1
    objective = create_objective(cfg, num_classes, device)  # after the modules: the same init
    # "auto" = True: channels-last is faster on CUDA and, measured in bench/results/train.json,
    # on CPU too (MobileFaceNet x0.5 at 64 px: 235 vs 147 img/s; the plain convnet ~10 %)
    channels_last = cfg.channels_last if cfg.channels_last != "auto" else True
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    backbone.to(device, memory_format=memory_format).train()
    if head is not None:
        head.to(device).train(use_head)
    teacher_term = None if teacher is None else TeacherTerm(
        teacher, cfg.distill.weight, len(labels), cfg.model.embedding_dim, device, memory_format,
        cfg.distill.relation_weight)
    _check_extra_loss(extra_loss, device)
    optimizer = build_optimizer(param_groups(backbone, head if use_head else None, cfg.optim),
                                cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.optim, total_steps, steps_per_epoch)
    clock = _Clock(cfg, total_steps, scheduler.lr_lambdas[0], info)
    amp = cfg.amp if cfg.amp != "auto" else ("fp16" if device.type == "cuda" else "off")
    amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(amp)
    if amp == "bf16" and device.type == "cpu" and main and not cpu_has_bf16():
        warnings.warn("amp='bf16' on a CPU without bf16 instructions (AVX512-BF16 or AMX): "
                      "PyTorch emulates it there, which may be slower than fp32; if the run's "
                      "steps/s are low, add --set amp=off", stacklevel=2)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")
    center_loss = objective.modules().get("center_loss")

    # ---- resume (validated before any file is written), output folder
    step = saved_step = 0
    if state is not None:
        if cfg.head.partial_fc > 0 and (sharded or state.get("world_size", 1) > 1):
            state = _with_shard(state, resume_from, info)  # each rank's own centres
        _load_state(state, resume_from, backbone, head, center_loss, optimizer, scheduler, scaler)
        step = saved_step = int(state["step"])
        clock.resume(state)
        if main:
            set_rng_state(state["rng"])
        else:
            torch.manual_seed(cfg.seed * 1_000_003 + step * 7919 + info.rank)
    history = History(out_dir if main else None, keep_until=step if resume_from else 0)
    if out_dir is not None and main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    if sharded:
        model = _Net(DistributedDataParallel(backbone), head)
    else:
        net = _Net(backbone, head if use_head else None)
        model = DistributedDataParallel(net) if info.world_size > 1 else net
    validator = None
    if cfg.val.every:  # every rank looks (so a missing set fails everywhere), rank 0 measures
        from .validation import BinValidator, find_bins
        if main:
            validator = BinValidator(cfg.val, cfg.data, cfg.model.image_size, device)
        elif not find_bins(cfg.val, cfg.data)[0]:
            raise FileNotFoundError(f"val.every={cfg.val.every}: no .bin set found (see rank 0)")
    batches = _Batches(cfg, train_set, labels, sampler, info, memory_format,
                       by_index=teacher_term is not None and teacher_term.by_index,
                       pairs=objective.pairs)
    kill_at = int(os.environ.get(KILL_ENV, "0"))

    # ---- the loop
    from tqdm.auto import tqdm
    bar = tqdm(total=clock.total_steps, initial=step, disable=not (cfg.progress and main),
               desc="train", dynamic_ncols=True)
    loss_sum = torch.zeros((), device=device)  # losses since the last log step
    bad = torch.full((2,), -1.0, device=device)  # first non-finite (step, loss); -1 = none
    step_t = torch.full((), float(step), device=device)  # the step, kept on the device
    last_log_step, last_log_time, t0 = step, time.perf_counter(), time.perf_counter()
    clock.start(step)
    try:
        for batch in batches.from_step(step) if step < clock.total_steps else []:
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                out = objective.loss(model, batch)
                loss = out.loss
                if teacher_term is not None:
                    loss = loss + teacher_term(out, batch)
                if extra_loss is not None:
                    loss = loss + extra_loss(out.images, out.targets, out.embeddings, out.extras)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.optim.clip_grad_norm > 0:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                params = [p for g in optimizer.param_groups for p in g["params"]]
                torch.nn.utils.clip_grad_norm_(params, cfg.optim.clip_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            objective.after_step(out, info)
            step += 1
            step_t += 1
            loss = loss.detach()
            first = (~torch.isfinite(loss)) & (bad[0] < 0)  # no sync: checked at log steps
            bad = torch.where(first, torch.stack([step_t, loss.float()]), bad)
            loss_sum += loss
            bar.update(1)
            is_last = step >= clock.total_steps or (
                cfg.max_minutes > 0 and step % cfg.log_every == 0 and clock.out_of_time(step))
            if clock.fitting and bar.total != clock.total_steps:
                bar.total = clock.total_steps
                bar.refresh()
            save_now = ckpt_path is not None and (
                is_last or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0))
            log_now = is_last or step % cfg.log_every == 0
            if log_now or save_now:  # the only syncs: stop on NaN/Inf before logging/saving
                state_now = ({"backbone": backbone, "head": head, "center_loss": center_loss},
                             optimizer) if save_now else None
                _check_finite(bad, info, ckpt_path, saved_step, cfg, step, state_now)
            if log_now:
                now = time.perf_counter()
                n = step - last_log_step
                row = {"step": step, "epoch": round(step / steps_per_epoch, 4),
                       "loss": distributed.all_reduce_mean(loss_sum / n, info).item(),
                       "lr": optimizer.param_groups[0]["lr"],
                       "head_lr": optimizer.param_groups[-1]["lr"],
                       "img_per_s": n * cfg.batch_size / max(now - last_log_time, 1e-9),
                       "time_s": round(now - t0, 3)}
                if validator is not None and (step % cfg.val.every == 0 or is_last):
                    row.update(validator(backbone))  # rank 0; the others wait at the next step
                history.append(row)
                bar.set_postfix(loss=f"{row['loss']:.4f}", lr=f"{row['lr']:.3g}")
                loss_sum.zero_()
                last_log_step, last_log_time = step, time.perf_counter()  # after validating
            if save_now:
                if main:
                    save_checkpoint({**training_state(
                        cfg.to_dict(), step, steps_per_epoch, info.world_size, backbone, head,
                        center_loss, optimizer, scheduler, scaler), **clock.state()}, ckpt_path)
                    saved_step = step
                if sharded:
                    save_checkpoint({"step": step, "rank": info.rank, "head": head.state_dict(),
                                     "optimizer": optimizer.state_dict()}, _shard_path(ckpt_path, info.rank))
                distributed.barrier(info)
            if step == kill_at:  # testing hook: die like a preempted job
                os.kill(os.getpid(), signal.SIGKILL)
            if is_last:
                break
        # every process reaches the end before any leaves the group (the abort at a worker's exit,
        # "terminate called without an active exception", is distributed.exit_process's business)
        distributed.barrier(info)
    finally:
        bar.close()
        distributed.cleanup(info)
    backbone.eval()
    if head is not None:
        head.eval()
    return FitResult(backbone, head, history.rows, out_dir, ckpt_path)


class _Batches:
    """This process's batches from a global step on, epoch after epoch, on the device: a
    `Batch` of float images (flipped and jittered from (seed, step), the same for any world
    size), their labels and their indices into the training set."""

    def __init__(self, cfg, train_set, labels, sampler, info, memory_format, by_index, pairs):
        self.cfg, self.labels, self.sampler, self.info = cfg, labels, sampler, info
        self.memory_format, self.by_index, self.pairs = memory_format, by_index, pairs
        self.device = info.device
        self.per_rank = cfg.batch_size // info.world_size
        self.images_u8 = build.in_memory_images(train_set) if cfg.data.workers == 0 else None
        self.loader = None
        if self.images_u8 is None:  # a DataLoader fetches images one by one (workers optional)
            self.loader = torch.utils.data.DataLoader(
                PairView(train_set) if pairs else train_set, batch_sampler=sampler,
                num_workers=cfg.data.workers, pin_memory=self.device.type == "cuda")
        d = cfg.data
        self.jitters = {"scale": d.scale_jitter, "shift": d.shift_jitter, "color": d.color_jitter,
                        "gray": d.gray_jitter}
        self.use_jitter = d.augment and any(v > 0 for v in self.jitters.values())

    def from_step(self, step: int):
        cfg, sampler, steps_per_epoch = self.cfg, self.sampler, self.sampler.steps_per_epoch
        lo = self.info.rank * self.per_rank  # this process's slice of the global batch
        while True:
            epoch, start = divmod(step, steps_per_epoch)
            sampler.set_epoch(epoch, start)
            # the loader draws its batches from the same sampler: the same indices, in order
            source = sampler if self.loader is None else zip(sampler, self.loader)
            for s, item in enumerate(source, epoch * steps_per_epoch + start):  # global steps
                idx, batch = (item, None) if self.loader is None else item
                idx = torch.as_tensor(idx)  # (b,) or (b, 2) pairs
                parts = [idx] if not self.pairs else [idx[:, 0], idx[:, 1]]
                mask = flip_mask(cfg.seed, s, cfg.batch_size, lo, self.per_rank) \
                    if cfg.data.augment else None
                if self.loader is None:
                    ims = [self.images_u8[i].to(self.device, non_blocking=True) for i in parts]
                    lbs = [self.labels[i].to(self.device, non_blocking=True) for i in parts]
                    ims = [build.to_float(x if mask is None else flip(x, mask)) for x in ims]
                else:
                    batch = [t.to(self.device, non_blocking=True) for t in batch]
                    ims, lbs = (batch[:2], batch[3:]) if self.pairs else (batch[:1], batch[1:])
                    ims = [x if mask is None else flip(x, mask) for x in ims]
                if self.use_jitter:
                    ims = [jitter(x, cfg.seed + k, s, cfg.batch_size, lo, **self.jitters)
                           for k, x in enumerate(ims)]
                index = torch.cat(parts).to(self.device, non_blocking=True) if self.by_index else None
                yield Batch([x.contiguous(memory_format=self.memory_format) for x in ims], lbs, index)
            step = (epoch + 1) * steps_per_epoch


def _with_shard(state: dict, path: Path, info) -> dict:
    """The checkpoint `state` with this rank's PartialFC shard (head, optimizer) put in."""
    if state.get("world_size") != info.world_size:
        raise ValueError(f"cannot resume {str(path)!r} on {info.world_size} processes: its PartialFC "
                         f"centres are sharded over {state.get('world_size')}. Resume with torchrun "
                         f"--nproc_per_node={state.get('world_size')}, or start a new run.")
    shard = _shard_path(path, info.rank)
    if not shard.is_file():
        raise FileNotFoundError(f"cannot resume {str(path)!r}: rank {info.rank}'s PartialFC shard "
                                f"{shard} is missing (each rank writes its own beside the checkpoint)")
    try:
        part = torch.load(shard, map_location="cpu", weights_only=True)  # tensors and plain values
        part["step"], part["head"], part["optimizer"]
    except Exception as e:  # noqa: BLE001 - any damage reads as one message
        raise ValueError(f"cannot resume {str(path)!r}: {shard} is damaged or not a PartialFC shard "
                         f"({str(e).splitlines()[0][:120] if str(e) else type(e).__name__}); start a new run") from None
    if part["step"] != state["step"]:
        raise ValueError(f"cannot resume {str(path)!r}: {shard} is from step {part['step']}, the "
                         f"checkpoint from step {state['step']} (a run stopped while saving); "
                         "start a new run")
    return {**state, "head": part["head"], "optimizer": part["optimizer"]}


def _check_extra_loss(extra_loss, device) -> None:
    if isinstance(extra_loss, nn.Module):
        extra_loss.to(device)
        if any(p.requires_grad for p in extra_loss.parameters()):
            raise ValueError("fit(extra_loss=...): the extra loss has trainable parameters, which "
                             "the optimizer would not see; put them in the backbone (a wrapper "
                             "module) or freeze them with requires_grad_(False)")


class _Clock:
    """The run's time budget (`max_minutes`), and with `fit_to_time` the schedule it fits.

    Without `fit_to_time` it is a guard: stop at the first log step after `max_minutes` of
    this process's training. With it, each log step also measures the speed so far and sets
    the schedule's length (`WarmupSchedule.total_steps`, never beyond `epochs`/`max_steps`)
    to the steps that fit in the minutes left, so the cosine ends when the time does; the
    minutes then count over resumes (`trained_seconds` in the checkpoint). Any process's clock
    decides for all (the slowest), so every DDP rank keeps the same lr. The checkpoint keeps
    the seconds trained in all (`trained_seconds`) either way.
    """

    def __init__(self, cfg, total_steps: int, schedule, info):
        self.budget, self.info, self.schedule = 60 * cfg.max_minutes, info, schedule
        self.fitting = cfg.fit_to_time and cfg.max_minutes > 0
        self.planned = self.total_steps = total_steps
        self.before = 0.0  # seconds trained by the runs this one resumes (fit_to_time)
        self.rate = 0.0  # steps a second, as last measured

    def resume(self, state: dict) -> None:
        """Continue a checkpoint's clock: its seconds, and (fit_to_time) the schedule refitted
        to this run's budget at the speed the checkpoint measured."""
        self.before = float(state.get("trained_seconds", 0.0))
        self.rate = float(state.get("steps_per_second", 0.0))
        if self.fitting and self.rate > 0:
            self._fit(int(state["step"]), self.before)

    def start(self, step: int) -> None:
        self.t0, self.step0 = time.perf_counter(), step

    def out_of_time(self, step: int) -> bool:
        """At a log step: is the budget spent? With fit_to_time, also refit the schedule."""
        here = torch.tensor(time.perf_counter() - self.t0, dtype=torch.float64)
        if self.info.world_size > 1:  # the slowest process decides, for all
            here = here.float().to(self.info.device)
            torch.distributed.all_reduce(here, op=torch.distributed.ReduceOp.MAX)
        here = float(here.item())
        spent = here + (self.before if self.fitting else 0.0)
        if spent >= self.budget:
            return True
        if self.fitting and step > self.step0:
            self.rate = (step - self.step0) / max(here, 1e-9)
            self._fit(step, spent)
        return step >= self.total_steps

    def _fit(self, step: int, spent: float) -> None:
        """The schedule's length: the steps that fit in the seconds left, at `self.rate`."""
        left = max(0, int(self.rate * (self.budget - spent)))
        self.total_steps = self.schedule.total_steps = min(self.planned, step + left)

    def state(self) -> dict:
        """What a checkpoint keeps of the clock: the seconds trained and the fitted length."""
        return {"trained_seconds": self.before + time.perf_counter() - self.t0,
                "fitted_total_steps": self.total_steps, "steps_per_second": self.rate}


def _resume_path(cfg, ckpt_path):
    """cfg.resume: False -> none; True -> out_dir/checkpoint.pt, which must exist; "auto" ->
    it if it exists (fit_cached, preemptible jobs); another str -> that checkpoint file."""
    if not cfg.resume:
        return None
    if isinstance(cfg.resume, str) and cfg.resume not in ("auto", "true", "True"):
        return Path(cfg.resume)
    if ckpt_path is None:
        raise ValueError("resume=True needs out_dir (the run folder holding checkpoint.pt)")
    if ckpt_path.is_file():
        return ckpt_path
    if cfg.resume == "auto":
        return None
    raise FileNotFoundError(
        f"--resume: {str(ckpt_path.parent)!r} holds no run to continue (no {CHECKPOINT_NAME}). "
        "Drop --resume to start a new run there, or pass the --out of the run to continue.")


def _load_state(state, path, backbone, head, center_loss, optimizer, scheduler, scaler) -> None:
    """Put a checkpoint's state into the freshly built run; a mismatch is one clear error."""
    try:
        backbone.load_state_dict(state["backbone"])
        if head is not None and state.get("head") is not None:
            head.load_state_dict(state["head"])
        if center_loss is not None and state.get("center_loss") is not None:
            center_loss.load_state_dict(state["center_loss"])
        optimizer.load_state_dict(state["optimizer"])
        # the schedule itself comes from cfg (a resumed run may train longer); keep the step
        sched = {**state["scheduler"], "lr_lambdas": [None] * len(scheduler.lr_lambdas)}
        scheduler.load_state_dict(sched)
        scaler.load_state_dict(state["scaler"])
    except (RuntimeError, KeyError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:200]
        raise ValueError(f"checkpoint {str(path)!r} does not fit the model this config builds "
                         f"({first}); it was written by another architecture or head. Resume "
                         "with the run's own config (python -m facecourse train --out DIR "
                         "--resume reads it), or start a new run.") from None


def _check_finite(bad, info, ckpt_path, saved_step, cfg, step, state=None) -> None:
    """Stop with a clear message when a loss is NaN/Inf or, before a checkpoint, any weight,
    buffer (batch-norm statistics) or optimizer state is; the checkpoint on disk stays."""
    if info.world_size > 1:
        torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
    bad_step, value = bad.tolist()
    what = f"the loss was {value} at step {int(bad_step)}"
    if bad_step < 0 and state is not None:
        broken = non_finite(*state)
        flag = torch.tensor(float(bool(broken)), device=info.device)
        if info.world_size > 1:
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if not flag.item():
            return
        shown = ", ".join(broken[:3]) + (f" and {len(broken) - 3} more" if len(broken) > 3 else "")
        what = (f"after step {step} the model held NaN/Inf values ({shown or 'on another process'}) "
                "although the loss was still finite")
    elif bad_step < 0:
        return
    kept = (f"the last good checkpoint {str(ckpt_path)!r} (step {saved_step}) was kept" if ckpt_path
            and ckpt_path.is_file() else "no checkpoint was written")
    fp16 = " or fp16 overflow (try amp='bf16' or 'off')" if cfg.amp in ("fp16", "auto") else ""
    raise TrainingDiverged(
        f"training diverged: {what}; {kept}. Likely causes: "
        f"a learning rate too high (optim.lr={cfg.optim.lr}, head_lr={cfg.optim.head_lr}; "
        f"lower it or add warmup), a margin too large for the scale s (head.s / head.m){fp16}.")
