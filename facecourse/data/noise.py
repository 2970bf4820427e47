"""Label noise for the noisy-labels lesson, and one way to find it again.

Lesson 09 trains through it; lesson 11 adds it to the faces it searches over.

Large face data sets are noisy in two ways (Wang et al. 2018, "The Devil of Face Recognition is
in the Noise", arXiv:1807.11649): *closed-set* noise, an image labelled as another identity of
the same set (a label flip), and *open-set* noise, an image of someone who is not in the set at
all (an outlier) that carries one of its labels. `add_label_noise` plants both at chosen rates,
as BoundaryFace's experiments do (Wu & Gong 2022, arXiv:2210.04567; their scripts
utils/generate_label_flip.py and generate_outlier_update.py: flips to a uniformly random other
class, outliers taken from another data set). The usual cleaning score, how close each image
lies to its own class centre under a model, is `facecourse.eval.centre_similarity`.
"""
from __future__ import annotations

import numpy as np
import torch

from .dataset import FaceDataset

NOISE_KINDS = ("clean", "closed", "open")  # the codes 0, 1, 2 of meta["noise"]


def add_label_noise(dataset: FaceDataset, closed_rate: float = 0.0, open_rate: float = 0.0,
                    outliers: FaceDataset | None = None, seed: int = 0) -> tuple[FaceDataset, np.ndarray]:
    """A copy of `dataset` with label noise; returns ``(noisy, is_noisy)``, is_noisy (N,) bool.

    closed_rate: share of the N images (exactly round(rate * N)) whose label is flipped to a
        uniformly random *other* class of the set.
    open_rate: share of images whose picture is replaced by one from `outliers` (identities
        outside the set, e.g. ``SyntheticFaces(..., first_identity=10_000)``), keeping the
        label of the slot. The two kinds never hit the same image.
    meta gains ``noise`` (N,) with codes 0/1/2 = `NOISE_KINDS`, ``clean_label`` (the true label;
    -1 for an outlier) and ``outlier_index`` (the image's index in `outliers`, else -1); for an
    outlier every other meta field that both sets have (``identity``, ``age``...) and its
    landmarks come from the outlier image.
    """
    n = len(dataset)
    if dataset.images is None:
        raise ValueError("add_label_noise needs a data set with in-memory images (a FaceDataset "
                         "built from a tensor, e.g. SyntheticFaces or load_lfw(...).dataset)")
    if not (0 <= closed_rate <= 1 and 0 <= open_rate <= 1):
        raise ValueError(f"add_label_noise: rates must be in [0, 1], got closed_rate={closed_rate}, "
                         f"open_rate={open_rate}")
    n_closed, n_open = int(round(closed_rate * n)), int(round(open_rate * n))
    if n_closed + n_open > n:
        raise ValueError(f"add_label_noise: closed_rate + open_rate = {closed_rate + open_rate} > 1")
    if n_closed and dataset.num_classes < 2:
        raise ValueError("add_label_noise: a label flip needs at least two classes")
    if n_open:
        _check_outliers(dataset, outliers)
    rng = np.random.default_rng([seed, 9])
    order = rng.permutation(n)
    closed, opened = order[:n_closed], order[n_closed:n_closed + n_open]

    clean = dataset.labels.numpy()
    labels = clean.copy()
    labels[closed] = (clean[closed] + rng.integers(1, dataset.num_classes, n_closed)) % dataset.num_classes
    noise = np.zeros(n, np.int8)
    noise[closed], noise[opened] = 1, 2
    images, meta = dataset.images.clone(), {k: a.copy() for k, a in dataset.meta.items()}
    landmarks = None if dataset.landmarks is None else dataset.landmarks.copy()
    pick = np.full(n, -1, np.int64)
    if n_open:
        pick[opened] = rng.choice(len(outliers), n_open, replace=len(outliers) < n_open)
        images[torch.as_tensor(opened)] = outliers.images[torch.as_tensor(pick[opened])]
        for key in set(meta) & set(outliers.meta):
            meta[key][opened] = outliers.meta[key][pick[opened]]
        if landmarks is not None and outliers.landmarks is not None:
            landmarks[opened] = outliers.landmarks[pick[opened]]
    meta.update(noise=noise, clean_label=np.where(noise == 2, -1, clean), outlier_index=pick)
    name = f"{dataset.name} + noise(closed={closed_rate}, open={open_rate}, seed={seed})"
    noisy = FaceDataset(images, labels, dataset.identity_names, meta, landmarks,
                        dataset.identity_params, name=name)
    return noisy, noise > 0


def _check_outliers(dataset: FaceDataset, outliers: FaceDataset | None) -> None:
    if outliers is None or outliers.images is None or len(outliers) == 0:
        raise ValueError("add_label_noise: open_rate > 0 needs `outliers`, an in-memory FaceDataset "
                         "of other identities (e.g. SyntheticFaces(..., first_identity=10_000))")
    if outliers.images.shape[1:] != dataset.images.shape[1:]:
        raise ValueError(f"add_label_noise: outlier images are {tuple(outliers.images.shape[1:])}, "
                         f"the data set's {tuple(dataset.images.shape[1:])}; make them the same size")
    if "identity" in dataset.meta and "identity" in outliers.meta:
        shared = np.intersect1d(dataset.meta["identity"], outliers.meta["identity"])
        if len(shared):
            raise ValueError(f"add_label_noise: {len(shared)} outlier identities are in the data "
                             f"set too (e.g. {shared[:3].tolist()}); open-set noise must come from "
                             "other people (SyntheticFaces: a different first_identity)")

