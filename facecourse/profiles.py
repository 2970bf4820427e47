"""Run profiles: one name in a notebook's `parameters` cell -> every size the lesson uses.

Three profiles, chosen so the same notebook serves CI, a student's laptop and a GPU box:

- ``smoke``  — proves the notebook runs end to end; the whole course in ~10 min of CI on 2 cores.
  Claims are checked loosely (a lesson may only check the direction of an effect).
- ``laptop`` — the course as a student runs it: 32x32 faces, a small plain CNN (MobileFaceNet is
  3-5x slower per image on a CPU, see bench/results/train.json), 24 epochs of 300 identities, the
  whole course in ≲25 min on 2 CPU cores. Every lesson's claim must hold here as stated.
  Why these sizes: margin heads need ~2,000 SGD steps on this data to pull ahead of softmax
  (bench/results/calibration.json); at 32 px the CNN does ~3,000 img/s, so one run is ~30 s.
- ``gpu``    — real training: 112x112, full-width backbones, AMP, picks CUDA when present.

The "Real faces" sections of the lessons train on LFW DevTrain people and test on LFW DevTest
pairs and LAG (`facecourse.data.lesson_lfw`, `lesson_lag`): ``real_size`` is their input side
(smoke 32, laptop 64, gpu 112 px), and every DevTrain person with ``real_min_photos`` photos
trains, with at most ``real_photos`` of them (laptop: 3,302 photos of 430 people; one run of the
small CNN on them at 64 px is ~45 s on 2 cores, DevTest AUC ~0.93 for ArcFace).

The "Web faces" sections of lessons 03, 04 and 06 train on a web-face set packed as insightface
packs it (CASIA-WebFace or MS1M, `train.rec` in FACECOURSE_DATA: datasets/insightface_rec.md)
with the ``casia-arcface`` recipe and report the ``.bin`` benchmarks beside it
(`facecourse.train.lesson_webface`). Only the ``gpu`` profile runs them (``webface`` = 1: the
ArcFace paper's whole schedule); elsewhere they are skipped unless ``FACECOURSE_WEBFACE`` asks
for a share of the schedule (the tests run them on a tiny `.rec` that way).

A notebook calls ``get_profile(PROFILE)`` once and reads sizes from it; a lesson that needs a
different size overrides one field (``get_profile(PROFILE, epochs=2)``) rather than inventing
its own numbers. ``FACECOURSE_PROFILE`` in the environment overrides the notebook's choice
(``pytest --nbval-lax`` uses it, since nbval cannot pass parameters).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

__all__ = ["Profile", "get_profile", "list_profiles"]


# Profile attributes that name a TrainConfig field (dotted): the profile sets the field, and
# `profile.epochs` reads it back, for the lessons' own loops and prose.
TRAIN_FIELDS = {
    "image_size": "model.image_size",   # square input side in pixels (synthetic faces are rendered at it)
    "backbone": "model.backbone",       # a name from facecourse.models.list_backbones()
    "width": "model.width",             # backbone channel multiplier
    "embedding_dim": "model.embedding_dim",
    "lr": "optim.lr",                   # base learning rate of the lessons' SGD recipe
    "epochs": "epochs",
    "batch_size": "batch_size",
    "device": "device",                 # "cpu" or "cuda" (get_profile resolves "auto")
    "amp": "amp",                       # "off" | "bf16" | "fp16" | "auto" (fit resolves "auto")
}


@dataclass(frozen=True)
class Profile:
    """What differs between smoke, laptop and gpu. The TrainConfig fields a profile sets live in
    `train` (dotted names, applied by `lesson_config`); ``profile.epochs`` etc. read them."""

    name: str
    num_identities: int      # training identities (synthetic)
    test_identities: int     # held-out identities for open-set evaluation
    images_per_identity: int
    difficulty: float        # synthetic-face difficulty knob in [0, 1]
    strict: bool             # True: lesson claims must hold as stated; False: loose checks
    real_size: int           # real faces (LFW, LAG): input side in pixels (prepared at 64 / 112)
    real_min_photos: int     # an LFW DevTrain person trains a lesson when they have this many photos
    real_photos: int         # ... and gives at most this many
    webface: float           # web-face sections (lessons 03, 04, 06): the share of casia-arcface's
    # schedule they train on a found train.rec (1 = the paper's 32k steps; 0 = skipped)
    train: dict = dataclasses.field(default_factory=dict)  # {"model.image_size": 32, "epochs": 24, ...}

    def __getattr__(self, name):  # only for names that are not fields: profile.epochs, ...
        if name in TRAIN_FIELDS:
            return self.__dict__["train"][TRAIN_FIELDS[name]]
        raise AttributeError(f"Profile has no field {name!r}")

    def asdict(self) -> dict:
        return dataclasses.asdict(self)


def _profile(**fields) -> dict:
    """A profile's table entry: TRAIN_FIELDS names go into `train`, the rest are Profile fields."""
    train = {TRAIN_FIELDS[k]: fields.pop(k) for k in list(fields) if k in TRAIN_FIELDS}
    return {**fields, "train": train}


_PROFILES: dict[str, dict] = {
    "smoke": _profile(
        image_size=32, num_identities=48, test_identities=24, images_per_identity=8,
        epochs=2, batch_size=64, backbone="convnet", width=0.5, embedding_dim=64,
        lr=0.1, difficulty=0.5, device="cpu", amp="off", strict=False,
        real_size=32, real_min_photos=4, real_photos=8, webface=0.0,
    ),
    "laptop": _profile(
        image_size=32, num_identities=300, test_identities=100, images_per_identity=16,
        epochs=24, batch_size=64, backbone="convnet", width=0.5, embedding_dim=128,
        lr=0.1, difficulty=0.5, device="cpu", amp="off", strict=True,
        real_size=64, real_min_photos=4, real_photos=16, webface=0.0,
    ),
    "gpu": _profile(
        image_size=112, num_identities=4000, test_identities=500, images_per_identity=40,
        epochs=20, batch_size=256, backbone="mobilefacenet", width=1.0, embedding_dim=512,
        lr=0.1, difficulty=0.5, device="auto", amp="auto", strict=True,
        real_size=112, real_min_photos=2, real_photos=40, webface=1.0,
    ),
}


def list_profiles() -> list[str]:
    return list(_PROFILES)


def get_profile(name: str = "laptop", **overrides) -> Profile:
    """Return the sizes for profile ``name``; keyword arguments override single fields.

    ``FACECOURSE_PROFILE`` in the environment, when set, replaces ``name``; ``FACECOURSE_WEBFACE``
    (a number) replaces the profile's ``webface`` share, below any keyword override (papermill
    cannot reach a profile field: ``FACECOURSE_WEBFACE=0.25 papermill ... -p PROFILE gpu`` runs
    the web-face sections on a quarter of the paper's schedule).
    """
    name = os.environ.get("FACECOURSE_PROFILE") or name
    share = os.environ.get("FACECOURSE_WEBFACE")
    if share and "webface" not in overrides:
        try:
            overrides = {**overrides, "webface": float(share)}
        except ValueError:
            raise ValueError(f"FACECOURSE_WEBFACE={share!r}: give the share of casia-arcface's "
                             "schedule as a number, e.g. 0.25 (0 skips the web-face sections)") from None
    if name not in _PROFILES:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {list_profiles()} "
            "(set PROFILE in the notebook's parameters cell, or papermill -p PROFILE smoke)"
        )
    fields = {**_PROFILES[name], "train": dict(_PROFILES[name]["train"])}
    known = {f.name for f in dataclasses.fields(Profile)} - {"name", "train"}
    unknown = set(overrides) - known - set(TRAIN_FIELDS)
    if unknown:
        raise TypeError(f"get_profile(): unknown field(s) {sorted(unknown)}; fields: "
                        f"{', '.join(sorted(known | set(TRAIN_FIELDS)))}")
    for key, value in overrides.items():
        if key in TRAIN_FIELDS:
            fields["train"][TRAIN_FIELDS[key]] = value
        else:
            fields[key] = value
    if not fields["webface"] >= 0:
        raise ValueError(f"profile {name!r}: webface={fields['webface']!r} must be >= 0 (the share of "
                         "casia-arcface's schedule; 0 skips the web-face sections)")
    from facecourse.train.distributed import resolve_device  # the one resolver, also fit's
    fields["train"]["device"] = resolve_device(fields["train"]["device"]).type  # "cuda" or "cpu"
    # amp "auto" stays "auto": fit resolves it (fp16 on CUDA, off on CPU), in one place
    return Profile(name=name, **fields)
