"""The lessons' standard people: whom a lesson trains on, and whom it tests on.

Every lesson trains on the profile's `num_identities` synthetic people and verifies
`test_identities` *other* people (open set): `lesson_faces(profile, seed)` builds the two sets
with the sizes of the `Profile`; `train_people` and `test_people` build one side each, with a
lesson's own number of photos or factors (lesson 03 tests on `images_per_identity` photos a
person, lesson 06 passes its ages; lesson 07 clusters a second group of new people, lesson 11
scores its search on a third). Lessons 01 and 02 also hold back photos of the training people
(`closed_set_faces`, `split_by_photo`). Taught in lesson 01 (training people, held-out photos,
new people); every lesson builds its sets with them.

The real faces follow the same rule: `lesson_lfw(profile)` gives every lesson's "Real faces"
section the same LFW DevTrain photos to train on and DevTest pairs of other people to test on,
at the profile's `real_size`; `lesson_lag(profile, seed)` gives lesson 06 LAG's train and test
people, with LFW's people kept out of its test. (The gpu profile's web-face sets come from
`facecourse.train.webface.lesson_webface`: they are found through the training recipes.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import torch

from .dataset import FaceDataset
from .lfw import LFW
from .pairs import Pairs
from .synthetic import FactorRanges, SyntheticFaces

if TYPE_CHECKING:
    from .lag import LAG

__all__ = ["TEST_FIRST_IDENTITY", "lesson_faces", "train_people", "test_people", "closed_set_faces",
           "split_by_photo", "LessonLFW", "lesson_lfw", "LessonLAG", "lesson_lag", "resize_uint8"]

# Why 100,000: a synthetic person is a pure function of (seed, identity index), and the training
# people are indices 0 .. num_identities - 1 (4,000 in the gpu profile). People from index
# 100,000 on therefore share no face with any profile's training set, whatever the seed: the
# test is open-set by construction. Group g of new people starts at g * 100,000 (group 1: every
# lesson's test people; groups 2 and 3: lesson 07's faces to cluster, lesson 11's third set and
# its validation people), so groups never overlap either.
TEST_FIRST_IDENTITY = 100_000


def train_people(profile, seed: int, images: int | None = None,
                 factors: FactorRanges | dict | None = None) -> SyntheticFaces:
    """The profile's `num_identities` training people, `images` photos each (default
    `images_per_identity`), at its `image_size` and `difficulty`."""
    return SyntheticFaces(profile.num_identities, images or profile.images_per_identity,
                          profile.image_size, difficulty=profile.difficulty, factors=factors,
                          seed=seed)


def test_people(profile, seed: int, images: int = 10, identities: int | None = None,
                group: int = 1, factors: FactorRanges | dict | None = None) -> SyntheticFaces:
    """`identities` new people (default the profile's `test_identities`), `images` photos each,
    none of them a training person (see `TEST_FIRST_IDENTITY`).

    group: which disjoint group of new people: 1 (every lesson's test people), 2, 3, ...
        (further sets: a set to cluster, validation people, a third set).
    """
    if group < 1:
        raise ValueError(f"test_people: group must be 1 or more (group 0 would be the training "
                         f"people), got {group}")
    return SyntheticFaces(identities or profile.test_identities, images, profile.image_size,
                          difficulty=profile.difficulty, factors=factors, seed=seed,
                          first_identity=group * TEST_FIRST_IDENTITY)


test_people.__test__ = False  # a data set, not a test: pytest must not collect it where imported


def lesson_faces(profile, seed: int, test_images: int = 10,
                 factors: FactorRanges | dict | None = None) -> tuple[SyntheticFaces, SyntheticFaces]:
    """``(train, test)``: `train_people` and `test_people` (`test_images` photos a person),
    both with `factors` when given."""
    return (train_people(profile, seed, factors=factors),
            test_people(profile, seed, test_images, factors=factors))


def closed_set_faces(profile, seed: int, held_out: int = 2
                     ) -> tuple[FaceDataset, FaceDataset, FaceDataset]:
    """``(train, held_out, test)`` of lessons 01 and 02: `images_per_identity` photos of each
    training person, `held_out` *other* photos of the same people (the closed-set test: the
    classifier's own task), and `test_people` (the open-set test)."""
    faces = train_people(profile, seed, images=profile.images_per_identity + held_out)
    train, held = split_by_photo(faces, profile.images_per_identity)
    return train, held, test_people(profile, seed)


def split_by_photo(faces: FaceDataset, train_images: int) -> tuple[FaceDataset, FaceDataset]:
    """``(train, held_out)``: photos 0 .. train_images - 1 of every person, and the rest (the
    same people's other photos: a closed-set test, lessons 01 and 02). Needs
    ``meta["image_index"]`` (every `SyntheticFaces` has it)."""
    index = (getattr(faces, "meta", None) or {}).get("image_index")
    if index is None:
        raise ValueError("split_by_photo: the data set has no meta['image_index'] (which photo of "
                         "its person each image is); SyntheticFaces sets it")
    seen = np.asarray(index) < train_images
    return faces.subset(np.flatnonzero(seen)), faces.subset(np.flatnonzero(~seen))


@dataclass
class LessonLFW:
    """LFW as every lesson's "Real faces" section trains and tests on it (see `lesson_lfw`)."""

    lfw: LFW
    train: FaceDataset   # photos of DevTrain people at `size` px
    held_out: FaceDataset  # other photos of train's people (those with more than `cap`), train's labels
    test: FaceDataset    # the photos the DevTest pairs use (other people), at `size` px
    pairs: Pairs         # DevTest pairs as indices into `test`, dealt into 10 folds
    size: int            # the side of `train` and `test` (the profile's `real_size`)
    min_images: int      # a DevTrain person needs this many photos to be in `train` ...
    cap: int             # ... and gives at most this many
    train_rows: np.ndarray  # (len(train),) int64: lfw.dataset.images[train_rows] is train before resizing
    test_rows: np.ndarray   # (len(test),) int64: the same for test (a dlib teacher embeds these rows)

    def test_people(self, min_images: int = 4, people: int | None = None, cap: int | None = None,
                    seed: int = 0) -> FaceDataset:
        """Photos of DevTest people (no lesson trains on them) with at least `min_images` photos:
        `people` of them drawn with `seed` (None: all), at most `cap` photos each, at `size` px.
        The set lesson 07 clusters."""
        names, labels = self.lfw.dataset.identity_names, self.lfw.dataset.labels.numpy()
        counts = np.bincount(labels, minlength=len(names))
        index = {n: i for i, n in enumerate(names)}
        ids = [index[n] for n in self.lfw.devtest_identities if n in index and counts[index[n]] >= min_images]
        if people is not None and people < len(ids):
            ids = np.sort(np.random.default_rng(seed).choice(ids, people, replace=False))
        rows = np.sort(np.concatenate([np.flatnonzero(labels == c)[:cap] for c in ids]))
        out = self.lfw.dataset.subset(rows)
        out.images = resize_uint8(out.images, self.size)
        return out

    def __str__(self) -> str:
        return (f"LFW DevTrain: {len(self.train)} photos of {self.train.num_classes} people "
                f"(each with >= {self.min_images} photos, at most {self.cap} used), {self.size} px; "
                f"DevTest: {len(self.pairs)} pairs ({int(self.pairs.issame.sum())} matched) "
                f"of {self.test.num_classes} other people")


def _load_or_say(name: str, profile, quiet: bool):
    """Real set `name` prepared for `profile` (at 64 px, or 112 for a real_size above 64), or
    None after saying how to get it (a lesson's real-face section is then skipped)."""
    from .real import load_real, prepare_command, real_ready, real_root
    prepared = 112 if profile.real_size > 64 else 64
    if real_ready(name, profile, prepared):
        return load_real(name, profile, prepared)
    if not quiet:
        print(f"{name.upper()} is not prepared for the {profile.name} profile ({real_root(name, profile)}), "
              f"so this section is skipped. Get it as datasets/{name}.md says (or put it in "
              f"FACECOURSE_DATA), then run once:\n  {prepare_command(profile)}")
    return None


def resize_uint8(images, size: int):
    """uint8 images (N, 3, S, S) at `size` px (area averaging; unchanged when S == size)."""
    import torch.nn.functional as F
    images = torch.as_tensor(images)
    if images.shape[-1] == size:
        return images
    return F.interpolate(images.float(), size=size, mode="area").round().clamp(0, 255).to(torch.uint8)


def lesson_lfw(profile, quiet: bool = False) -> LessonLFW | None:
    """LFW's View 1 as the lessons use it, or None (after printing how to get it) when LFW is
    not prepared for `profile` (`real_ready`; `make course` and `make test` prepare it).

    train: every DevTrain person with at least `profile.real_min_photos` photos, the first
    `profile.real_photos` of each, at `profile.real_size` px (laptop: 3,302 photos of 430
    people at 64 px; smoke: the prepared slice's 60 people). held_out: up to 4 further photos
    of each training person who has more (laptop: 60 people, 220 photos), labelled as in
    train: the closed-set test. test/pairs: every DevTest pair of
    the prepared set (1,000, or the smoke slice's 137), folds 0..9 in turn (View 1 lists its
    matched pairs first). DevTrain and DevTest share no person.
    """
    lfw = _load_or_say("lfw", profile, quiet)
    if lfw is None:
        return None
    min_images, cap = profile.real_min_photos, profile.real_photos
    dev = lfw.devtrain()
    labels = dev.labels.numpy()
    people = np.flatnonzero(np.bincount(labels, minlength=dev.num_classes) >= min_images)
    rows = np.sort(np.concatenate([np.flatnonzero(labels == c)[:cap] for c in people]))
    train = dev.subset(rows)  # = dev.most_photographed(None, cap, min_images)
    train.images = resize_uint8(train.images, profile.real_size)
    held_out = _held_out(dev, people, cap, HELD_OUT)
    held_out.images = resize_uint8(held_out.images, profile.real_size)
    p = lfw.dev_test
    used, inverse = np.unique(np.r_[p.a, p.b], return_inverse=True)
    test = lfw.dataset.subset(used)
    test.images = resize_uint8(test.images, profile.real_size)
    pairs = Pairs(inverse[:len(p)], inverse[len(p):], p.issame, np.arange(len(p)) % 10)
    return LessonLFW(lfw, train, held_out, test, pairs, profile.real_size, min_images, cap,
                     lfw.devtrain_indices()[rows], used)


HELD_OUT = 4  # held-out photos a training person gives at most (lesson 01's closed-set test)


def _held_out(dev: FaceDataset, people: np.ndarray, cap: int, per_person: int) -> FaceDataset:
    """Photos cap+1 .. cap+per_person of each of `people` (the training people's ids in `dev`,
    sorted), labelled as in the training set (`dev.subset` numbers its people in id order)."""
    labels = dev.labels.numpy()
    rows = np.sort(np.concatenate([np.flatnonzero(labels == c)[cap:cap + per_person] for c in people]))
    held = dev.subset(rows)
    held.labels = torch.as_tensor(np.searchsorted(people, labels[rows]), dtype=torch.int64)
    held.identity_names = [dev.identity_names[c] for c in people]
    return held


@dataclass
class LessonLAG:
    """LAG as lesson 06's "Table 1 on real cross-age faces" uses it (see `lesson_lag`)."""

    lag: "LAG"
    faces: FaceDataset       # every LAG image at `size` px; `meta["young"]`, `meta["age"]` 0 young / 1 adult
    train: FaceDataset       # the train people's images
    test: FaceDataset        # the test people's images
    train_people: list[str]  # never an LFW DevTest person
    test_people: list[str]   # never an LFW DevTrain person (stage 1 may have trained on them)
    size: int

    def train_outside_lfw(self) -> FaceDataset:
        """The train people's images less those of every LAG person who is an LFW person
        (DevTrain or DevTest): what a model may fine-tune on before it is measured on benchmarks
        of LFW's people (CALFW, lesson 06's web-face section)."""
        overlap = self.lag.lfw_overlap()
        in_lfw = {n.casefold() for n in overlap.devtrain + overlap.devtest}
        names = np.asarray(self.train.identity_names)[self.train.labels.numpy()]
        return self.train.subset(np.flatnonzero([n.casefold() not in in_lfw for n in names]))

    def __str__(self) -> str:
        young = int(np.asarray(self.train.meta["young"]).sum())
        return (f"LAG train: {len(self.train)} photos ({young} young) of {len(self.train_people)} "
                f"people; test: {len(self.test_people)} other people; {self.size} px")


def lesson_lag(profile, seed: int = 0, test_fraction: float = 0.5, quiet: bool = False) -> LessonLAG | None:
    """LAG split into train and test people (identity-disjoint, drawn with `seed`), or None
    (after printing how to get it) when LAG is not prepared.

    The split keeps LFW out of the test: a LAG person who is an LFW DevTrain person goes to
    train (a stage-1 model trained on LFW DevTrain has seen them), an LFW DevTest person goes
    to test (no image of theirs trains a model whose LFW DevTest figure is reported). Images
    at `profile.real_size` px."""
    lag = _load_or_say("lag", profile, quiet)
    if lag is None:
        return None
    train_people, test_people = lag.split(test_fraction, seed, lfw=lag.lfw_overlap())
    faces = lag.dataset.subset(np.arange(len(lag.dataset)))
    faces.images = resize_uint8(faces.images, profile.real_size)
    faces.meta["age"] = (~np.asarray(faces.meta["young"]).astype(bool)).astype(np.float32)
    names = np.asarray(faces.identity_names)[faces.labels.numpy()]
    train = faces.subset(np.flatnonzero(np.isin(names, train_people)))
    test = faces.subset(np.flatnonzero(np.isin(names, test_people)))
    return LessonLAG(lag, faces, train, test, train_people, test_people, profile.real_size)
