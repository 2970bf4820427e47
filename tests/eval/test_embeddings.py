"""embed (flip TTA, modes, batching), pair scores, all-pairs scores, evaluate_verification."""
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from facecourse.eval import (
    all_pairs_scores, embed, evaluate_verification, pair_scores, verification_metrics,
)


class Tiny(nn.Module):
    """Images (B, 3, 4, 4) -> (B, 5); not flip-invariant; BatchNorm to check eval mode."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.bn = nn.BatchNorm1d(48)
        self.fc = nn.Linear(48, 5)

    def forward(self, x):
        return self.fc(self.bn(x.flatten(1)))


def _images(n=10, seed=0):
    return torch.randint(0, 256, (n, 3, 4, 4), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


def test_embed_normalizes_scales_and_batches():
    model, images = Tiny(), _images()
    model.train()
    out = embed(model, images, batch_size=3)
    assert model.training  # mode restored
    model.eval()
    ref = nn.functional.normalize(model(images.float() / 127.5 - 1), dim=1)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(10))
    # a FaceDataset-like object with .images gives the same; so does a float tensor in [-1, 1]
    torch.testing.assert_close(embed(model, SimpleNamespace(images=images)), out)
    torch.testing.assert_close(embed(model, images.float() / 127.5 - 1, batch_size=4), out)


def test_embed_lazy_dataset_and_flip():
    model, images = Tiny(), _images()
    model.eval()
    floats = images.float() / 127.5 - 1
    lazy = TensorDataset(floats, torch.zeros(10))  # no .images: goes through __getitem__
    torch.testing.assert_close(embed(model, lazy, batch_size=4), embed(model, images))
    flipped = embed(model, images, flip=True)
    ref = model(floats) + model(floats.flip(3))  # sum, then normalize (insightface)
    torch.testing.assert_close(flipped, nn.functional.normalize(ref, dim=1))
    assert not torch.allclose(flipped, embed(model, images))
    # flip TTA makes the embedding of an image equal that of its mirror
    torch.testing.assert_close(embed(model, images.flip(3), flip=True), flipped)


def test_embed_errors():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        embed(Tiny(), _images(), batch_size=0)
    with pytest.raises(ValueError, match="embed got no images"):
        embed(Tiny(), _images()[:0])
    with pytest.raises(ValueError, match=r"images must be \(N, 3, H, W\)"):
        embed(Tiny(), torch.zeros(3, 4, 4))
    with pytest.raises(TypeError, match="expected a FaceDataset, a Dataset or an image tensor"):
        embed(Tiny(), [1, 2, 3])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_embed_on_gpu_with_amp_matches_cpu():
    model, images = Tiny().eval(), _images(64)
    cpu = embed(model, images)
    gpu = embed(model.cuda(), images, amp=True)
    assert gpu.device.type == "cpu" and gpu.dtype == torch.float32
    torch.testing.assert_close(gpu, cpu, atol=5e-3, rtol=0)


def test_pair_scores_cosine_and_sqeuclidean():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(6, 4))
    a, b = np.array([0, 1, 2]), np.array([3, 4, 5])
    cos = pair_scores(torch.tensor(e), (a, b))
    unit = e / np.linalg.norm(e, axis=1, keepdims=True)
    np.testing.assert_allclose(cos.numpy(), (unit[a] * unit[b]).sum(1), rtol=1e-5)
    sq = pair_scores(e, SimpleNamespace(a=a, b=b), metric="sqeuclidean")  # raw embeddings
    np.testing.assert_allclose(sq.numpy(), -((e[a] - e[b]) ** 2).sum(1), rtol=1e-5)
    # on unit vectors: -||x - y||² = 2 cos - 2, so both give the same ranking
    sq_unit = pair_scores(unit, (a, b), metric="sqeuclidean")
    np.testing.assert_allclose(sq_unit.numpy(), 2 * cos.numpy() - 2, atol=1e-5)
    with pytest.raises(ValueError, match="metric must be one of"):
        pair_scores(e, (a, b), metric="l1")
    with pytest.raises(ValueError, match="pair index b out of range for 6 embeddings"):
        pair_scores(e, (a, np.array([0, 1, 6])))
    with pytest.raises(ValueError, match="a has 3, b 2"):
        pair_scores(e, (a, b[:2]))


@pytest.mark.parametrize("metric", ["cosine", "sqeuclidean"])
def test_all_pairs_scores_matches_naive(metric):
    rng = np.random.default_rng(1)
    e, y = rng.normal(size=(9, 3)), rng.integers(0, 3, 9)
    scores, issame = all_pairs_scores(e, y, metric=metric, chunk=4)
    i, j = np.triu_indices(9, 1)
    ref = pair_scores(e, (i, j), metric=metric).numpy()
    np.testing.assert_allclose(scores.numpy(), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(issame.numpy(), y[i] == y[j])
    with pytest.raises(ValueError, match="labels has 8 entries but there are 9"):
        all_pairs_scores(e, y[:8])
    with pytest.raises(ValueError, match="at least two embeddings"):
        all_pairs_scores(e[:1], y[:1])


def test_evaluate_verification_embeds_only_used_images():
    model, images = Tiny().eval(), _images(12)
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    labels = np.arange(12) // 3
    pairs = SimpleNamespace(a=np.array([0, 0, 3, 6, 9, 1]), b=np.array([1, 3, 4, 9, 10, 6]),
                            issame=np.array([1, 0, 1, 0, 1, 0], bool), fold=np.array([0, 0, 0, 1, 1, 1]))
    dataset = SimpleNamespace(images=images, labels=torch.as_tensor(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = evaluate_verification(model, dataset, pairs, flip=True, fars=(0.5,))
    assert sum(calls) == 2 * 7  # 7 distinct images, each with its mirror
    emb = embed(model, images, flip=True)
    ref = verification_metrics(pair_scores(emb, pairs), pairs.issame, folds=pairs.fold,
                               fars=(0.5,))
    assert out["auc"] == pytest.approx(ref["auc"]) and out["acc_mean"] == ref["acc_mean"]
    assert out["flip"] is True and out["embedding_dim"] == 5


class Diverged(nn.Module):
    """Tiny, but images whose first pixel is bright come out NaN/Inf (as after a diverged run)."""

    def __init__(self):
        super().__init__()
        self.tiny = Tiny()

    def forward(self, x):
        e = self.tiny(x)
        bright = x[:, 0, 0, 0] > 0  # (B,)
        return torch.where(bright[:, None], torch.full_like(e, float("inf")) * torch.sign(e), e)


def test_embed_refuses_non_finite_embeddings():
    from facecourse.data import FaceDataset
    from facecourse.eval import NonFiniteEmbeddingError
    images = _images(12)
    n_bright = int((images[:, 0, 0, 0].float() / 127.5 - 1 > 0).sum())
    assert 0 < n_bright < 12
    with pytest.raises(NonFiniteEmbeddingError) as e:
        embed(Diverged(), images, batch_size=5)
    assert isinstance(e.value, ValueError) and (e.value.n_bad, e.value.n_images) == (n_bright, 12)
    assert str(e.value) == (f"the model produced NaN/Inf embeddings for {n_bright} of 12 images: its "
                            "weights are broken (e.g. saved from a diverged run); retrain or use an "
                            "earlier checkpoint")
    ds = FaceDataset(images, torch.arange(12) % 3, ["a", "b", "c"], name="toy")
    pairs = SimpleNamespace(a=np.arange(6), b=np.arange(6, 12), issame=np.arange(6) % 2 == 0)
    with pytest.raises(NonFiniteEmbeddingError, match=r"embeddings for \d+ of 12 images of toy: its"):
        evaluate_verification(Diverged(), ds, pairs)
