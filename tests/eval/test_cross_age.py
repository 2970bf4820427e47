"""The seed report's cross-age protocol (LAG): pairs young/adult, Rank-1 young -> adult."""
import numpy as np
import torch

from facecourse.data import FaceDataset
from facecourse.eval.cross_age import cross_age_metrics, hardest_pairs


def lag_like(people=24, young=2, adult=3, seed=0):
    """A LAG-shaped FaceDataset (blank images) with meta['young']."""
    labels = np.repeat(np.arange(people), young + adult)
    is_young = np.tile([True] * young + [False] * adult, people)
    images = torch.zeros(len(labels), 3, 8, 8, dtype=torch.uint8)
    names = [f"p{i:02d}" for i in range(people)]
    return FaceDataset(images, labels, names, meta={"young": is_young}, name="lag-like")


def identity_embeddings(ds, noise, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(ds.num_classes, 16, generator=g)
    emb = centres[ds.labels] + noise * torch.randn(len(ds), 16, generator=g)
    return torch.nn.functional.normalize(emb, dim=1)


def test_a_perfect_model_scores_one_and_a_blind_one_chance():
    ds = lag_like()
    good = cross_age_metrics(identity_embeddings(ds, 0.01), ds)
    assert good["rank1"] == 1.0 and good["auc"] == 1.0 and good["tar@far=1e-2"] == 1.0
    assert good["n_probes"] == 48 and good["n_gallery"] == 72 and good["n_people"] == 24
    assert good["n_pairs"] == 2 * 24 * 2 * 3  # every young x adult of a person, as many impostors
    blind = cross_age_metrics(torch.nn.functional.normalize(torch.randn(len(ds), 16), dim=1), ds)
    assert 0.3 < blind["auc"] < 0.7 and blind["rank1"] < 0.3


def test_only_the_test_people_enter_and_the_hardest_pairs_are_the_extremes():
    ds = lag_like(people=48)
    test = [f"p{i:02d}" for i in range(0, 48, 2)]
    r = cross_age_metrics(identity_embeddings(ds, 0.8), ds, people=test)
    keep = {ds.identity_names.index(n) for n in test}
    labels = ds.labels.numpy()
    assert set(labels[r["pairs"].a]) | set(labels[r["pairs"].b]) <= keep
    assert r["n_people"] == 24 and ds.meta["young"][r["pairs"].a].all()
    assert not ds.meta["young"][r["pairs"].b].any()
    hard = hardest_pairs(r, k=3)
    pos = np.asarray(r["scores"])[np.asarray(r["issame"])]
    a, b = hard["matched"]
    got = [float(np.dot(*identity_embeddings(ds, 0.8)[[i, j]].numpy())) for i, j in zip(a, b)]
    np.testing.assert_allclose(sorted(got), np.sort(pos)[:3], rtol=1e-5)
    assert (labels[hard["mismatched"][0]] != labels[hard["mismatched"][1]]).all()
