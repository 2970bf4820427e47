"""Identification metrics against scikit-learn's nearest neighbours and hand-worked cases."""
import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from facecourse.eval.identification import (
    dir_at_far, identification, leave_one_out_rank1, scan_gallery,
)
from facecourse.eval.verification import FARResolutionWarning


def _clusters(n_ids=12, per_id=5, dim=16, noise=0.9, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_ids, dim, generator=g)
    labels = torch.arange(n_ids).repeat_interleave(per_id)
    return centers[labels] + noise * torch.randn(len(labels), dim, generator=g), labels


def _sklearn_ranks(probe, probe_y, gallery, gallery_y):
    nn = NearestNeighbors(n_neighbors=len(gallery), metric="cosine").fit(gallery.numpy())
    _, idx = nn.kneighbors(probe.numpy())  # (Q, G) gallery order by distance
    match = gallery_y.numpy()[idx] == probe_y.numpy()[:, None]
    return match.argmax(1) + 1  # rank of the first correct gallery image


@pytest.mark.parametrize("chunks", [(1024, 16384), (3, 7)])
def test_rank_k_and_cmc_match_sklearn(chunks):
    emb, y = _clusters()
    gallery, gy = emb[::5], y[::5]  # one enrolled image per identity
    probe, py = emb[torch.arange(len(y)) % 5 != 0], y[torch.arange(len(y)) % 5 != 0]
    out = identification(probe, py, gallery, gy, ks=(1, 3, 5), probe_chunk=chunks[0],
                         gallery_chunk=chunks[1])
    ref = _sklearn_ranks(probe, py, gallery, gy)
    np.testing.assert_array_equal(np.minimum(out["ranks"], 6), np.minimum(ref, 6))
    for k in (1, 3, 5):
        assert out[f"rank@{k}"] == pytest.approx((ref <= k).mean())
    np.testing.assert_allclose(out["cmc"], [(ref <= r).mean() for r in range(1, 6)])
    assert 0 < out["rank@1"] < 1  # the case is neither trivial nor hopeless
    assert np.all(np.diff(out["cmc"]) >= 0)


def test_multiple_gallery_images_per_identity():
    emb, y = _clusters(n_ids=6, per_id=6, seed=2)
    gsel = torch.arange(len(y)) % 6 < 3
    out = identification(emb[~gsel], y[~gsel], emb[gsel], y[gsel], ks=(1, 2), gallery_chunk=4)
    ref = _sklearn_ranks(emb[~gsel], y[~gsel], emb[gsel], y[gsel])
    assert out["rank@1"] == pytest.approx((ref <= 1).mean())
    assert out["rank@2"] == pytest.approx((ref <= 2).mean())


def test_hand_worked_ranks_and_ties():
    # 2-D unit vectors at angles; gallery A at 0°, B at 90°, C at 180°
    ang = np.deg2rad
    gallery = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    probe = torch.tensor([[np.cos(ang(10)), np.sin(ang(10))],   # A, nearest A -> rank 1
                          [np.cos(ang(60)), np.sin(ang(60))],   # A, nearest B -> rank 2
                          [np.cos(ang(45)), np.sin(ang(45))]],  # A, tie A/B -> counted rank 2
                         dtype=torch.float32)
    out = identification(probe, [0, 0, 0], gallery, [0, 1, 2], ks=(1, 2))
    np.testing.assert_array_equal(out["ranks"], [1, 2, 2])
    assert out["rank@1"] == pytest.approx(1 / 3) and out["rank@2"] == 1.0


def test_leave_one_out_matches_sklearn_and_skips_singletons():
    emb, y = _clusters(n_ids=10, per_id=4, seed=1)
    emb = torch.cat([emb, torch.randn(3, emb.shape[1])])  # three singleton identities
    y = torch.cat([y, torch.tensor([100, 101, 102])])
    out = leave_one_out_rank1(emb, y, probe_chunk=7, gallery_chunk=5)
    nn = NearestNeighbors(n_neighbors=2, metric="cosine").fit(emb.numpy())
    _, idx = nn.kneighbors(emb.numpy())
    nearest_other = np.where(idx[:, 0] == np.arange(len(y)), idx[:, 1], idx[:, 0])
    ref = (y.numpy()[nearest_other] == y.numpy())[:40].mean()
    assert out == {"rank1": pytest.approx(ref), "n_probes": 40, "n_singletons": 3}
    with pytest.raises(ValueError, match="at least one identity with two or more images"):
        leave_one_out_rank1(emb[:3], [0, 1, 2])


def test_dir_at_far_hand_worked():
    # Gallery: identities 0 and 1 on the axes. All probes lie on the far side of identity 1,
    # so each probe's top-1 is identity 0 with score = its cosine c to (1, 0).
    # Genuine probes: id 0 at c = .9 and .4 (correct), id 1 at c = .95 (wrong identity).
    # Impostor probes (id 9, not enrolled): top-1 scores .8, .5, .3, .1.
    def at(c):
        return [c, -np.sqrt(1 - c * c)]
    gallery = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    probe = torch.tensor([at(0.9), at(0.4), at(0.95), at(0.8), at(0.5), at(0.3), at(0.1)],
                         dtype=torch.float32)
    labels = [0, 0, 1, 9, 9, 9, 9]
    out = dir_at_far(probe, labels, gallery, [0, 1], fars=(0.25, 0.5, 1.0))
    assert out["n_genuine"] == 3 and out["n_impostor"] == 4
    assert out["rank1"] == pytest.approx(2 / 3)
    # FAR .25 allows one impostor (.8) above t: t just above .5 -> only the .9 probe
    assert out["dir@far=2.5e-1"] == pytest.approx(1 / 3)
    assert out["threshold@far=2.5e-1"] == pytest.approx(0.5) and out["threshold@far=2.5e-1"] > 0.5
    # FAR .5: t just above .3 -> .9 and .4
    assert out["dir@far=5e-1"] == pytest.approx(2 / 3)
    assert out["threshold@far=5e-1"] == pytest.approx(0.3)
    # FAR 1: everything accepted; the misidentified probe still does not count
    assert out["dir@far=1e0"] == pytest.approx(2 / 3) and out["threshold@far=1e0"] == -np.inf
    with pytest.warns(FARResolutionWarning, match="below the resolution 1/4"):
        low = dir_at_far(probe, labels, gallery, [0, 1], fars=(0.1,))
    assert low["dir@far=1e-1"] == pytest.approx(1 / 3)  # t above .8


def test_identification_errors():
    emb, y = _clusters(n_ids=3, per_id=2)
    with pytest.raises(ValueError, match="1 probe\\(s\\) have an identity absent"):
        identification(emb[:2], [1, 7], emb[2:], y[2:])
    with pytest.raises(ValueError, match="needs both genuine probes"):
        dir_at_far(emb, y, emb, y)
    with pytest.raises(ValueError, match="probe_emb is 16-d but gallery_emb is 8-d"):
        scan_gallery(emb, y, emb[:, :8], y)
    with pytest.raises(ValueError, match="gallery_labels has 2 entries but there are 6"):
        scan_gallery(emb, y, emb, y[:2])
    bad = emb.clone()
    bad[1, 3] = float("nan")
    with pytest.raises(ValueError, match="probe_emb contains 1 non-finite value"):
        identification(bad, y, emb, y)
    with pytest.raises(ValueError, match="ks must be positive ranks"):
        identification(emb, y, emb, y, ks=(0,))
