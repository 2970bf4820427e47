import io
import json
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from facecourse.data import ChecksumError, load_lfw, prepare_lfw, read_pairs, read_people
from facecourse.data.lfw import lfw_inventory
from facecourse.data.paths import default_cache_dir


def write_fake_lfw(root, people, pairs_lines):
    """A tiny LFW-shaped source: tgz + the five text files (not real LFW; checksums won't match)."""
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(root / "lfw-deepfunneled.tgz", "w:gz") as tar:
        for name, count in people.items():
            for i in range(1, count + 1):
                buf = io.BytesIO()
                Image.new("RGB", (60, 60), (40 * i, 90, 160)).save(buf, "JPEG")
                info = tarfile.TarInfo(f"lfw-deepfunneled/{name}/{name}_{i:04d}.jpg")
                info.size = len(buf.getvalue())
                tar.addfile(info, io.BytesIO(buf.getvalue()))
    body = "\n".join(pairs_lines)
    n = max(len(pairs_lines) // 2, 1)  # matched then mismatched, n of each
    for fname in ("pairs.txt", "pairsDevTrain.txt", "pairsDevTest.txt"):
        head = f"1 {n}" if fname == "pairs.txt" else f"{n}"
        (root / fname).write_text(f"{head}\n{body}\n")
    for fname in ("peopleDevTrain.txt", "peopleDevTest.txt"):
        (root / fname).write_text(f"{len(people)}\n" + "".join(f"{n}\t{c}\n" for n, c in people.items()))
    return root


def test_prepare_and_load_fake_lfw_with_fallbacks(tmp_path):
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2, "Bob_B": 1}, ["Ann_A\t1\t2", "Ann_A\t1\tBob_B\t1"])
    out = prepare_lfw(src, tmp_path / "prep", workers=1, verify=False, progress=False, sizes=(32, 16))
    lfw = load_lfw(out, image_size=16)
    assert lfw.dataset.images.shape == (3, 3, 16, 16) and lfw.dataset.identity_names == ["Ann_A", "Bob_B"]
    assert len(lfw.fallbacks) == 3 and lfw.dataset.meta["fallback"].all()  # no face in a flat image
    assert lfw.view2.issame.tolist() == [True, False] and lfw.view2.a.tolist() == [0, 0]
    assert lfw.view2.b.tolist() == [1, 2]
    with pytest.raises(FileNotFoundError, match=r"images_112.npy is missing; sizes prepared: \[32, 16\]"):
        load_lfw(out, image_size=112)


GOOD_PAIRS = ["Ann_A\t1\t2", "Ann_A\t1\tBob_B\t1"]
BAD_PAIRS = ["Ann_A\t1\t3", "Ann_A\t1\tBob_B\t1"]  # Ann_A has no image 3


def files_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_pairs_naming_a_missing_image_is_an_error(tmp_path):
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2, "Bob_B": 1}, GOOD_PAIRS)
    out = prepare_lfw(src, tmp_path / "prep", workers=1, verify=False, progress=False, sizes=(16,))
    (out / "pairs.txt").write_text("1 1\n" + "\n".join(BAD_PAIRS) + "\n")  # damaged after preparing
    with pytest.raises(ValueError) as e:
        load_lfw(out, image_size=16)
    assert "pairs.txt: pair 1 names Ann_A/Ann_A_0003.jpg" in str(e.value) and "Prepare again" in str(e.value)


def test_failed_prepare_leaves_the_old_folder_as_it_was(tmp_path):
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2, "Bob_B": 1}, GOOD_PAIRS)
    out = prepare_lfw(src, tmp_path / "prep", workers=1, verify=False, progress=False, sizes=(16,))
    before = files_of(out)
    (src / "pairs.txt").write_text("1 1\n" + "\n".join(BAD_PAIRS) + "\n")
    with pytest.raises(ValueError) as e:
        prepare_lfw(src, out, workers=1, verify=False, progress=False, sizes=(16,))
    msg = str(e.value)
    assert f"{src / 'pairs.txt'}: pair 1 names Ann_A/Ann_A_0003.jpg" in msg
    assert f"Nothing was changed in {out}." in msg
    assert files_of(out) == before  # index.json, images, pairs files and raw/ byte for byte
    lfw = load_lfw(out, image_size=16)
    assert lfw.view2.issame.tolist() == [True, False] and len(lfw.dataset) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prep", "src"]  # staging folder removed


def test_prepare_again_replaces_the_folder_and_reuses_raw(tmp_path, monkeypatch):
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2, "Bob_B": 1}, GOOD_PAIRS)
    out = prepare_lfw(src, tmp_path / "prep", workers=1, verify=False, progress=False, sizes=(16,))
    (out / "stale.npy").write_bytes(b"from an earlier prepare")
    import facecourse.data.lfw as lfw_module

    def no_extract(*args, **kwargs):
        raise AssertionError("raw/ came from this archive: it must not be extracted again")
    monkeypatch.setattr(lfw_module, "safe_extract", no_extract)
    prepare_lfw(src, out, workers=1, verify=False, progress=False, sizes=(32,))
    assert not (out / "stale.npy").exists() and not (out / "images_16.npy").exists()
    assert load_lfw(out, image_size=32).dataset.images.shape == (3, 3, 32, 32)
    assert (out / "raw" / "lfw-deepfunneled" / "Bob_B" / "Bob_B_0001.jpg").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prep", "src"]


def test_limit_counts_the_dropped_pairs(tmp_path):
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2, "Bob_B": 1}, GOOD_PAIRS)
    out = prepare_lfw(src, tmp_path / "prep", workers=1, verify=False, progress=False, sizes=(16,), limit=1)
    lfw = load_lfw(out, image_size=16)
    assert lfw.dataset.identity_names == ["Ann_A"] and len(lfw.view2) == 1  # Ann_A vs Bob_B dropped
    assert lfw.dropped_pairs == {"view2": 1, "dev_train": 1, "dev_test": 1}
    assert json.loads((out / "index.json").read_text())["dropped_pairs"] == lfw.dropped_pairs


def test_out_that_is_not_a_prepared_folder_is_refused(tmp_path):
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2, "Bob_B": 1}, GOOD_PAIRS)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match=r"--out .*mine holds other files \(thesis.tex\) and is not a prepared"):
        prepare_lfw(src, tmp_path / "mine", workers=1, verify=False, progress=False, sizes=(16,))
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_prepare_checks_checksums_and_inputs(tmp_path):
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2}, ["Ann_A\t1\t2", "Ann_A\t1\tAnn_A\t2"])
    with pytest.raises(ChecksumError, match=r"checksum mismatch for .*lfw-deepfunneled.tgz"):
        prepare_lfw(src, tmp_path / "prep", workers=1, progress=False)
    assert (src / "lfw-deepfunneled.tgz").exists()
    with pytest.raises(FileNotFoundError, match="no lfw-deepfunneled.tgz"):
        prepare_lfw(tmp_path, tmp_path / "p2", verify=False)
    (src / "pairsDevTest.txt").unlink()
    with pytest.raises(FileNotFoundError, match="pairsDevTest.txt is missing"):
        prepare_lfw(src, tmp_path / "p3", verify=False)
    with pytest.raises(FileNotFoundError, match=r"not a prepared LFW folder .*python -m facecourse.data prepare lfw"):
        load_lfw(tmp_path / "nothing")


def test_damaged_pairs_file(tmp_path):
    (tmp_path / "pairs.txt").write_text("10 300\nA\t1\t2\n")
    with pytest.raises(ValueError, match="header says 10 x 2 x 300 pairs but the file has 1"):
        read_pairs(tmp_path / "pairs.txt")
    (tmp_path / "pairs.txt").write_text("1\nA\t1\n")
    with pytest.raises(ValueError, match=r"line 2: 'A 1' is neither"):
        read_pairs(tmp_path / "pairs.txt")


@pytest.mark.lfw
def test_official_protocol_counts(lfw_dir):
    rows, fold = read_pairs(lfw_dir / "pairs.txt")
    same = np.array([r[0] == r[2] for r in rows])
    assert len(rows) == 6000 and np.bincount(fold).tolist() == [600] * 10
    assert all(same[fold == k].sum() == 300 for k in range(10))
    dev_test, _ = read_pairs(lfw_dir / "pairsDevTest.txt")
    dev_train, _ = read_pairs(lfw_dir / "pairsDevTrain.txt")
    assert len(dev_test) == 1000 and len(dev_train) == 2200
    train_ids = {n for n, _ in read_people(lfw_dir / "peopleDevTrain.txt")}
    test_ids = {n for n, _ in read_people(lfw_dir / "peopleDevTest.txt")}
    assert len(train_ids) == 4038 and len(test_ids) == 1711 and not train_ids & test_ids
    assert {r[0] for r in dev_test} <= test_ids and {r[0] for r in dev_train} <= train_ids


@pytest.mark.lfw
def test_tarball_holds_13233_images_of_5749_people(lfw_dir):
    assert lfw_inventory(lfw_dir / "lfw-deepfunneled.tgz") == {"images": 13233, "identities": 5749}


@pytest.mark.lfw
def test_prepare_a_few_real_people(lfw_dir, tmp_path):
    rows, _ = read_pairs(lfw_dir / "pairsDevTest.txt")
    names = sorted({r[0] for r in rows[:3]} | {r[2] for r in rows[500:503]})
    out = prepare_lfw(lfw_dir, tmp_path / "lfw", workers=1, names=names, progress=False, sizes=(64,))
    lfw = load_lfw(out, image_size=64)
    assert lfw.dataset.identity_names == names
    assert lfw.dataset.images.shape[1:] == (3, 64, 64)
    assert len(lfw.dev_test) >= 3 and lfw.dev_test.issame[:3].all()
    assert len(lfw.fallbacks) <= len(lfw.dataset) // 2  # dlib finds most real faces


@pytest.mark.lfw
@pytest.mark.slow
def test_full_prepared_cache():
    root = default_cache_dir() / "lfw"
    if not (root / "index.json").is_file():
        pytest.skip(f"no full prepared LFW in {root}; run `python -m facecourse.data prepare lfw ../shared/data/lfw`")
    lfw = load_lfw(root, image_size=64)
    assert len(lfw.dataset) == 13233 and lfw.dataset.num_classes == 5749
    assert len(lfw.view2) == 6000 and lfw.view2.num_folds == 10 and len(lfw.dev_test) == 1000
    train = lfw.devtrain()
    assert train.num_classes == 4038 and len(train) == 9525


def test_hold_out_keeps_the_devtrain_pairs_photos_out_of_training(tmp_path):
    from facecourse.train.build import build_train_set
    from facecourse.train.config import DataConfig
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 3, "Bob_B": 2, "Cy_C": 1},
                         ["Ann_A\t1\t2", "Ann_A\t3\tBob_B\t1"])
    out = prepare_lfw(src, tmp_path / "prep", workers=1, verify=False, progress=False, sizes=(16,))
    lfw = load_lfw(out, image_size=16)
    assert len(lfw.devtrain()) == 6 and lfw.devtrain().num_classes == 3
    p = lfw.dev_train
    for hold_out, out_of_training, people in (("matched", np.r_[p.a[:1], p.b[:1]], 3),
                                              ("pairs", np.r_[p.a, p.b], 2)):
        kept = lfw.devtrain_indices(hold_out)
        assert set(kept) == set(lfw.devtrain_indices()) - set(out_of_training.tolist())
        held = lfw.devtrain(hold_out)
        assert held.num_classes == people and torch.equal(held.images, lfw.dataset.images[kept])
        built = build_train_set(DataConfig(source="lfw", root=str(out), hold_out=hold_out), 16)
        assert torch.equal(built.images, held.images)
    names = lambda rows: [lfw.dataset.identity_names[c] for c in lfw.dataset.labels[rows].tolist()]  # noqa: E731
    assert names(lfw.devtrain_indices("matched")) == ["Ann_A", "Bob_B", "Bob_B", "Cy_C"]  # Ann's 3rd photo
    assert names(lfw.devtrain_indices("pairs")) == ["Bob_B", "Cy_C"]  # Bob's 2nd, Cy's only one
    with pytest.raises(ValueError, match="hold_out='all': use one of '', 'matched', 'pairs'"):
        lfw.devtrain("all")


def test_hold_out_people_leaves_out_those_whose_photos_are_all_in_matched_pairs(tmp_path):
    from facecourse.train.build import build_train_set
    from facecourse.train.config import DataConfig
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 3, "Bob_B": 2, "Cy_C": 1, "Dee_D": 2, "Eve_E": 3},
                         ["Ann_A\t1\t2", "Dee_D\t1\t2", "Eve_E\t1\t2", "Eve_E\t2\t3",
                          "Ann_A\t3\tBob_B\t1", "Cy_C\t1\tDee_D\t1", "Bob_B\t2\tEve_E\t1", "Ann_A\t1\tCy_C\t1"])
    out = prepare_lfw(src, tmp_path / "prep", workers=1, verify=False, progress=False, sizes=(16,))
    lfw = load_lfw(out, image_size=16)
    names = lfw.dataset.identity_names
    # Ann keeps a photo no matched pair uses; Dee's two and Eve's three are all in matched pairs
    assert [names[c] for c in lfw.validation_people()] == ["Dee_D", "Eve_E"]
    kept = lfw.devtrain_indices("people")
    assert [names[c] for c in lfw.dataset.labels[kept].tolist()] == ["Ann_A"] * 3 + ["Bob_B"] * 2 + ["Cy_C"]
    built = build_train_set(DataConfig(source="lfw", root=str(out), hold_out="people"), 16)
    assert built.num_classes == 3 and torch.equal(built.images, lfw.dataset.images[kept])
    # their matched pairs and every mismatched pair choose the threshold; Ann's matched pair does not
    assert lfw.threshold_pairs("people").tolist() == [False, True, True, True, True, True, True, True]
    for hold_out in ("", "matched", "pairs"):
        assert lfw.threshold_pairs(hold_out).all()
    with pytest.raises(ValueError, match="hold_out='val': use one of '', 'matched', 'pairs', 'people'"):
        lfw.threshold_pairs("val")


def test_prepare_source_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="source None not found; download LFW"):
        prepare_lfw(None, tmp_path / "out")
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 1}, ["Ann_A\t1\t1", "Ann_A\t1\tAnn_A\t1"])
    with pytest.raises(ValueError, match="no images found under .* for the chosen people"):
        prepare_lfw(src, tmp_path / "out", names=["Nobody_Here"], verify=False, progress=False)


def test_cli_prepare_lfw_reports_dropped_pairs_and_keeps_old_folder(tmp_path, capsys):
    from facecourse.data.__main__ import main
    src = write_fake_lfw(tmp_path / "src", {"Ann_A": 2, "Bob_B": 1}, GOOD_PAIRS)
    out = tmp_path / "prep"
    argv = ["prepare", "lfw", str(src), "--out", str(out), "--workers", "1", "--no-verify"]
    assert main([*argv, "--limit", "1"]) == 0
    printed = capsys.readouterr().out
    assert "prepared 2 images of 1 people" in printed
    assert "dropped pairs that name people left out by --limit: view2 1, dev_train 1, dev_test 1" in printed
    before = files_of(out)
    (src / "pairsDevTest.txt").write_text("1\n" + "\n".join(BAD_PAIRS) + "\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: prepare lfw: ") and err.count("\n") == 1  # one line, no traceback
    assert "pairsDevTest.txt: pair 1 names Ann_A/Ann_A_0003.jpg" in err and f"Nothing was changed in {out}" in err
    assert files_of(out) == before
