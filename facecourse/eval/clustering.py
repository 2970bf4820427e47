"""Face clustering and its metrics: k-means, agglomerative, threshold grouping; NMI, ARI,
pairwise precision/recall/F and BCubed F.

k-means runs on L2-normalized embeddings (so squared distance = 2 - 2 cos θ). Metrics compare
`labels_true` (identities) with `labels_pred` (cluster ids); both are any integer labelling.

References: Amigó et al., "A comparison of extrinsic clustering evaluation metrics based on
formal constraints", Information Retrieval 2009 (BCubed); Otto, Wang & Jain, "Clustering
Millions of Faces by Identity", arXiv:1604.00989 (pairwise precision/recall for faces).

Lesson 07 scores its clusterings with these.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

from ._checks import check_finite, to_numpy


def _unit(embeddings) -> np.ndarray:
    e = to_numpy(embeddings, "embeddings", np.float64)
    if e.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {e.shape}")
    check_finite(e.reshape(-1), "embeddings")
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def cluster_kmeans(embeddings, k: int, seed: int = 0) -> np.ndarray:
    """k-means (scikit-learn, 10 restarts) on the normalized embeddings -> cluster ids (N,)."""
    e = _unit(embeddings)
    if not 1 <= k <= len(e):
        raise ValueError(f"k must be between 1 and the number of embeddings ({len(e)}), got {k}")
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(e)


def cluster_agglomerative(embeddings, k: int | None = None,
                          distance_threshold: float | None = None, linkage: str = "average",
                          metric: str = "cosine") -> np.ndarray:
    """Agglomerative clustering into `k` clusters, or cut at `distance_threshold` (give one).

    With ``metric="cosine"`` the distance is 1 - cos θ, so a threshold of 0.6 merges groups
    whose (average-linkage) cosine similarity exceeds 0.4.
    """
    if (k is None) == (distance_threshold is None):
        raise ValueError("cluster_agglomerative needs exactly one of k or distance_threshold")
    if linkage == "ward" and metric != "euclidean":
        raise ValueError("linkage='ward' needs metric='euclidean'")
    model = AgglomerativeClustering(n_clusters=k, distance_threshold=distance_threshold,
                                    linkage=linkage, metric=metric)
    return model.fit_predict(_unit(embeddings))


def cluster_threshold(embeddings, threshold: float, chunk: int = 4096) -> np.ndarray:
    """Group faces: connected components of the graph "cos θ >= threshold" -> ids (N,).

    The simplest grouping (single-linkage cut at 1 - threshold); edges are found `chunk`
    rows at a time so the similarity block stays (chunk, N).
    """
    e = torch.as_tensor(_unit(embeddings), dtype=torch.float32)
    rows, cols = [], []
    for i in range(0, len(e), chunk):
        r, c = torch.nonzero(e[i:i + chunk] @ e.T >= threshold, as_tuple=True)
        rows.append(r.numpy() + i)
        cols.append(c.numpy())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(rows.size, bool), (rows, cols)), shape=(len(e), len(e)))
    return connected_components(graph, directed=False)[1]


def choose_k(embeddings, ks, method: str = "silhouette", seed: int = 0) -> tuple[int, dict]:
    """Pick k for k-means by the mean silhouette (cosine distance): ``(best_k, {k: score})``."""
    if method != "silhouette":
        raise ValueError(f"method must be 'silhouette', got {method!r}")
    e = _unit(embeddings)
    ks = [int(k) for k in ks if 2 <= int(k) < len(e)]
    if not ks:
        raise ValueError(f"ks needs values between 2 and n - 1 = {len(e) - 1}")
    scores = {k: float(silhouette_score(e, cluster_kmeans(e, k, seed), metric="cosine"))
              for k in ks}
    return max(scores, key=scores.get), scores


def _contingency(labels_true, labels_pred) -> np.ndarray:
    t = to_numpy(labels_true, "labels_true").reshape(-1)
    p = to_numpy(labels_pred, "labels_pred").reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"labels_true has {t.size} entries but labels_pred has {p.size}")
    if t.size == 0:
        raise ValueError("labels are empty: nothing to compare")
    _, ti = np.unique(t, return_inverse=True)
    _, pi = np.unique(p, return_inverse=True)
    table = np.zeros((ti.max() + 1, pi.max() + 1), dtype=np.int64)  # (classes, clusters)
    np.add.at(table, (ti, pi), 1)
    return table


def nmi(labels_true, labels_pred) -> float:
    """Normalized mutual information (scikit-learn, arithmetic normalization)."""
    _contingency(labels_true, labels_pred)  # same checks as the other metrics
    return float(normalized_mutual_info_score(to_numpy(labels_true, "labels_true"),
                                              to_numpy(labels_pred, "labels_pred")))


def ari(labels_true, labels_pred) -> float:
    """Adjusted Rand index (scikit-learn)."""
    _contingency(labels_true, labels_pred)
    return float(adjusted_rand_score(to_numpy(labels_true, "labels_true"),
                                     to_numpy(labels_pred, "labels_pred")))


def pairwise_prf(labels_true, labels_pred) -> tuple[float, float, float]:
    """Pairwise precision, recall, F over all unordered pairs of faces.

    precision = pairs together in a cluster that share an identity / pairs together in a
    cluster; recall = same / pairs sharing an identity. A ratio with no pairs is 1.
    """
    table = _contingency(labels_true, labels_pred)

    def pairs(n):
        return float((n * (n - 1) // 2).sum())

    tp, pred, true = pairs(table), pairs(table.sum(0)), pairs(table.sum(1))
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f


def bcubed_f(labels_true, labels_pred, return_pr: bool = False):
    """BCubed F: per face, precision = share of its cluster with its identity, recall = share
    of its identity in its cluster; averaged over faces, then the harmonic mean."""
    table = _contingency(labels_true, labels_pred).astype(np.float64)
    n = table.sum()
    precision = float((table ** 2 / table.sum(0, keepdims=True)).sum() / n)
    recall = float((table ** 2 / table.sum(1, keepdims=True)).sum() / n)
    f = 2 * precision * recall / (precision + recall)
    return (precision, recall, f) if return_pr else f
