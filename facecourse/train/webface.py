"""The web-face sets of the lessons' "Web faces" sections (lessons 03, 04 and 06, gpu profile).

`lesson_webface(profile)` finds an insightface `train.rec` (CASIA-WebFace or MS1M) in
FACECOURSE_DATA and the `.bin` benchmarks beside it when the profile's `webface` share is above
0, and measures a backbone on them the way insightface reports them; `recipes.webface_config`
is the recipe the sections train with. It lives in `train`, not `data`, because it finds its
files through the training config (`build.find_rec`, `validation.find_bins`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facecourse.data.dataset import FaceDataset

__all__ = ["LessonWebFace", "lesson_webface"]


@dataclass
class LessonWebFace:
    """A web-face set as the lessons' "Web faces" sections use it (see `lesson_webface`)."""

    rec: Path                 # the training .rec (its .idx beside it)
    train: FaceDataset        # lazy: images decoded from `rec` when a batch asks for them
    bins: dict                # {name: (FaceDataset, Pairs)}: the insightface .bin sets found
    size: int                 # input side of the web-face configs (and of `bins`' images)
    share: float              # profile.webface: the share of casia-arcface's schedule

    def evaluate(self, backbone, batch_size: int = 256) -> dict:
        """{set name: 10-fold accuracy, "<name>_std": its std over the folds} on each `.bin` set
        (`validation.bin_accuracies`: as insightface reports them)."""
        from .validation import bin_accuracies
        out = {}
        for name, (acc, std) in bin_accuracies(backbone, self.bins, batch_size).items():
            out[name], out[f"{name}_std"] = acc, std
        return out

    def __str__(self) -> str:
        sets = ", ".join(f"{n} ({len(p.a):,} pairs)" for n, (_, p) in self.bins.items())
        return (f"web faces: {len(self.train):,} photos of {self.train.num_classes:,} people from "
                f"{self.rec}, {self.size} px, {self.share:g} of casia-arcface's schedule; "
                f"benchmarks: {sets}")


def lesson_webface(profile, quiet: bool = False) -> LessonWebFace | None:
    """The web-face training set and its `.bin` benchmarks for `profile`, or None (after saying
    why, unless `quiet`): when the profile's `webface` share is 0 (every profile but gpu, unless
    FACECOURSE_WEBFACE is set), when no `train.rec` is in FACECOURSE_DATA (`find_rec`: its
    faces_webface_112x112, faces_emore or ms1m-retinaface-t1 folder), or when no `.bin` set
    (lfw, cfp_fp, agedb_30, calfw) lies beside it or in FACECOURSE_DATA."""
    from facecourse.data import load_bin, load_rec

    from .build import find_rec
    from .config import DataConfig, ValConfig
    from .recipes import webface_config
    from .validation import find_bins

    def skip(why: str):
        if not quiet:
            print(f"Web faces: {why}, so this section is skipped.")
        return None

    if profile.webface <= 0:
        return skip(f"the {profile.name} profile trains no web-face model (webface=0; the gpu "
                    "profile does, and FACECOURSE_WEBFACE=<share of the schedule> asks any profile to)")
    try:
        rec = find_rec("")
    except FileNotFoundError as e:
        return skip(str(e))
    size = webface_config(profile).model.image_size
    val = ValConfig()
    found, places = find_bins(val, DataConfig(source="rec"))
    if not found:
        return skip(f"none of {', '.join(f'{n}.bin' for n in val.bins)} is in "
                    f"{', '.join(map(str, places))} (datasets/insightface_bin.md says where to get them)")
    bins = {name: load_bin(path, size) for name, path in found.items()}
    return LessonWebFace(rec, load_rec(rec, image_size=size), bins, size, float(profile.webface))
