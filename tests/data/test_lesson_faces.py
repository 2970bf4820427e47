"""The lessons' standard people: the profile's sizes, disjoint groups, held-out photos."""

import numpy as np
import pytest
import torch

from facecourse import get_profile
from facecourse.data import (TEST_FIRST_IDENTITY, FaceDataset, SyntheticFaces, closed_set_faces,
                             lesson_faces,
                             split_by_photo, test_people, train_people)


@pytest.fixture(scope="module")
def tiny():
    # FACECOURSE_PROFILE may be set: the sizes the tests rely on are all fixed here
    return get_profile("smoke", num_identities=5, test_identities=3, images_per_identity=2,
                       image_size=16, difficulty=0.3)


def _same(a, b):
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.meta["identity"], b.meta["identity"])
    assert a.name == b.name  # fit_cached keys a run by its data: the same name, the same run


def test_lesson_faces_are_what_the_lessons_built_by_hand(tiny):
    train, test = lesson_faces(tiny, seed=4)
    _same(train, SyntheticFaces(5, 2, 16, difficulty=0.3, seed=4))
    _same(test, SyntheticFaces(3, 10, 16, difficulty=0.3, seed=4, first_identity=100_000))
    assert TEST_FIRST_IDENTITY == 100_000
    assert not set(train.meta["identity"]) & set(test.meta["identity"])


def test_photos_factors_and_further_groups(tiny):
    ages = {"age": (0.0, 1.0)}
    _same(test_people(tiny, 1, images=tiny.images_per_identity, factors=ages),
          SyntheticFaces(3, 2, 16, difficulty=0.3, factors=ages, seed=1, first_identity=100_000))
    _same(train_people(tiny, 1, images=4, factors=ages),
          SyntheticFaces(5, 4, 16, difficulty=0.3, factors=ages, seed=1))
    groups = [test_people(tiny, 0, images=1, identities=2, group=g) for g in (1, 2, 3)]
    assert [int(g.meta["identity"][0]) for g in groups] == [100_000, 200_000, 300_000]
    _, test = lesson_faces(tiny, 0, test_images=3)
    assert len(test) == 3 * 3
    with pytest.raises(ValueError, match="group must be 1 or more"):
        test_people(tiny, 0, group=0)


def test_split_by_photo_holds_back_the_last_photos_of_every_person(tiny):
    faces = train_people(tiny, 0, images=5)
    train, held_out = split_by_photo(faces, 3)
    assert len(train) == 5 * 3 and len(held_out) == 5 * 2
    assert set(train.meta["image_index"]) == {0, 1, 2} and set(held_out.meta["image_index"]) == {3, 4}
    assert train.num_classes == held_out.num_classes == 5
    with pytest.raises(ValueError, match="no meta\\['image_index'\\]"):
        split_by_photo(FaceDataset(faces.images[:3], faces.labels[:3], faces.identity_names), 1)


def test_closed_set_faces_are_lesson_01s_three_sets(tiny):
    train, held_out, test = closed_set_faces(tiny, 2, held_out=3)
    faces = SyntheticFaces(5, 2 + 3, 16, difficulty=0.3, seed=2)  # as lesson 01 built them by hand
    seen = faces.meta["image_index"] < 2
    _same(train, faces.subset(np.flatnonzero(seen)))
    _same(held_out, faces.subset(np.flatnonzero(~seen)))
    _same(test, test_people(tiny, 2))
