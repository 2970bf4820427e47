"""LAG: prepare/load, checksums, the LFW overlap rules, identity-disjoint splits, the cross-age
protocol (pairs and young-probe / adult-gallery identification). Fake archives are built in
tmp_path; the real one (../shared/data/lag-dev.tgz) is only read, never copied."""
import json
import warnings

import numpy as np
import pytest

from facecourse.data import (ChecksumError, LFWOverlap, find_lag, lag_inventory, lag_pairs, lfw_overlap,
                             load_lag, prepare_lag, split_people, young_adult_split)
from facecourse.data.__main__ import main

# name: (young images, adult images); "Nina_Young" has no adult photo (the real copy has 3 such)
PEOPLE = {f"p{i:02d}": (1 + i % 3, 1 + i % 2) for i in range(24)}
PEOPLE["nina_young"] = (2, 0)


def prepared(fake_lag, tmp_path, people=PEOPLE, **kw):
    src = fake_lag(people)
    return load_lag(prepare_lag(src, tmp_path / "lag", workers=1, progress=False, verify=False,
                                sizes=(32,), **kw), image_size=32)


def test_prepare_and_load_fake_lag(fake_lag, tmp_path):
    lag = prepared(fake_lag, tmp_path)
    ds = lag.dataset
    assert lag.people == sorted(PEOPLE) and len(ds) == sum(y + a for y, a in PEOPLE.values())
    assert ds.images.shape[1:] == (3, 32, 32) and ds.name == "lag"
    assert (ds.meta["young"] == np.array(["/y/" in f for f in ds.files])).all()  # from the y/ folder
    assert lag.counts() == PEOPLE
    # flat colour crops hold no face: every image is a visible centre-crop fallback
    assert ds.meta["fallback"].all() and len(lag.fallbacks) == len(ds) and (ds.meta["num_faces"] == 0).all()
    index = json.loads((tmp_path / "lag" / "index.json").read_text())
    assert index["kind"] == "lag" and index["pad"] == 0.4 and index["faces_found"] == 0
    assert index["no_face"] == index["fallbacks"] and index["files"][0] == "nina_young/y/y0.png"
    assert not (tmp_path / "lag" / "raw").exists()  # only the aligned crops are kept
    # the fallback is the centre crop of the crop padded by 40 px each side (0.6 x 180 px)
    import tarfile

    from PIL import Image

    from facecourse.data import centre_crop, pad_image
    with tarfile.open(tmp_path / "src" / "lag-fake.tgz") as tar:
        raw = np.array(Image.open(tar.extractfile("lag/" + ds.files[1])).convert("RGB"))
    np.testing.assert_array_equal(ds.images[1].permute(1, 2, 0).numpy(), centre_crop(pad_image(raw, 0.4), 32))


def test_prepare_lag_names_subset_and_inventory(fake_lag, tmp_path):
    src = fake_lag(PEOPLE)
    assert lag_inventory(src) == PEOPLE
    lag = prepared(fake_lag, tmp_path, names=["p01", "p02", "nobody"])
    assert lag.people == ["p01", "p02"] and len(lag.dataset) == 2 + 2 + 3 + 1
    with pytest.raises(ValueError, match="none of the 1 names asked for is a person"):
        prepare_lag(src, tmp_path / "x", names=["nobody"], verify=False, progress=False)


def test_checksums(fake_lag, tmp_path):
    ci_named = fake_lag({"a": (1, 1), "b": (1, 1)}, name="lag-dev.tgz")  # named like the CI copy
    with pytest.raises(ChecksumError, match=r"checksum mismatch for .*lag-dev.tgz: got sha256 .*--no-verify"):
        prepare_lag(ci_named, tmp_path / "out", workers=1, progress=False)
    assert ci_named.is_file() and not (tmp_path / "out").exists()  # nothing lost, nothing written
    other = fake_lag({"a": (1, 1), "b": (1, 1)}, name="LAG.zip.tgz")  # a name with no checksum on record
    with pytest.warns(UserWarning, match=r"no checksum on record for LAG.zip.tgz \(sha256 [0-9a-f]{64}\)"):
        out = prepare_lag(other, tmp_path / "out", workers=1, progress=False, sizes=(16,))
    assert json.loads((out / "index.json").read_text())["sha256"] is not None


def test_layout_and_source_errors(tmp_path, monkeypatch):
    import tarfile
    with tarfile.open(tmp_path / "flat.tgz", "w:gz") as tar:
        (tmp_path / "x.png").write_bytes(b"x")
        tar.add(tmp_path / "x.png", "x.png")
    with pytest.raises(ValueError, match="does not hold one folder of <person>/\\*.png"):
        prepare_lag(tmp_path / "flat.tgz", tmp_path / "o", verify=False)
    (tmp_path / "cut.tgz").write_bytes(b"\x1f\x8b\x08 not gzip")
    with pytest.raises(ValueError, match="cut.tgz .*truncated or not an archive"):
        lag_inventory(tmp_path / "cut.tgz")
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "nowhere"))
    assert find_lag() is None
    with pytest.raises(FileNotFoundError, match="source None not found; download LAG"):
        prepare_lag(None, tmp_path / "o")
    with pytest.raises(FileNotFoundError, match=r"not a prepared LAG folder .*prepare lag"):
        load_lag(tmp_path / "nothing")


def test_find_lag_in_the_data_root(tmp_path, monkeypatch, fake_lag):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "src"))
    src = fake_lag({"a": (1, 1)}, name="lag-dev.tgz")
    assert find_lag() == src


def test_failed_prepare_keeps_the_old_folder(fake_lag, tmp_path):
    import tarfile
    src = fake_lag({"a": (1, 1), "b": (1, 1)})
    out = prepare_lag(src, tmp_path / "lag", workers=1, progress=False, verify=False, sizes=(16,))
    before = (out / "index.json").read_text()
    with tarfile.open(tmp_path / "bad.tgz", "w:gz") as tar:
        (tmp_path / "bad.png").write_bytes(b"not a png")
        tar.add(tmp_path / "bad.png", "lag/c/a0.png")
        tar.add(tmp_path / "bad.png", "lag/c/y/y0.png")
    with pytest.raises(ValueError, match=r"cannot decode image .*c/a0.png.*the LAG archive is damaged"):
        prepare_lag(tmp_path / "bad.tgz", out, workers=1, progress=False, verify=False, sizes=(16,))
    assert (out / "index.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging left


def test_lfw_overlap_is_case_insensitive(tmp_path):
    (tmp_path / "peopleDevTrain.txt").write_text("2\nAdriana_Lima\t3\nBob_B\t1\n")
    (tmp_path / "peopleDevTest.txt").write_text("1\nCarol_C\t2\n")
    lag_names = ["adriana_lima", "carol_c", "dan_d"]
    got = lfw_overlap(lag_names, tmp_path / "peopleDevTrain.txt", tmp_path / "peopleDevTest.txt")
    assert got == LFWOverlap(devtrain=["adriana_lima"], devtest=["carol_c"])
    assert lfw_overlap(lag_names, ["ADRIANA_LIMA"], [("Dan_D", 1)]) == LFWOverlap(["adriana_lima"], ["dan_d"])


def test_split_keeps_lfw_people_on_their_side(fake_lag, tmp_path):
    lag = prepared(fake_lag, tmp_path)
    overlap = LFWOverlap(devtrain=["p00", "p01", "p02", "P03"], devtest=["p04", "p05"])
    for seed in range(5):
        train, test = lag.split(0.5, seed, lfw=overlap)
        # (1) a LAG test person is never one the stage-1 model (LFW DevTrain) trained on
        assert not {"p00", "p01", "p02", "p03"} & set(test)
        # (2) no LAG image of an LFW DevTest person trains anything
        assert not {"p04", "p05"} & set(train)
        assert not set(train) & set(test) and set(train) | set(test) == set(PEOPLE) - {"nina_young"}
        assert len(test) == 12  # round(0.5 x 24), forced test people included
    assert lag.split(0.5, 0) == lag.split(0.5, 0) != lag.split(0.5, 1)
    train, test = split_people(lag.counts(), 0.25, 0, not_in_test=["p00"], not_in_train=["p00", "p01"])
    assert "p00" not in train + test and "p01" in test  # in both lists: neither side
    with pytest.raises(ValueError, match="each side needs one"):
        split_people({"a": (1, 1), "b": (1, 1)}, 0.5, not_in_train=["a", "b"])
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        lag.split(1.0)


def test_lag_pairs_follow_the_cross_age_protocol(fake_lag, tmp_path):
    lag = prepared(fake_lag, tmp_path)
    ds = lag.dataset
    young, labels = ds.meta["young"], ds.labels.numpy()
    pairs = lag_pairs(ds, seed=3, folds=4)
    assert pairs.num_folds == 4 and young[pairs.a].all() and not young[pairs.b].any()  # a young, b adult
    same = labels[pairs.a] == labels[pairs.b]
    assert (same == pairs.issame).all()  # matched: one person; mismatched: A young, B != A adult
    for k in range(4):  # folds are identity-disjoint and balanced
        f = pairs.fold == k
        assert pairs.issame[f].sum() == (~pairs.issame[f]).sum() > 0
        others = set(labels[pairs.a[~f]]) | set(labels[pairs.b[~f]])
        assert not (set(labels[pairs.a[f]]) | set(labels[pairs.b[f]])) & others
    # every young x adult pair of each person is a matched pair, once
    expected = sum(y * a for y, a in PEOPLE.values())
    assert pairs.issame.sum() == expected == len({(a, b) for a, b in zip(pairs.a[pairs.issame], pairs.b[pairs.issame])})
    assert len({(a, b) for a, b in zip(pairs.a, pairs.b)}) == len(pairs)
    nina = ds.identity_names.index("nina_young")
    assert nina not in labels[pairs.a]  # no adult photo: in no pair
    sub = lag_pairs(ds, people=[f"p{i:02d}" for i in range(8)], folds=2)
    assert set(np.array(ds.identity_names)[labels[sub.a]]) <= {f"p{i:02d}" for i in range(8)}
    assert (lag_pairs(ds, seed=3, folds=4).a == pairs.a).all()  # a function of the seed
    with pytest.raises(ValueError, match="24 people with young and adult images are too few for 20"):
        lag_pairs(ds, folds=20)
    with pytest.raises(ValueError, match="not in the data set, e.g. 'zed'"):
        lag_pairs(ds, people=["zed"])


def test_young_probes_against_an_adult_gallery(fake_lag, tmp_path):
    lag = prepared(fake_lag, tmp_path)
    train, test = lag.split(0.5, 0)
    ds = lag.dataset
    probe, gallery = young_adult_split(ds, test)
    assert ds.meta["young"][probe].all() and not ds.meta["young"][gallery].any()
    names = np.array(ds.identity_names)
    assert set(names[ds.labels.numpy()[probe]]) == set(names[ds.labels.numpy()[gallery]]) == set(test)
    probe_all, _ = young_adult_split(ds)
    assert "nina_young" not in set(names[ds.labels.numpy()[probe_all]])  # no adult image to find
    sub = lag.subset(test)
    assert sub.identity_names == sorted(test) and "young" in sub.meta
    from facecourse.data import SyntheticFaces
    with pytest.raises(ValueError, match=r"no meta\['young'\].*load_lag"):
        young_adult_split(SyntheticFaces(2, 2, 16))


def test_cli_prepare_lag(fake_lag, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("FACECOURSE_CACHE", str(tmp_path / "cache"))
    src = fake_lag({"a": (2, 1), "b": (1, 1)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["prepare", "lag", str(src), "--workers", "1", "--size", "24", "--pad", "0.3"]) == 0
    printed = capsys.readouterr().out
    assert f"prepared 5 images (3 young, 2 adult) of 2 people in {tmp_path / 'cache' / 'lag'}" in printed
    assert "faces found in 0 of 5 images (each padded by 30% of its longer side" in printed
    assert "5 centre-crop fallbacks" in printed and "overlap is not checked" in printed
    assert main(["prepare", "lag", str(src), "--on-missing", "skip"]) == 2
    assert "--on-missing applies to `prepare folder` only, not `prepare lag`" in capsys.readouterr().err


@pytest.mark.lfw
def test_real_lag_people_and_the_lfw_overlap(lag_tgz, lfw_people_files):
    inventory = lag_inventory(lag_tgz)
    assert len(inventory) == 515 and sum(y + a for y, a in inventory.values()) == 1928
    assert sum(y for y, _ in inventory.values()) == 963
    overlap = lfw_overlap(list(inventory), *lfw_people_files)
    assert len(overlap.devtrain) == 88 and len(overlap.devtest) == 35
    assert "adriana_lima" in overlap.devtrain + overlap.devtest  # LFW's Adriana_Lima
    for seed in (0, 1):
        train, test = split_people(inventory, 0.5, seed, lfw=overlap)
        assert not set(test) & set(overlap.devtrain)  # (1) never a person stage 1 trained on
        assert not set(train) & set(overlap.devtest)  # (2) no LFW DevTest person trains
        assert not set(train) & set(test) and len(train) + len(test) == 512  # 3 have no adult photo


@pytest.mark.lfw
def test_prepare_a_few_real_lag_people(lag_tgz, lfw_people_files, tmp_path):
    inventory = lag_inventory(lag_tgz)
    overlap = lfw_overlap(list(inventory), *lfw_people_files)
    names = sorted(set(list(inventory)[:6] + overlap.devtrain[:3] + overlap.devtest[:3]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the CI copy's checksum is on record
        lag = load_lag(prepare_lag(lag_tgz, tmp_path / "lag", workers=1, progress=False, names=names,
                                   sizes=(64,)), image_size=64)
    ds = lag.dataset
    assert lag.people == names and len(ds) == sum(sum(inventory[n]) for n in names)
    assert (ds.meta["young"] == np.array(["/y/" in f for f in ds.files])).all()
    assert ds.meta["fallback"].mean() < 0.2  # dlib finds most faces in the padded crops
    found = ~ds.meta["fallback"]
    assert (ds.meta["num_faces"][found] >= 1).all() and np.isfinite(ds.source_landmarks[found]).all()
    assert ((ds.source_landmarks[found] > -30) & (ds.source_landmarks[found] < 130)).all()  # near the 100 px crop
    train, test = lag.split(0.5, 0, lfw=lag.lfw_overlap(*lfw_people_files))
    assert not set(test) & set(overlap.devtrain) and not set(train) & set(overlap.devtest)


@pytest.mark.lfw
@pytest.mark.slow
def test_full_prepared_lag():
    from facecourse.data.paths import default_cache_dir
    root = default_cache_dir() / "lag"
    if not (root / "index.json").is_file():
        pytest.skip(f"no full prepared LAG in {root}; run `python -m facecourse.data prepare lag ../shared/data/lag-dev.tgz`")
    lag = load_lag(root, image_size=64)
    assert len(lag.dataset) == 1928 and len(lag.people) == 515
    assert len(lag.fallbacks) <= 0.05 * 1928
    train, test = lag.split(0.5, 0, lfw=lag.lfw_overlap())
    pairs = lag_pairs(lag.dataset, test, seed=0)
    assert pairs.num_folds == 10 and pairs.issame.sum() == (~pairs.issame).sum()
