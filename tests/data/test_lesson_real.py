"""The lessons' real faces (issue 18): one public call per set, people kept apart, the sizes of
the profile. Runs on the smoke slice that `make test` prepares from ../shared/data."""
import numpy as np
import pytest

from facecourse import get_profile
from facecourse.data import lesson_lag, lesson_lfw, lfw_photo, read_people, real_ready, real_root


@pytest.fixture(scope="module")
def smoke(need_data):
    profile = get_profile("smoke")
    need_data(profile if real_ready("lfw", profile) else None,
          "LFW prepared for the smoke profile (python -m facecourse.data prepare-real --profile smoke)")
    return profile


@pytest.fixture(scope="module")
def real(smoke):
    return lesson_lfw(smoke)


def _names(faces):
    return {faces.identity_names[c] for c in np.unique(faces.labels.numpy())}


def test_train_and_test_people_are_devtrain_and_devtest_and_never_meet(real, smoke):
    root = real_root("lfw", smoke)
    devtrain = {n for n, _ in read_people(root / "peopleDevTrain.txt")}
    devtest = {n for n, _ in read_people(root / "peopleDevTest.txt")}
    train, test = _names(real.train), _names(real.test)
    assert train <= devtrain and test <= devtest and not train & test
    counts = np.bincount(real.train.labels.numpy())
    assert counts.min() >= smoke.real_min_photos and counts.max() <= smoke.real_photos
    assert real.train.images.shape[1:] == (3, smoke.real_size, smoke.real_size)
    assert real.test.images.shape[1:] == (3, smoke.real_size, smoke.real_size)
    assert not _names(real.test_people(min_images=2)) & train


def test_pairs_index_the_test_photos_and_keep_view_1s_labels(real):
    p, lfw = real.pairs, real.lfw
    names = np.asarray(real.test.identity_names)[real.test.labels.numpy()]
    assert np.array_equal(names[p.a] == names[p.b], p.issame)
    assert len(p) == len(lfw.dev_test) and set(p.fold) == set(range(10))
    full = np.asarray(lfw.dataset.identity_names)[lfw.dataset.labels.numpy()]
    assert np.array_equal(full[lfw.dev_test.a], names[p.a])  # the same people, pair by pair


def test_held_out_photos_are_other_photos_of_the_training_people_with_their_labels(real):
    held, train = real.held_out, real.train
    assert len(held) > 0 and held.identity_names == train.identity_names
    assert _names(held) <= _names(train)
    flat = {tuple(x) for x in train.images.reshape(len(train), -1)[:, ::97].tolist()}
    assert not any(tuple(x) in flat for x in held.images.reshape(len(held), -1)[:, ::97].tolist())


def test_lag_split_keeps_lfw_people_out_of_the_test_and_out_of_training(smoke, need_data):
    lag = lesson_lag(smoke, seed=3)
    need_data(lag, "LAG prepared (python -m facecourse.data prepare-real --profile smoke)")
    train, test = set(lag.train_people), set(lag.test_people)
    assert train and test and not train & test
    assert _names(lag.train) == train and _names(lag.test) == test
    overlap = lag.lag.lfw_overlap()
    fold = str.casefold
    assert not {fold(n) for n in test} & {fold(n) for n in overlap.devtrain}, "stage 1 saw them"
    assert not {fold(n) for n in train} & {fold(n) for n in overlap.devtest}, "LFW DevTest people"
    assert set(np.unique(lag.faces.meta["age"])) == {0.0, 1.0}
    assert np.array_equal(lag.faces.meta["age"] == 0, lag.faces.meta["young"].astype(bool))
    assert lesson_lag(smoke, seed=4).test_people != lag.test_people  # the seed draws the people


def test_lag_train_outside_lfw_leaves_out_exactly_the_lfw_people(smoke, need_data):
    lag = lesson_lag(smoke, seed=3)
    need_data(lag, "LAG prepared (python -m facecourse.data prepare-real --profile smoke)")
    overlap = lag.lag.lfw_overlap()
    in_lfw = {n.casefold() for n in overlap.devtrain + overlap.devtest}
    assert {n.casefold() for n in lag.train_people} & in_lfw, "the split puts DevTrain people in train"
    outside = lag.train_outside_lfw()
    kept = {n for n in lag.train_people if n.casefold() not in in_lfw}
    assert kept and _names(outside) == kept
    per_person = {n: int((np.asarray(lag.train.identity_names)[lag.train.labels.numpy()] == n).sum()) for n in kept}
    assert len(outside) == sum(per_person.values())  # every photo of each kept person
    assert outside.images.shape[1:] == lag.train.images.shape[1:]


def test_not_prepared_says_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FACECOURSE_CACHE", str(tmp_path))
    monkeypatch.delenv("FACECOURSE_PROFILE", raising=False)  # make test sets it to smoke
    assert lesson_lfw(get_profile("laptop")) is None and lesson_lag(get_profile("laptop")) is None
    out = capsys.readouterr().out
    assert out.count("python -m facecourse.data prepare-real --profile laptop") == 2


def test_lfw_photo_reads_one_original_photo_from_the_archive(tmp_path):
    from test_lfw import write_fake_lfw
    write_fake_lfw(tmp_path, {"Ann_B": 2, "Cy_D": 1}, [])
    name, image = lfw_photo(source=tmp_path)
    assert name in {"Ann_B", "Cy_D"} and image.dtype == np.uint8 and image.shape[2] == 3
    assert lfw_photo("Cy_D", source=tmp_path)[0] == "Cy_D"
    assert lfw_photo("Nobody", source=tmp_path) is None
    with pytest.raises(FileNotFoundError, match="no lfw-deepfunneled.tgz"):
        lfw_photo(source=tmp_path / "elsewhere")


def test_rows_point_at_the_same_photos_in_the_full_set(real, smoke):
    from facecourse.data import resize_uint8
    full = real.lfw.dataset.images
    assert np.array_equal(resize_uint8(full[real.train_rows], real.size), real.train.images)
    assert np.array_equal(resize_uint8(full[real.test_rows], real.size), real.test.images)
    dev = real.lfw.devtrain().most_photographed(None, real.cap, min_images=real.min_images)
    assert np.array_equal(resize_uint8(dev.images, real.size), real.train.images)
