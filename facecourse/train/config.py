"""Training configuration: one `@dataclass` per component, one `TrainConfig` holding them.

A run's config is saved as `config.json` (`dataclasses.asdict`) in its `out_dir` and inside
every checkpoint, so a run can be rebuilt, resumed or exported from its files alone.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

OBJECTIVES = ("classification", "triplet", "siamese", "distill")
SOURCES = ("synthetic", "lfw", "folder")
TEACHERS = ("", "dlib")
SAMPLERS = ("random", "pk", "pairs")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclass
class ModelConfig:
    backbone: str = "mobilefacenet"  # a name from facecourse.models.list_backbones()
    embedding_dim: int = 512  # D, the embedding size (ArcFace: 512)
    image_size: int = 112  # input H = W in pixels (the data is made / resized to this)
    width: float = 1.0  # channel multiplier of the backbone
    neck: str = "gdc"  # how the feature map becomes an embedding ("gdc", "fc", ...)
    dropout: float = 0.0  # dropout before the embedding layer


@dataclass
class HeadConfig:
    name: str = "arcface"  # a name from facecourse.losses.list_heads()
    s: float | None = None  # scale s; None = the head's own default (64 for ArcFace)
    m: float | None = None  # margin m of single-margin heads; None = the head's default
    m1: float | None = None  # combined margin cos(m1*theta + m2) - m3; None = default
    m2: float | None = None
    m3: float | None = None
    K: int | None = None  # sub-centers per class (sub-center ArcFace, keyword k); None = default
    extra: dict = field(default_factory=dict)  # any other keyword of create_head

    def kwargs(self) -> dict:
        """The keywords for `create_head`: only the fields that were set."""
        names = {"s": "s", "m": "m", "m1": "m1", "m2": "m2", "m3": "m3", "K": "k"}
        kw = {key: getattr(self, n) for n, key in names.items() if getattr(self, n) is not None}
        return {**kw, **self.extra}


@dataclass
class DataConfig:
    source: str = "synthetic"  # synthetic | lfw | folder (used when fit() gets no data set)
    root: str = ""  # lfw: a prepared LFW folder ("" = load_lfw default); folder: a path
    num_identities: int = 100  # synthetic: identities C
    images_per_identity: int = 20  # synthetic: images per identity
    difficulty: float = 0.5  # synthetic: how hard the faces are, 0..1 (see SyntheticFaces)
    seed: int = 0  # synthetic: the seed of the generated faces
    sampler: str = "random"  # random | pk (P identities x K images) | pairs (siamese)
    P: int = 16  # pk: identities per batch
    K: int = 4  # pk: images per identity (batch = P * K)
    positive_fraction: float = 0.5  # pairs: share of same-identity pairs in a batch
    cross_age: bool = False  # pairs: positives drawn with an age gap (needs meta["age"])
    min_age_gap: float = 0.3  # pairs + cross_age: smallest age gap of a positive, in the units of
    # meta['age']: synthetic faces use 0 (child) .. 1 (old), so 0.3 ~ 30% of a life span; for
    # ages in years (CACD, AgeDB) set e.g. 10
    workers: int = 0  # DataLoader workers; 0 = batches cut straight from in-memory tensors
    augment: bool = True  # random horizontal flip (and the jitters below when they are > 0)
    scale_jitter: float = 0.0  # augment: zoom each image by a random factor in 1 +- this; 0 = off
    shift_jitter: float = 0.0  # augment: shift each image by up to this fraction of its side
    color_jitter: float = 0.0  # augment: contrast * (1 +- this) and brightness +- this (in [-1, 1])


@dataclass
class OptimConfig:
    name: str = "sgd"  # sgd | adamw
    lr: float = 0.1  # base learning rate of the backbone (ArcFace: 0.1 for batch 512)
    momentum: float = 0.9  # sgd momentum
    betas: tuple = (0.9, 0.999)  # adamw betas
    weight_decay: float = 5e-4  # backbone weight decay (not on norms and biases)
    head_lr: float | None = None  # the head's learning rate; None = lr
    head_weight_decay: float | None = None  # the head's weight decay; None = weight_decay
    warmup_epochs: float = 0.0  # linear warmup from 0 (used when warmup_steps = 0)
    warmup_steps: int = 0  # linear warmup in steps; overrides warmup_epochs when > 0
    schedule: str = "cosine"  # cosine | step | constant (after the warmup)
    milestones: list = field(default_factory=list)  # step: epochs where lr *= gamma
    gamma: float = 0.1  # step: the factor at each milestone
    min_lr_ratio: float = 0.0  # cosine: the final lr as a fraction of the base lr
    clip_grad_norm: float = 0.0  # clip the global gradient norm to this; 0 = off


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    objective: str = "classification"  # classification | triplet | siamese | distill (teacher only)
    center_loss_weight: float = 0.0  # classification: lambda of the center loss; 0 = off
    center_alpha: float = 0.5  # center loss: the centers' update rate alpha
    triplet_margin: float = 0.2  # triplet: margin alpha of FaceNet
    mining: str = "semi_hard"  # triplet: semi_hard | batch_hard | batch_all
    contrastive_margin: float | None = None  # siamese: margin; None = ContrastiveLoss default
    contrastive_form: str | None = None  # siamese: hadsell | report; None = the default
    contrastive_normalize: bool = False  # siamese: distances between L2-normalized embeddings
    ce_weight: float = 0.0  # siamese: weight of the head's cross-entropy (stage-1 head)
    distill_weight: float = 0.0  # with a teacher: weight of 1 - cos(student, teacher)
    teacher_checkpoint: str = ""  # CLI: a checkpoint of fit() whose backbone is the teacher
    teacher: str = ""  # CLI: a pretrained teacher by name: "dlib" = dlib's ResNet (data.source
    # lfw; its 128-d embeddings of the training images are computed once and cached)
    epochs: float = 10  # passes over the data (fractions allowed)
    max_steps: int = 0  # stop after this many steps; 0 = epochs * steps per epoch
    max_minutes: float = 0.0  # also stop (and checkpoint) at the first log step after this many
    # minutes of training; 0 = no limit. A guard: the lr schedule still spans epochs/max_steps
    batch_size: int = 128  # GLOBAL batch (split evenly over the DDP processes)
    amp: str = "auto"  # auto (fp16 + GradScaler on CUDA, off on CPU) | off | bf16 | fp16
    channels_last: Any = "auto"  # True | False | "auto" (= True: faster on CUDA and on CPU, see bench)
    seed: int = 0  # model init, data order and augmentation all derive from it
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...
    out_dir: str | None = None  # where checkpoints and logs go; None = write nothing
    checkpoint_every: int = 0  # also checkpoint every N steps; 0 = only at the end
    resume: Any = False  # True = out_dir/checkpoint.pt if present; or a checkpoint path
    log_every: int = 50  # steps between history rows (the only steps that sync the device)
    progress: bool = True  # a tqdm bar on rank 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build a config from a (nested) dict, e.g. a `config.json`; unknown keys fail."""
        return _from_dict(cls, d, "")


def _from_dict(klass, d: dict, where: str):
    if not isinstance(d, dict):
        raise TypeError(f"config {where or 'TrainConfig'}: expected a dict of fields, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(klass)}
    kwargs = {}
    for key, value in d.items():
        if key not in fields:
            raise KeyError(
                f"unknown config key {(where + '.' if where else '') + key!r}; valid keys of "
                f"{klass.__name__}: {', '.join(fields)}"
            )
        sub = _NESTED.get(key) if klass is TrainConfig else None
        if sub is not None:
            value = value if isinstance(value, sub) else _from_dict(sub, value, key)
        elif key == "betas":
            value = tuple(value)
        kwargs[key] = value
    return klass(**kwargs)


_NESTED = {"model": ModelConfig, "head": HeadConfig, "data": DataConfig, "optim": OptimConfig}


def parse_value(text: str):
    """`--set` values: JSON when it parses (numbers, true, null, [..]), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"True": True, "False": False, "None": None}.get(text, text)


def parse_sets(items) -> dict:
    """`--set key=value` arguments -> {dotted key: parsed value} (see `parse_value`)."""
    sets = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: write key=value, e.g. --set optim.lr=0.01")
        sets[key.strip()] = parse_value(value.strip())
    return sets


def apply_overrides(d: dict, overrides: dict) -> dict:
    """Return a copy of the nested dict `d` with dotted keys set: {"optim.lr": 0.01}."""
    out = json.loads(json.dumps(d))
    for dotted, value in overrides.items():
        node = out
        *parents, leaf = dotted.split(".")
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise KeyError(f"override {dotted!r}: {p!r} is not a config section "
                               f"(sections: model, head, data, optim, head.extra)")
            node = node[p]
        node[leaf] = value
    return out


def validate(cfg: TrainConfig) -> None:
    """Check the choices and sizes; each error names the field and what to use instead."""
    checks = [
        ("objective", cfg.objective, OBJECTIVES), ("data.source", cfg.data.source, SOURCES),
        ("data.sampler", cfg.data.sampler, SAMPLERS), ("optim.name", cfg.optim.name, OPTIMIZERS),
        ("optim.schedule", cfg.optim.schedule, SCHEDULES), ("amp", cfg.amp, AMP_MODES),
    ]
    for name, value, choices in checks:
        if value not in choices:
            raise ValueError(f"config {name}={value!r} is not one of {', '.join(choices)}")
    if cfg.teacher not in TEACHERS:
        raise ValueError(f"config teacher={cfg.teacher!r}: use '' (none) or 'dlib'")
    if cfg.batch_size < 2:
        raise ValueError(f"config batch_size={cfg.batch_size}: use at least 2")
    if cfg.objective == "triplet" and cfg.data.sampler != "pk":
        raise ValueError("objective='triplet' needs data.sampler='pk' (P identities x K images"
                         " per batch, so every anchor has a positive); set data.sampler=pk")
    if cfg.objective == "siamese" and cfg.data.sampler != "pairs":
        raise ValueError("objective='siamese' needs data.sampler='pairs'; set data.sampler=pairs")
    if cfg.data.sampler == "pairs" and cfg.objective != "siamese":
        raise ValueError("data.sampler='pairs' yields image pairs: use it with objective=siamese")
    if cfg.data.sampler == "pk" and cfg.data.P * cfg.data.K != cfg.batch_size:
        raise ValueError(f"data.sampler='pk': batch_size={cfg.batch_size} must equal "
                         f"data.P * data.K = {cfg.data.P} * {cfg.data.K}; change one of them")
    if cfg.epochs <= 0 and cfg.max_steps <= 0:
        raise ValueError("config epochs and max_steps are both <= 0: set one of them")
    if cfg.max_minutes < 0:
        raise ValueError(f"config max_minutes={cfg.max_minutes}: use 0 (no limit) or a positive time")
    for name in ("scale_jitter", "shift_jitter", "color_jitter"):
        if not 0.0 <= getattr(cfg.data, name) < 1.0:
            raise ValueError(f"config data.{name}={getattr(cfg.data, name)} must be in [0, 1)")
    if cfg.teacher and cfg.teacher_checkpoint:
        raise ValueError("config teacher and teacher_checkpoint are both set: choose one teacher")
