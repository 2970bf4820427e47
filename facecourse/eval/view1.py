"""LFW View 1: choose the threshold on the DevTrain pairs, measure on the DevTest pairs.

Huang et al., "Labeled Faces in the Wild", UMass TR 07-49, 2007, Sec. 3: View 1 is for model
development. `pairsDevTrain.txt` (1,100 matched + 1,100 mismatched pairs) is where parameters
such as the acceptance threshold are chosen; `pairsDevTest.txt` (500 + 500, people disjoint
from DevTrain's) is where the result is measured, once. A model trained on DevTrain people
has seen the DevTrain pairs' people, so its threshold is chosen on familiar faces and applied
to new ones; `acc_cv` (10-fold cross-validation inside DevTest) shows what a threshold chosen
on new faces would give.
"""
from __future__ import annotations

import numpy as np
import torch

from .embeddings import embed, pair_scores
from .verification import accuracy_at, best_threshold, verification_metrics


def view1_metrics(embeddings, lfw, metric: str = "cosine", fars=(1e-2,), threshold_pairs=None) -> dict:
    """View 1 numbers from embeddings (N, D) of `lfw.dataset`'s images (rows that no pair
    uses are ignored and may be NaN). `threshold_pairs`, a mask over the DevTrain pairs
    (`LFW.threshold_pairs`): only those choose the threshold, matched and mismatched pairs
    weighed equally; None = every DevTrain pair (the file holds as many of each).

    Keys: ``acc`` (DevTest accuracy at the threshold best on DevTrain pairs), ``threshold``,
    ``devtrain_acc`` (at that threshold), ``acc_cv`` (DevTest, 10-fold cross-validated, each
    fold 50 + 50 pairs), ``auc``, ``eer``, ``tar@far=1e-2``, ``far_resolution``, ``n_pairs``,
    ``n_devtrain_pairs`` (those that chose the threshold).
    """
    train, test = lfw.dev_train, lfw.dev_test
    chosen = slice(None) if threshold_pairs is None else np.asarray(threshold_pairs, bool)
    balanced = threshold_pairs is not None
    train_scores = pair_scores(embeddings, train, metric=metric).cpu().numpy()[chosen]
    train_same = np.asarray(train.issame, bool)[chosen]
    test_scores = pair_scores(embeddings, test, metric=metric)
    threshold = best_threshold(train_scores, train_same, balanced=balanced)
    folds = np.arange(len(test)) % 10  # the file lists all matched pairs first: interleave
    m = verification_metrics(test_scores, test.issame, folds=folds, fars=fars)
    out = {"acc": accuracy_at(test_scores, test.issame, threshold), "threshold": threshold,
           "devtrain_acc": accuracy_at(train_scores, train_same, threshold, balanced=balanced),
           "acc_cv": m["acc_mean"], "auc": m["auc"], "eer": m["eer"],
           "far_resolution": m["far_resolution"], "n_pairs": len(test),
           "n_devtrain_pairs": len(train_scores), "metric": metric}
    out.update({k: v for k, v in m.items() if k.startswith("tar@far=")})
    return out


def evaluate_view1(backbone: torch.nn.Module, lfw, flip: bool = True, batch_size: int = 256,
                   device=None, progress: bool = False) -> dict:
    """Embed the images of the DevTrain and DevTest pairs with `backbone` (flip test-time
    augmentation by default, as insightface evaluates) and return `view1_metrics`."""
    pairs = (lfw.dev_train, lfw.dev_test)
    used = np.unique(np.concatenate([np.r_[p.a, p.b] for p in pairs]))
    emb = embed(backbone, lfw.dataset.images[torch.as_tensor(used)], batch_size=batch_size,
                flip=flip, device=device, progress=progress)  # (U, D)
    full = torch.full((lfw.dataset.images.shape[0], emb.shape[1]), float("nan"))
    full[torch.as_tensor(used)] = emb
    return {**view1_metrics(full, lfw), "flip": flip}
