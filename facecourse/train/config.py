"""Training configuration: one `@dataclass` per component, one `TrainConfig` holding them.

A run's config is saved as `config.json` (`dataclasses.asdict`) in its `out_dir` and inside
every checkpoint, so a run can be rebuilt, resumed or exported from its files alone.

Every lesson that trains (01-03, 05, 06, 08-11) gets one of these from `lesson_config`
(train/recipes.py).
"""
from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

OBJECTIVES = ("classification", "triplet", "siamese", "distill")  # = objectives.list_objectives()
SOURCES = ("synthetic", "lfw", "folder", "rec")
TEACHERS = ("", "dlib")
UNLABELED = ("", "lag-devtrain")  # distill.unlabeled: extra faces for the dlib teacher
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
    extra: dict = field(default_factory=dict)  # any other keyword of the backbone's factory:
    # convnet {"channels": [64, 128, 256]}, iresnet18 {"blocks": [1, 2, 2, 1]}
    sync_bn: bool = False  # DDP: batch-norm statistics over the global batch (SyncBatchNorm on
    # CUDA, facecourse.train.sync_bn on CPU/gloo); False = per-process statistics, as in
    # torch's DDP by default (so 2 processes and 1 process give different weights)


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
    partial_fc: float = 0.0  # > 0: PartialFC (arXiv:2203.15565) with this sample rate: the class
    # centres sharded over the DDP processes, each step a sample of them (1.0 = all); 0 = the
    # plain head. For many classes (MS1M: 85 k); the head must keep its margin in margin_logits

    def kwargs(self) -> dict:
        """The keywords for `create_head`: only the fields that were set."""
        names = {"s": "s", "m": "m", "m1": "m1", "m2": "m2", "m3": "m3", "K": "k"}
        kw = {key: getattr(self, n) for n, key in names.items() if getattr(self, n) is not None}
        return {**kw, **self.extra}


@dataclass
class DataConfig:
    source: str = "synthetic"  # synthetic | lfw | folder | rec (used when fit() gets no data set)
    root: str = ""  # lfw: a prepared LFW folder ("" = load_lfw default); folder: a path; rec: an
    # insightface .rec (its .idx beside it) or a folder holding train.rec ("" = the first of
    # $FACECOURSE_DATA/{faces_webface_112x112,faces_emore,ms1m-retinaface-t1}/train.rec)
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
    gray_jitter: float = 0.0  # augment: the chance that an image turns greyscale (LAG's young photos
    # are 24 % black-and-white, LFW's 0.4 %: bench/results/gray_share.json)
    on_error: str = "raise"  # folder: "raise" stops at an unreadable image, "skip" leaves it out
    hold_out: str = ""  # lfw: "matched" trains without the photos of View 1's DevTrain matched
    # pairs ("pairs": of all its pairs), so the threshold chosen on them is chosen on unseen
    # photos; "people" without the people all of whose photos are in matched pairs, whose pairs
    # (and the mismatched ones) then choose it (LFW.threshold_pairs); "" = every DevTrain photo


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
class ClassificationConfig:  # objective "classification" (train/objectives/classification.py)
    center_loss_weight: float = 0.0  # lambda of the center loss (Wen et al., ECCV 2016); 0 = off
    center_alpha: float = 0.5  # center loss: the centers' update rate alpha


@dataclass
class TripletConfig:  # objective "triplet" (train/objectives/triplet.py)
    margin: float = 0.2  # margin alpha of FaceNet (arXiv:1503.03832)
    mining: str = "semi_hard"  # semi_hard | batch_hard | batch_all


@dataclass
class SiameseConfig:  # objective "siamese" (train/objectives/siamese.py)
    margin: float | None = None  # contrastive margin; None = ContrastiveLoss default
    form: str | None = None  # hadsell | report; None = the default
    normalize: bool = False  # distances between L2-normalized embeddings
    ce_weight: float = 0.0  # weight of the head's cross-entropy (DeepID2; the stage-1 head)


@dataclass
class DistillConfig:  # a teacher's term, with any objective; alone with "distill"
    weight: float = 0.0  # weight of 1 - cos(student, teacher) (train/objectives/distill.py)
    relation_weight: float = 0.0  # weight of the in-batch relation term: mean over pairs i != j
    # of (cos(s_i, s_j) - cos(t_i, t_j))^2 (the batch's similarity matrix, student vs teacher)
    teacher: str = ""  # CLI: a pretrained teacher by name: "dlib" = dlib's ResNet (data.source
    # lfw; its 128-d embeddings of the training images are computed once and cached)
    teacher_checkpoint: str = ""  # CLI: a checkpoint of fit() whose backbone is the teacher
    unlabeled: str = ""  # teacher="dlib": more faces the teacher alone labels. "lag-devtrain": the
    # LAG-dev photos (young and adult) of the LFW DevTrain people (468 of 88 people): no LAG
    # test person (those in no LFW list) and no DevTest person is among them


@dataclass
class ValConfig:  # verification on insightface .bin sets during training (train/validation.py)
    every: int = 0  # evaluate every N steps (a multiple of log_every) and at the end; 0 = never
    bins: list = field(default_factory=lambda: ["lfw", "cfp_fp", "agedb_30", "calfw"])  # <name>.bin
    root: str = ""  # where the .bin files are ("" = beside data.root's .rec, then $FACECOURSE_DATA)
    batch_size: int = 256  # embedding batch


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    objective: str = "classification"  # a name from train.objectives.list_objectives():
    # classification | triplet | siamese | distill (the teacher's term alone); each reads its
    # own section below
    classification: ClassificationConfig = field(default_factory=ClassificationConfig)
    triplet: TripletConfig = field(default_factory=TripletConfig)
    siamese: SiameseConfig = field(default_factory=SiameseConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    val: ValConfig = field(default_factory=ValConfig)
    epochs: float = 10  # passes over the data (fractions allowed)
    max_steps: int = 0  # stop after this many steps; 0 = epochs * steps per epoch
    max_minutes: float = 0.0  # also stop (and checkpoint) at the first log step after this many
    # minutes of training; 0 = no limit. A guard: the lr schedule still spans epochs/max_steps
    fit_to_time: bool = False  # with max_minutes: at each log step, shorten the lr schedule to
    # the steps that fit in what is left of max_minutes at the speed measured so far, so a slow
    # machine still finishes the decay (never longer than epochs/max_steps; the minutes then
    # add up over resumes, and the step count depends on the machine's speed)
    batch_size: int = 128  # GLOBAL batch (split evenly over the DDP processes)
    amp: str = "auto"  # auto (fp16 + GradScaler on CUDA, off on CPU) | off | bf16 | fp16
    channels_last: Any = "auto"  # True | False | "auto" (= True: faster on CUDA and on CPU, see bench)
    seed: int = 0  # model init, data order and augmentation all derive from it
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...
    out_dir: str | None = None  # where checkpoints and logs go; None = write nothing
    checkpoint_every: int = 0  # also checkpoint every N steps; 0 = only at the end
    resume: Any = False  # True = continue out_dir/checkpoint.pt (it must exist); "auto" = continue
    # it if present, else start there; or a checkpoint path. Settings that decide the weights
    # must match the checkpoint's (see RESUMABLE for the ones that may change)
    overwrite: bool = False  # replace a run already in out_dir (without it, fit refuses)
    log_every: int = 50  # steps between history rows (the only steps that sync the device)
    progress: bool = True  # a tqdm bar on rank 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build a config from a (nested) dict, e.g. a `config.json`; unknown keys fail.
        The flat objective fields of configs written before the per-objective sections
        (`triplet_margin`, `distill_weight`, ...) are read into their sections."""
        return _from_dict(cls, _upgrade(d), "")


# flat fields of TrainConfig before the per-objective sections -> their place now
LEGACY_KEYS = {
    "center_loss_weight": "classification.center_loss_weight",
    "center_alpha": "classification.center_alpha",
    "triplet_margin": "triplet.margin", "mining": "triplet.mining",
    "contrastive_margin": "siamese.margin", "contrastive_form": "siamese.form",
    "contrastive_normalize": "siamese.normalize", "ce_weight": "siamese.ce_weight",
    "distill_weight": "distill.weight", "teacher": "distill.teacher",
    "teacher_checkpoint": "distill.teacher_checkpoint",
}


def _upgrade(d):
    """A config dict with LEGACY_KEYS moved into their sections (old runs and checkpoints)."""
    if not isinstance(d, dict) or not any(k in d for k in LEGACY_KEYS):
        return d
    d = dict(d)
    for old, new in LEGACY_KEYS.items():
        if old in d:
            section, leaf = new.split(".")
            d[section] = {**d.get(section, {}), leaf: d.pop(old)}
    return d


def _from_dict(klass, d: dict, where: str):
    if not isinstance(d, dict):
        raise TypeError(f"config {where or 'TrainConfig'}: expected a dict of fields, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(klass)}
    hints = _hints(klass)
    kwargs = {}
    for key, value in d.items():
        if key not in fields:
            raise KeyError(
                f"unknown config key {(where + '.' if where else '') + key!r}; valid keys of "
                f"{klass.__name__}: {', '.join(fields)}"
            )
        sub = hints[key] if dataclasses.is_dataclass(hints[key]) else None  # a section
        if sub is not None:
            value = value if isinstance(value, sub) else _from_dict(sub, value, key)
        else:
            value = coerce(value, hints[key], (where + "." if where else "") + key)
        kwargs[key] = value
    return klass(**kwargs)


def _hints(klass) -> dict:
    """The fields' types (real types, not the strings `from __future__ import annotations` leaves)."""
    return typing.get_type_hints(klass)


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def coerce(value, kind, name: str):
    """`value` as the field type `kind`, or a ValueError naming the field and the type wanted.

    `--set` values arrive parsed as JSON or as strings: "no" for a bool becomes False, "3" for
    an int becomes 3, 12.5 for an int or "0.1x" for a float are refused."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):  # Optional[X] = X | None
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        kind = next(a for a in args if a is not type(None))
    if kind is Any:
        return value
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, (str, int)) and str(value).lower() in _TRUE + _FALSE:
                return str(value).lower() in _TRUE
        elif kind is int:
            if isinstance(value, str):
                value = json.loads(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif kind is float:
            if isinstance(value, str):
                value = float(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value  # an int is a float here (PEP 484), and keeps run keys stable
            if isinstance(value, float) and math.isfinite(value):
                return value
        elif kind is str:
            if isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)  # --set out_dir=2024 parses as a number
        elif kind in (tuple, list):
            if isinstance(value, (list, tuple)):
                return kind(value)
        elif kind is dict:
            if isinstance(value, dict):
                return value
        else:
            return value
    except (ValueError, TypeError, json.JSONDecodeError):
        pass
    wanted = {bool: "true or false", int: "a whole number", float: "a finite number",
              str: "a string", tuple: "a list such as [0.9, 0.999]", list: "a list such as [10, 20]",
              dict: "a dict such as {}"}[kind]
    optional = " or null" if origin in (typing.Union, types.UnionType) else ""
    raise ValueError(f"config {name}={value!r}: expected {wanted}{optional} "
                     f"({kind.__name__}{' | None' if optional else ''})")


def sections() -> dict:
    """{name: dataclass} of TrainConfig's sections, read off its field types (no list to keep)."""
    return {name: kind for name, kind in _hints(TrainConfig).items() if dataclasses.is_dataclass(kind)}


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
        *parents, leaf = LEGACY_KEYS.get(dotted, dotted).split(".")
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise KeyError(f"override {dotted!r}: {p!r} is not a config section "
                               f"(sections: {', '.join(sections())}, head.extra, model.extra)")
            node = node[p]
        node[leaf] = value
    return out


def check_types(cfg: TrainConfig) -> None:
    """Every field holds its declared type (configs built in Python skip `from_dict`)."""
    nested = sections()
    for section, klass in [("", TrainConfig), *nested.items()]:
        obj = getattr(cfg, section) if section else cfg
        if not isinstance(obj, klass):
            raise ValueError(f"config {section}: expected a {klass.__name__}, got {type(obj).__name__}")
        for name, kind in _hints(klass).items():
            if section == "" and name in nested:
                continue
            value = getattr(obj, name)
            got = coerce(value, kind, f"{section + '.' if section else ''}{name}")
            if type(got) is not type(value) and not (type(got) is float and type(value) is int):
                raise ValueError(f"config {section + '.' if section else ''}{name}={value!r}: "
                                 f"expected {type(got).__name__}, got {type(value).__name__}")


# (field, test, what to use): values that train with rc 0 but mean nothing, or crash later
_RANGES = [
    ("optim.lr", lambda v: v > 0, "a learning rate > 0"),
    ("optim.head_lr", lambda v: v is None or v > 0, "null (= lr) or a learning rate > 0"),
    ("optim.weight_decay", lambda v: v >= 0, "0 (off) or a positive decay"),
    ("optim.head_weight_decay", lambda v: v is None or v >= 0, "null (= weight_decay) or >= 0"),
    ("optim.momentum", lambda v: 0 <= v < 1, "a momentum in [0, 1), e.g. 0.9"),
    ("optim.betas", lambda v: len(v) == 2 and all(0 <= b < 1 for b in v), "two values in [0, 1)"),
    ("optim.warmup_epochs", lambda v: v >= 0, "0 (no warmup) or more epochs"),
    ("optim.warmup_steps", lambda v: v >= 0, "0 (no warmup) or more steps"),
    ("optim.gamma", lambda v: v > 0, "a factor > 0, e.g. 0.1"),
    ("optim.min_lr_ratio", lambda v: 0 <= v <= 1, "a fraction in [0, 1]"),
    ("optim.clip_grad_norm", lambda v: v >= 0, "0 (off) or a positive norm"),
    ("model.embedding_dim", lambda v: v >= 1, "at least 1, e.g. 512"),
    ("model.image_size", lambda v: v >= 8, "at least 8 pixels, e.g. 112"),
    ("model.width", lambda v: v > 0, "a positive channel multiplier, e.g. 1.0"),
    ("model.dropout", lambda v: 0 <= v < 1, "a probability in [0, 1)"),
    ("data.num_identities", lambda v: v >= 2, "at least 2 identities"),
    ("data.images_per_identity", lambda v: v >= 1, "at least 1 image"),
    ("data.difficulty", lambda v: 0 <= v <= 1, "a value in [0, 1]"),
    ("data.P", lambda v: v >= 1, "at least 1 identity a batch"),
    ("data.K", lambda v: v >= 1, "at least 1 image an identity"),
    ("data.positive_fraction", lambda v: 0 <= v <= 1, "a fraction in [0, 1]"),
    ("data.min_age_gap", lambda v: v >= 0, "a gap >= 0"),
    ("data.workers", lambda v: v >= 0, "0 (in-memory batches) or more DataLoader workers"),
    ("classification.center_loss_weight", lambda v: v >= 0, "0 (off) or a positive lambda"),
    ("classification.center_alpha", lambda v: 0 < v <= 1, "a rate in (0, 1], e.g. 0.5"),
    ("triplet.margin", lambda v: v >= 0, "a margin >= 0, e.g. 0.2"),
    ("siamese.margin", lambda v: v is None or v > 0, "null (default) or a margin > 0"),
    ("siamese.ce_weight", lambda v: v >= 0, "0 (off) or a positive weight"),
    ("distill.weight", lambda v: v >= 0, "0 (off) or a positive weight"),
    ("distill.relation_weight", lambda v: v >= 0, "0 (off) or a positive weight"),
    ("epochs", lambda v: v >= 0, "a number of epochs >= 0 (fractions allowed)"),
    ("max_steps", lambda v: v >= 0, "0 (= epochs decide) or a positive number of steps"),
    ("max_minutes", lambda v: v >= 0, "0 (no limit) or a positive time"),
    ("checkpoint_every", lambda v: v >= 0, "0 (only at the end) or a positive number of steps"),
    ("log_every", lambda v: v >= 1, "at least 1 step between history rows, e.g. 50"),
    ("head.partial_fc", lambda v: 0 <= v <= 1, "0 (the plain head) or a sample rate in (0, 1]"),
    ("val.every", lambda v: v >= 0, "0 (no validation) or a number of steps, e.g. 2000"),
    ("val.batch_size", lambda v: v >= 1, "a positive batch, e.g. 256"),
]


def _get(cfg, dotted: str):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def validate(cfg: TrainConfig) -> None:
    """Check the types, choices and sizes; each error names the field and what to use instead."""
    check_types(cfg)
    for name, ok, use in _RANGES:
        if not ok(_get(cfg, name)):
            raise ValueError(f"config {name}={_get(cfg, name)!r}: use {use}")
    checks = [
        ("data.source", cfg.data.source, SOURCES),
        ("data.sampler", cfg.data.sampler, SAMPLERS), ("optim.name", cfg.optim.name, OPTIMIZERS),
        ("optim.schedule", cfg.optim.schedule, SCHEDULES), ("amp", cfg.amp, AMP_MODES),
    ]
    for name, value, choices in checks:
        if value not in choices:
            raise ValueError(f"config {name}={value!r} is not one of {', '.join(choices)}")
    from facecourse.data.lfw import HOLD_OUT
    if cfg.data.hold_out not in HOLD_OUT:
        raise ValueError(f"config data.hold_out={cfg.data.hold_out!r}: use '' (train on every "
                         "DevTrain photo), 'matched' or 'pairs' (hold out the photos of the "
                         "DevTrain matched pairs, or of all its pairs) or 'people' (hold out the "
                         "DevTrain people whose every photo is in a matched pair)")
    if cfg.data.hold_out and cfg.data.source != "lfw":
        raise ValueError(f"config data.hold_out={cfg.data.hold_out!r} is for data.source='lfw' "
                         f"(View 1's DevTrain pairs), not {cfg.data.source!r}")
    if cfg.data.on_error not in ("raise", "skip"):
        raise ValueError(f"config data.on_error={cfg.data.on_error!r}: use 'raise' or 'skip'")
    if cfg.channels_last not in (True, False, "auto"):
        raise ValueError(f"config channels_last={cfg.channels_last!r}: use true, false or 'auto'")
    if cfg.distill.unlabeled not in UNLABELED:
        raise ValueError(f"config distill.unlabeled={cfg.distill.unlabeled!r}: use '' (none) or "
                         "'lag-devtrain' (the LAG-dev photos of the LFW DevTrain people)")
    if cfg.distill.unlabeled and cfg.distill.teacher != "dlib":
        raise ValueError(f"config distill.unlabeled={cfg.distill.unlabeled!r} needs "
                         "distill.teacher='dlib' (the teacher labels those faces)")
    if cfg.distill.teacher not in TEACHERS:
        raise ValueError(f"config distill.teacher={cfg.distill.teacher!r}: use '' (none) or 'dlib'")
    if cfg.batch_size < 2:
        raise ValueError(f"config batch_size={cfg.batch_size}: use at least 2")
    from .objectives import objective_class
    objective = objective_class(cfg.objective)
    objective.check(cfg)
    if cfg.data.sampler == "pairs" and not objective.pairs:
        raise ValueError("data.sampler='pairs' yields image pairs: use it with objective=siamese")
    if cfg.data.sampler == "pk" and cfg.data.P * cfg.data.K != cfg.batch_size:
        raise ValueError(f"data.sampler='pk': batch_size={cfg.batch_size} must equal "
                         f"data.P * data.K = {cfg.data.P} * {cfg.data.K}; change one of them")
    if cfg.epochs <= 0 and cfg.max_steps <= 0:
        raise ValueError("config epochs and max_steps are both <= 0: set one of them")
    for name in ("scale_jitter", "shift_jitter", "color_jitter", "gray_jitter"):
        if not 0.0 <= getattr(cfg.data, name) < 1.0:
            raise ValueError(f"config data.{name}={getattr(cfg.data, name)} must be in [0, 1)")
    if cfg.val.every and cfg.val.every % cfg.log_every:
        raise ValueError(f"config val.every={cfg.val.every} must be a multiple of log_every="
                         f"{cfg.log_every} (the figures join the history row of that step)")
    if cfg.head.partial_fc:
        if not objective.uses_head(cfg) or cfg.objective != "classification":
            raise ValueError("config head.partial_fc is a classification head: use it with "
                             "objective=classification")
        from facecourse.losses.partial_fc import partial_fc_refusal
        refusal = partial_fc_refusal(cfg.head.name)
        if refusal is not None:
            raise ValueError(f"config head.partial_fc with head.name={cfg.head.name!r}: {refusal}")
    if cfg.distill.teacher and cfg.distill.teacher_checkpoint:
        raise ValueError("config distill.teacher and distill.teacher_checkpoint are both set: "
                         "choose one teacher")


# Settings a resumed run may change (they decide how long and how it reports, not the weights
# so far); every other field must equal the checkpoint's, or the run would silently train
# like the old config while config.json claimed the new one.
RESUMABLE = ("epochs", "max_steps", "max_minutes", "fit_to_time", "log_every", "checkpoint_every", "progress",
             "device", "out_dir", "resume", "overwrite", "data.workers", "val.every", "val.bins",
             "val.root", "val.batch_size")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "extra":
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def resume_conflicts(saved: dict, cfg: TrainConfig) -> list[str]:
    """'optim.lr: 0.05 in the checkpoint, 1000000.0 now' for each setting that may not change."""
    old = _flat(TrainConfig.from_dict(saved).to_dict())  # the same types on both sides
    new = _flat(cfg.to_dict())
    return [f"{k}: {old.get(k)!r} in the checkpoint, {new.get(k)!r} now"
            for k in sorted(set(old) | set(new))
            if k not in RESUMABLE and old.get(k) != new.get(k)]
