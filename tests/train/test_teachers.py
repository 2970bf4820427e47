"""Precomputed teachers: EmbeddingTable in fit, and the centred dlib table (no dlib needed).
The embedding cache they come from is tested in tests/eval/test_embedding_cache.py."""
import numpy as np
import pytest
import torch

from facecourse.train import fit
from facecourse.train.teachers import EmbeddingTable

from _train_tiny import NoBatchNorm, NoImages, tiny_config, tiny_faces


def _teacher_and_table(data):
    torch.manual_seed(123)
    teacher = NoBatchNorm().eval()
    with torch.no_grad():
        table = teacher(data.images.float() / 127.5 - 1)  # (N, 16): row i = image i
    return teacher, EmbeddingTable(table)


@pytest.mark.parametrize("loader", [False, True])
def test_a_table_of_the_teachers_embeddings_trains_like_the_teacher(loader):
    """Without augmentation the table gives fit exactly the teacher's targets, by index."""
    data = tiny_faces()
    teacher, table = _teacher_and_table(data)
    cfg = tiny_config(max_steps=5, **{"distill.weight": 5.0, "data.augment": False})
    runs = []
    for t in (teacher, table):
        torch.manual_seed(0)
        runs.append(fit(cfg, NoImages(data) if loader else data, backbone=NoBatchNorm(), teacher=t))
    for a, b in zip(runs[0].backbone.state_dict().values(), runs[1].backbone.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_the_table_is_looked_up_with_the_batch_indices(monkeypatch):
    data = tiny_faces()
    _, table = _teacher_and_table(data)
    seen = []
    real = EmbeddingTable.forward
    monkeypatch.setattr(EmbeddingTable, "forward", lambda self, idx: (seen.append(idx), real(self, idx))[1])
    fit(tiny_config(**{"distill.weight": 1.0}, max_steps=4), data, backbone=NoBatchNorm(), teacher=table)
    order = np.random.default_rng([0, 0]).permutation(len(data))  # RandomBatchSampler, epoch 0
    assert [s.tolist() for s in seen] == order[:64].reshape(4, 16).tolist()


def test_table_errors():
    data = tiny_faces()
    with pytest.raises(ValueError, match=r"the teacher's table has 3 rows but the training set has 64"):
        fit(tiny_config(max_steps=1, **{"distill.weight": 1.0}), data,
            teacher=EmbeddingTable(torch.ones(3, 16)))
    with pytest.raises(ValueError, match=r"have 8 dimensions, the student's 16: set model.embedding_dim=8"):
        fit(tiny_config(max_steps=1, **{"distill.weight": 1.0}), data,
            teacher=EmbeddingTable(torch.ones(64, 8)))
    bad = torch.ones(64, 16)
    bad[5] = float("nan")
    with pytest.raises(ValueError, match="with NaN/Inf rows: compute the teacher's embedding"):
        EmbeddingTable(bad)


def test_the_distill_objective_trains_on_the_teacher_alone():
    data = tiny_faces()
    _, table = _teacher_and_table(data)
    x = data.images.float() / 127.5 - 1
    torch.manual_seed(0)
    student = NoBatchNorm()

    def agreement(model):
        with torch.no_grad():
            return torch.nn.functional.cosine_similarity(model(x), table.embeddings).mean().item()

    before = agreement(student)
    result = fit(tiny_config(objective="distill", **{"distill.weight": 10.0}, epochs=4,
                             **{"optim.lr": 0.02}), data, backbone=student, teacher=table)
    assert result.head is None and agreement(result.backbone) > before + 0.3
    with pytest.raises(ValueError, match="objective='distill' needs a teacher"):
        fit(tiny_config(objective="distill", **{"distill.weight": 1.0}, max_steps=1), data)


def test_centring_removes_the_shared_offset_and_keeps_the_differences():
    from facecourse.train.teachers import centre_embeddings
    rng = np.random.default_rng(0)
    offset = 5 * rng.normal(size=16)
    raw = (offset + rng.normal(size=(200, 16))).astype(np.float32)  # a narrow cone, like dlib's
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert (unit @ unit.T)[np.triu_indices(200, 1)].mean() > 0.8
    centred = centre_embeddings(raw)
    np.testing.assert_allclose(centred.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(centred[3] - centred[7], raw[3] - raw[7], atol=1e-5)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    assert abs((unit @ unit.T)[np.triu_indices(200, 1)].mean()) < 0.05
    with pytest.raises(ValueError, match="finite embeddings"):
        centre_embeddings(np.full((3, 4), np.nan))


def test_the_relation_term_matches_the_batchs_similarity_matrices():
    from types import SimpleNamespace

    from facecourse.train.objectives.distill import TeacherTerm
    torch.manual_seed(0)
    t = torch.randn(6, 16)
    table = EmbeddingTable(t)
    s = torch.randn(6, 16, requires_grad=True)
    batch, out = SimpleNamespace(index=torch.arange(6)), SimpleNamespace(embeddings=s)
    term = TeacherTerm(table, 2.0, 6, 16, "cpu", relation_weight=3.0)
    sn, tn = torch.nn.functional.normalize(s, dim=1), torch.nn.functional.normalize(t, dim=1)
    rel = [((sn[i] @ sn[j]) - (tn[i] @ tn[j])) ** 2 for i in range(6) for j in range(6) if i != j]
    want = 2.0 * (1 - (sn * tn).sum(1)).mean() + 3.0 * torch.stack(rel).mean()
    torch.testing.assert_close(term(out, batch), want)
    feature_only = TeacherTerm(table, 2.0, 6, 16, "cpu")(out, batch)
    assert term(out, batch) > feature_only  # the relations of random embeddings differ
    # a student whose embeddings are the teacher's up to scale pays nothing for either term
    same = SimpleNamespace(embeddings=3 * t)
    assert term(same, batch).abs() < 1e-5
    with pytest.raises(ValueError, match="relation_weight must be >= 0"):
        TeacherTerm(table, 1.0, 6, 16, "cpu", relation_weight=-1.0)


def test_lag_devtrain_faces_are_the_devtrain_peoples_lag_photos(monkeypatch):
    """distill.unlabeled='lag-devtrain': the LAG photos of LFW DevTrain people only (never of a
    DevTest person, nor of one held out of training), labelled as the training set labels
    them, with the teacher's embeddings of exactly those photos."""
    from types import SimpleNamespace

    import facecourse.data as fd
    import facecourse.eval.embedding_cache as ec
    import facecourse.models as fm
    from facecourse.data import FaceDataset
    from facecourse.data.lag import LAG
    from facecourse.train.teachers import _append, lag_devtrain_faces
    names = ["ann_a", "Bob_B", "Cy_C", "Dee_D"]  # LAG spells some names in other cases
    labels = [0, 0, 1, 2, 2, 3, 1]
    images = torch.arange(7, dtype=torch.uint8).view(7, 1, 1, 1).expand(7, 3, 4, 4).contiguous()
    lag = LAG(FaceDataset(images, labels, names, {"young": np.array([1, 0, 1, 1, 0, 0, 0], bool)}), [], [])
    monkeypatch.setattr(fd, "load_lag", lambda image_size=112: lag)
    monkeypatch.setattr(fm, "DlibResNet", lambda method: SimpleNamespace(embedding_dim=2))
    asked = []

    def fake_cache(images, rows, path, embedder, workers, progress=True):
        asked.append(np.asarray(rows).tolist())
        return np.stack([np.arange(len(images)), -np.arange(len(images))], 1).astype(np.float32)
    monkeypatch.setattr(ec, "cached_embeddings", fake_cache)
    # Ann and Bob are DevTrain people, Cy DevTrain *and* DevTest (never used), Dee neither
    lfw = SimpleNamespace(devtrain_identities=["Ann_A", "Bob_B", "Cy_C", "Eve_E"],
                          devtest_identities=["Cy_C", "Fay_F"])
    faces, table = lag_devtrain_faces(lfw, ["Ann_A", "Bob_B", "Eve_E"], 112, progress=False)
    assert asked == [[0, 1, 2, 6]] and faces.images[:, 0, 0, 0].tolist() == [0, 1, 2, 6]
    assert faces.labels.tolist() == [0, 0, 1, 1] and faces.identity_names == ["Ann_A", "Bob_B", "Eve_E"]
    assert table[:, 0].tolist() == [0, 1, 2, 6]
    held = lag_devtrain_faces(lfw, ["Bob_B"], 112, progress=False)[0]  # Ann held out of training
    assert held.images[:, 0, 0, 0].tolist() == [2, 6] and held.labels.tolist() == [0, 0]
    with pytest.raises(ValueError, match="holds no photo of an LFW DevTrain person"):
        lag_devtrain_faces(lfw, ["Eve_E"], 112, progress=False)
    def missing(image_size=112):
        raise FileNotFoundError("load_lag: /x is not a prepared LAG folder")
    monkeypatch.setattr(fd, "load_lag", missing)
    with pytest.raises(FileNotFoundError, match="needs a prepared LAG: load_lag: /x .* --set distill.unlabeled=''"):
        lag_devtrain_faces(lfw, ["Ann_A"], 112, progress=False)
    base = FaceDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), [2, 0], ["Ann_A", "Bob_B", "Eve_E"])
    both = _append(base, faces)
    assert len(both) == 6 and both.labels.tolist() == [2, 0, 0, 0, 1, 1] and both.num_classes == 3
    with pytest.raises(ValueError, match="name their identities differently"):
        _append(base, held)
