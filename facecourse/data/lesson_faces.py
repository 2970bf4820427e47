"""The lessons' standard people: whom a lesson trains on, and whom it tests on.

Every lesson trains on the profile's `num_identities` synthetic people and verifies
`test_identities` *other* people (open set): `lesson_faces(profile, seed)` builds the two sets
with the sizes of the `Profile`; `train_people` and `test_people` build one side each, with a
lesson's own number of photos or factors (lesson 03 tests on `images_per_identity` photos a
person, lesson 06 passes its ages; lesson 07 clusters a second group of new people, lesson 11
scores its search on a third). Lessons 01 and 02 also hold back photos of the training people
(`closed_set_faces`, `split_by_photo`) and read LFW the same way (`lesson_lfw`). Taught in lesson 01 (training
people, held-out photos, new people); every lesson builds its sets with them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dataset import FaceDataset
from .lfw import LFW, load_lfw
from .pairs import Pairs
from .paths import default_cache_dir, find_lfw
from .synthetic import FactorRanges, SyntheticFaces

__all__ = ["TEST_FIRST_IDENTITY", "lesson_faces", "train_people", "test_people", "closed_set_faces",
           "split_by_photo", "LessonLFW", "lesson_lfw"]

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
    """LFW as lessons 01 and 02 train and test on it (see `lesson_lfw`)."""

    lfw: LFW
    train: FaceDataset   # photos of DevTrain people
    pairs: Pairs         # DevTest pairs (other people), dealt into 10 folds
    min_images: int      # a DevTrain person needs this many photos to be in `train` ...
    cap: int             # ... and gives at most this many

    @property
    def images(self):
        """Every LFW image (N, 3, S, S) uint8; `pairs` index into it."""
        return self.lfw.dataset.images

    def __str__(self) -> str:
        return (f"LFW DevTrain subset: {len(self.train)} photos of {self.train.num_classes} people "
                f"(each with >= {self.min_images} photos, at most {self.cap} used); "
                f"DevTest: {len(self.pairs)} pairs of other people")


def lesson_lfw(profile, image_size: int = 64) -> LessonLFW | None:
    """LFW's View 1 as lessons 01 and 02 use it, or None (after printing how to prepare it)
    when the prepared `image_size` cache is not here.

    train: every DevTrain person with at least `min_images` photos, `cap` photos each (6 and 12;
    the smoke profile 20 and 8, a tiny subset). pairs: the DevTest pairs (every 5th in smoke),
    folds 0..9 in turn (View 1 lists its matched pairs first).
    """
    if not (default_cache_dir() / "lfw" / f"images_{image_size}.npy").is_file():
        print("LFW is not prepared here, so this section is skipped. Get it as datasets/lfw.md says, "
              "set FACECOURSE_DATA, then (a few minutes, once):\n"
              f"  python -m facecourse.data prepare lfw {find_lfw() or '$FACECOURSE_DATA/lfw'}")
        return None
    lfw = load_lfw(image_size=image_size)
    min_images, cap = (6, 12) if profile.strict else (20, 8)
    # everyone in DevTrain (disjoint from DevTest's people) with min_images photos, cap of each
    train = lfw.devtrain().most_photographed(None, cap, min_images=min_images)
    p = lfw.dev_test
    sel = np.arange(0, len(p.issame), 1 if profile.strict else 5)
    pairs = Pairs(p.a[sel], p.b[sel], p.issame[sel], np.arange(sel.size) % 10)
    return LessonLFW(lfw, train, pairs, min_images, cap)
