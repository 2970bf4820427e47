"""Evaluation: embeddings (and their on-disk cache), 1:1 verification, 1:N identification,
clustering.

Scores everywhere: higher = more similar, accept when ``score >= threshold``.
"""
from .clustering import (
    ari, bcubed_f, choose_k, cluster_agglomerative, cluster_kmeans, cluster_threshold, nmi,
    pairwise_prf,
)
from .calibration import (
    calibrate, calibrate_lfw, calibration_record, rates_at, synthetic_held_out,
)
from .closed_set import closed_set_accuracy, predict_classes
from .cross_age import cross_age_metrics, evaluate_cross_age, hardest_pairs
from .embedding_cache import (
    cached_embeddings, data_key, dlib_cache_path, dlib_embeddings, lfw_needed,
)
from .embeddings import (
    NonFiniteEmbeddingError, all_pairs_scores, embed, evaluate_verification, pair_scores,
)
from .identification import dir_at_far, identification, leave_one_out_rank1, scan_gallery
from .robustness import degradation_curves, gallery_probe_scores
from .spread import centre_similarity, class_centres, class_spread
from .verification import (
    FARResolutionWarning, accuracy_at, auc, best_threshold, eer, far_key, kfold_accuracy, roc,
    tar_at_far, val_at_far, verification_metrics,
)
from .view1 import evaluate_view1, view1_metrics

__all__ = [
    "embed", "pair_scores", "all_pairs_scores", "evaluate_verification", "NonFiniteEmbeddingError",
    "cached_embeddings", "data_key", "dlib_embeddings", "dlib_cache_path", "lfw_needed",
    "roc", "auc", "eer", "tar_at_far", "val_at_far", "kfold_accuracy", "verification_metrics",
    "best_threshold", "accuracy_at", "view1_metrics", "evaluate_view1",
    "far_key", "FARResolutionWarning",
    "identification", "leave_one_out_rank1", "dir_at_far", "scan_gallery",
    "cluster_kmeans", "cluster_agglomerative", "cluster_threshold", "choose_k",
    "nmi", "ari", "pairwise_prf", "bcubed_f",
    "closed_set_accuracy", "predict_classes", "class_spread", "class_centres", "centre_similarity",
    "gallery_probe_scores", "degradation_curves",
    "calibrate", "calibrate_lfw", "calibration_record", "rates_at", "synthetic_held_out",
    "cross_age_metrics", "evaluate_cross_age", "hardest_pairs",
]
