"""Clustering and its metrics against naive loops, hand-worked values and scikit-learn."""
import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from facecourse.eval.clustering import (
    ari, bcubed_f, choose_k, cluster_agglomerative, cluster_kmeans, cluster_threshold, nmi,
    pairwise_prf,
)


def _blobs(k=4, per=6, dim=8, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim))
    labels = np.repeat(np.arange(k), per)
    return centers[labels] + noise * rng.normal(size=(k * per, dim)), labels


def _naive_pairwise(t, p):
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(t)), 2):
        same_t, same_p = t[i] == t[j], p[i] == p[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    return tp / (tp + fp), tp / (tp + fn)


def _naive_bcubed(t, p):
    prec = np.mean([np.mean(t[p == p[i]] == t[i]) for i in range(len(t))])
    rec = np.mean([np.mean(p[t == t[i]] == p[i]) for i in range(len(t))])
    return prec, rec


def test_hand_worked_metrics():
    t = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([5, 5, 7, 7, 7, 7])
    # pairs in the same cluster: C(2,2) + C(4,2) = 7, of which same identity: 1 + 1 = 2
    # pairs of the same identity: C(3,2) + C(2,2) = 4
    prec, rec, f = pairwise_prf(t, p)
    assert (prec, rec) == pytest.approx((2 / 7, 2 / 4))
    assert f == pytest.approx(2 * (2 / 7) * 0.5 / (2 / 7 + 0.5))
    # BCubed precision: faces 0,1: 1; faces 2..5 in cluster {0,1,1,2}: 1/4, 2/4, 2/4, 1/4
    # recall: faces 0,1: 2/3, face 2: 1/3; faces 3,4: 1; face 5: 1
    bp, br, bf = bcubed_f(t, p, return_pr=True)
    assert bp == pytest.approx((1 + 1 + 0.25 + 0.5 + 0.5 + 0.25) / 6)
    assert br == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1 + 1) / 6)
    assert bf == pytest.approx(2 * bp * br / (bp + br))
    assert bcubed_f(t, p) == bf
    assert pairwise_prf(t, t) == (1.0, 1.0, 1.0) and bcubed_f(t, t) == 1.0


def test_metrics_against_naive_and_sklearn():
    rng = np.random.default_rng(4)
    t, p = rng.integers(0, 5, 60), rng.integers(0, 7, 60)
    prec, rec, _ = pairwise_prf(t, p)
    assert (prec, rec) == pytest.approx(_naive_pairwise(t, p))
    bp, br, _ = bcubed_f(t, p, return_pr=True)
    assert (bp, br) == pytest.approx(_naive_bcubed(t, p))
    assert nmi(t, p) == pytest.approx(normalized_mutual_info_score(t, p))
    assert ari(t, p) == pytest.approx(adjusted_rand_score(t, p))
    # label values do not matter, only the partition
    assert bcubed_f(t * 10 + 3, p - 50) == pytest.approx(bcubed_f(t, p))


def test_all_singletons_edge_case():
    t = np.array([0, 1, 2])
    assert pairwise_prf(t, t) == (1.0, 1.0, 1.0)  # no pairs anywhere: ratios defined as 1
    assert pairwise_prf(t, np.zeros(3)) == (0.0, 1.0, 0.0)


def test_clusterings_recover_separated_identities():
    emb, labels = _blobs()
    for pred in (cluster_kmeans(emb, 4, seed=0),
                 cluster_agglomerative(emb, k=4),
                 cluster_agglomerative(emb, distance_threshold=0.5),
                 cluster_threshold(emb, 0.8, chunk=5)):
        assert ari(labels, pred) == pytest.approx(1.0)
    best, scores = choose_k(emb, [2, 3, 4, 5, 6])
    assert best == 4 and set(scores) == {2, 3, 4, 5, 6}


def test_cluster_threshold_is_connected_components():
    # three unit vectors in a chain: a~b (cos .95), b~c (cos .95), a, c further apart
    ang = np.deg2rad([0, 18, 36, 120])
    emb = np.stack([np.cos(ang), np.sin(ang)], 1)
    ids = cluster_threshold(emb, 0.94)
    assert ids[0] == ids[1] == ids[2] != ids[3]  # chained through b although cos(a, c) < .94
    assert len(set(cluster_threshold(emb, 0.999))) == 4


def test_clustering_errors():
    emb, labels = _blobs()
    with pytest.raises(ValueError, match="exactly one of k or distance_threshold"):
        cluster_agglomerative(emb)
    with pytest.raises(ValueError, match="linkage='ward' needs metric='euclidean'"):
        cluster_agglomerative(emb, k=2, linkage="ward")
    with pytest.raises(ValueError, match="k must be between 1 and the number of embeddings"):
        cluster_kmeans(emb, 0)
    with pytest.raises(ValueError, match="method must be 'silhouette'"):
        choose_k(emb, [2], method="gap")
    with pytest.raises(ValueError, match="ks needs values between 2 and n - 1"):
        choose_k(emb, [1, 500])
    with pytest.raises(ValueError, match="labels_true has 3 entries but labels_pred has 2"):
        bcubed_f([0, 1, 1], [0, 1])
    bad = emb.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="embeddings contains 1 non-finite value"):
        cluster_kmeans(bad, 2)
