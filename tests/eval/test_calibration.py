"""Calibrated thresholds: against a brute-force count over every pair, the resolution rule,
the keep-only-the-top streaming, rates_at, and the LFW split (DevTrain to choose, DevTest to check)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_curve

from facecourse.eval import calibrate, calibrate_lfw, rates_at


def clustered(n_people=12, per=5, dim=6, spread=0.6, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_people, dim, generator=g)
    labels = torch.arange(n_people).repeat_interleave(per)
    return centres[labels] + spread * torch.randn(len(labels), dim, generator=g), labels


def brute(emb, labels):
    e = torch.nn.functional.normalize(emb.double(), dim=1)
    i, j = torch.triu_indices(len(e), len(e), 1)
    return (e[i] * e[j]).sum(1).numpy(), (labels[i] == labels[j]).numpy()


def test_thresholds_match_a_count_over_every_pair():
    emb, labels = clustered()
    scores, same = brute(emb, labels)
    out = calibrate(emb, labels, fars=(1e-1, 1e-2), chunk=7)  # small chunks: many blocks
    n_imp = int((~same).sum())
    assert out["n_impostor"] == n_imp and out["n_genuine"] == int(same.sum()) == 12 * 10
    assert out["far_resolution"] == 1 / n_imp and out["n_people"] == 12 and out["n_images"] == 60
    for row in out["thresholds"]:
        t, k = row["threshold"], row["impostors_above"]
        # float32 blocks vs float64 here: counts agree up to scores within 1e-6 of t
        assert (scores[~same] >= t + 1e-6).sum() <= k <= (scores[~same] >= t - 1e-6).sum()
        assert k == np.floor(row["far"] * n_imp)  # as many impostors as the FAR allows, no more
        next_imp = np.sort(scores[~same])[::-1][k]  # the lowest such threshold: the next impostor
        assert next_imp < t + 1e-6  # would exceed the FAR
        assert (scores[same] >= t + 1e-6).mean() <= row["tar"] <= (scores[same] >= t - 1e-6).mean()
        assert row["calibrated"]
        # sklearn's ROC: at t the FAR is the largest one <= far
        fpr, tpr, thr = roc_curve(same, scores, drop_intermediate=False)
        assert fpr[thr >= t + 1e-6].max() <= k / n_imp <= fpr[thr >= t - 1e-6].max()


def test_a_far_below_the_resolution_is_not_calibrated():
    emb, labels = clustered(n_people=5, per=4)  # 190 pairs, 160 impostors: resolution 6e-3
    out = calibrate(emb, labels)
    by_far = {r["far"]: r for r in out["thresholds"]}
    assert by_far[1e-2]["calibrated"] and by_far[1e-2]["impostors_above"] == 1
    assert not by_far[1e-3]["calibrated"] and not by_far[1e-4]["calibrated"]
    scores, same = brute(emb, labels)
    assert by_far[1e-3]["threshold"] > scores[~same].max() - 1e-6  # above every impostor
    assert by_far[1e-3]["impostors_above"] == 0


def test_streaming_equals_one_block():
    emb, labels = clustered(n_people=20, per=3)
    a, b = calibrate(emb, labels, chunk=4), calibrate(emb, labels, chunk=10_000)
    assert [r["impostors_above"] for r in a["thresholds"]] == [r["impostors_above"] for r in b["thresholds"]]
    np.testing.assert_allclose([r["threshold"] for r in a["thresholds"]],
                               [r["threshold"] for r in b["thresholds"]], atol=1e-6)


def test_rates_at_counts_every_pair():
    emb, labels = clustered(seed=3)
    scores, same = brute(emb, labels)
    got = rates_at(emb, labels, [0.0, 0.5, 2.0], chunk=9)
    for row in got:
        t = row["threshold"]
        assert row["impostors_above"] == int((scores[~same] >= t).sum())  # no score within 1e-6 of these
        assert row["measured_far"] == pytest.approx((scores[~same] >= t).mean())
        assert row["tar"] == pytest.approx((scores[same] >= t).mean())
    assert got[2]["impostors_above"] == 0 and got[2]["tar"] == 0


def test_errors():
    with pytest.raises(ValueError, match="at least two people"):
        calibrate(torch.randn(4, 3), [0, 0, 0, 0])
    with pytest.raises(ValueError, match="labels has 3 entries but there are 4 embeddings"):
        calibrate(torch.randn(4, 3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"a FAR is in \(0, 1\)"):
        calibrate(torch.randn(4, 3), [0, 1, 2, 3], fars=(0.0,))
    bad = torch.randn(4, 3)
    bad[1, 0] = float("nan")
    with pytest.raises(ValueError, match="embeddings"):
        calibrate(bad, [0, 1, 2, 3])


def test_lfw_calibrates_on_devtrain_people_and_checks_on_devtest_people():
    emb, labels = clustered(n_people=10, per=4)
    names = [f"p{c}" for c in range(10)]
    lfw = SimpleNamespace(dataset=SimpleNamespace(labels=labels, identity_names=names),
                          devtrain_indices=lambda: np.arange(24), devtest_identities=names[6:])
    rec = calibrate_lfw(emb, lfw, trained_on_devtrain=True)
    assert rec["n_images"] == 24 and rec["n_people"] == 6  # DevTrain people only
    assert rec["data"] == "LFW DevTrain (24 images of 6 people, all pairs)"
    assert "trained on these people" in rec["note"]
    only = calibrate(emb[:24], labels[:24])
    assert [r["threshold"] for r in rec["thresholds"]] == [r["threshold"] for r in only["thresholds"]]
    (name, rows), = rec["checks"].items()
    assert name.startswith("LFW DevTest people (16 images of 4 people, all pairs")
    check = rates_at(emb[24:], labels[24:], [r["threshold"] for r in rec["thresholds"]])
    assert [r["impostors_above"] for r in rows] == [r["impostors_above"] for r in check]
