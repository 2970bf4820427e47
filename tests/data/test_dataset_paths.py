import pickle

import numpy as np
import pytest
import torch

from facecourse.data import FaceDataset, contact_sheet, default_data_root, find_lfw, to_float
from facecourse.data.dataset import _IndexedLoader
from facecourse.data.paths import default_cache_dir


def test_dataset_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"images must be uint8 \(N, 3, H, W\), got torch.float32"):
        FaceDataset(torch.zeros(2, 3, 4, 4), [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        FaceDataset(torch.zeros(3, 3, 4, 4, dtype=torch.uint8), [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match=r"meta\['age'\] has 1 values, expected 2"):
        FaceDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), [0, 1], ["a", "b"], {"age": [1]})
    with pytest.raises(ValueError, match="pass `images`"):
        FaceDataset(None, [0], ["a"])


def test_lazy_dataset_subset_and_pickling():
    store = torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1).expand(5, 3, 2, 2).contiguous()
    ds = FaceDataset(None, [0, 1, 1, 2, -1], ["a", "b", "c"], loader=_IndexedLoader(lambda i: store[i], np.arange(5)))
    sub = ds.subset([4, 2, 1])
    assert sub.labels.tolist() == [-1, 0, 0] and sub.identity_names == ["b"]
    assert sub.image_uint8(0)[0, 0, 0] == 4 and sub.uint8_batch([1, 2]).shape == (2, 3, 2, 2)
    x, y = sub[2]
    torch.testing.assert_close(x, to_float(store[1]))
    ok = FaceDataset(None, [0], ["a"], loader=_IndexedLoader(np.negative, np.arange(1)))
    pickle.loads(pickle.dumps(ok.subset([0])))  # DataLoader workers can receive it


def test_contact_sheet_layout():
    imgs = torch.stack([torch.full((3, 2, 2), v, dtype=torch.uint8) for v in (10, 20, 30)])
    sheet = contact_sheet(imgs, cols=2)
    assert sheet.shape == (4, 4, 3)
    assert sheet[0, 0, 0] == 10 and sheet[0, 2, 0] == 20 and sheet[2, 0, 0] == 30 and sheet[2, 2, 0] == 255


def test_data_root_and_lfw_lookup(monkeypatch, tmp_path):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "nowhere"))
    assert default_data_root() is None and find_lfw() is None
    (tmp_path / "lfw").mkdir()
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path))
    assert default_data_root() == tmp_path and find_lfw() is None
    (tmp_path / "lfw" / "pairs.txt").write_text("10 300\n")
    (tmp_path / "lfw" / "lfw-deepfunneled.tgz").write_bytes(b"")
    assert find_lfw() == tmp_path / "lfw"
    monkeypatch.setenv("FACECOURSE_CACHE", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"


def test_most_photographed_keeps_the_largest_classes_in_order():
    # id 0: 2 photos, id 1: 5, id 2: 4, id 3: 5, id 4: 1; -1 = unknown, never chosen
    labels = [1, 0, 3, 1, 2, 3, 1, 2, 3, 0, 1, 2, 3, 4, 1, 3, 2, -1]
    images = torch.arange(len(labels), dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 3, 1, 1).contiguous()
    ds = FaceDataset(images, labels, ["a", "b", "c", "d", "e"], name="toy")
    top = ds.most_photographed(num_identities=2, per_identity=3)
    assert top.identity_names == ["b", "d"]  # 5 photos each; the tie keeps the lower id first
    rows = top.images[:, 0, 0, 0].tolist()
    assert rows == [0, 2, 3, 5, 6, 8]  # the first 3 of each, in the original order
    assert top.labels.tolist() == [0, 1, 0, 1, 0, 1]
    three = ds.most_photographed(num_identities=4, per_identity=10)
    assert three.identity_names == ["b", "c", "d"]  # a (2 photos) is under min_images=4
    assert len(three) == 14
    with pytest.raises(ValueError, match="toy: no identity has 6 or more images"):
        ds.most_photographed(3, 3, min_images=6)
    everyone = ds.most_photographed(None, 2, min_images=2)
    assert everyone.identity_names == ["a", "b", "c", "d"] and len(everyone) == 8
