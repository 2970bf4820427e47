"""Acceptance thresholds that mean something: calibrated at a FAR on every pair of held-out faces.

A threshold "at FAR 1e-3" is the lowest cosine t such that at most 0.1 % of the impostor pairs
(different people) of a calibration set score >= t. It can only be measured down to the set's
resolution 1 / n_impostor: with 2,200 pairs (LFW DevTrain's 1,100 mismatched) FAR 1e-3 rests
on one impostor and FAR 1e-4 on none. So `calibrate` pairs EVERY two images of the set
(N images: N(N-1)/2 pairs; LFW DevTrain's 9,525 images give ~45 M impostor pairs), keeps only
the highest impostor scores it needs, and marks a FAR below the resolution as not calibrated
(its threshold lies above every impostor: FAR 0 measured, the asked FAR only bounded).
`rates_at` measures FAR and TAR at given thresholds on another set (e.g. new people).
Taught with the model card (`facecourse.models.card`); used by `python -m facecourse
eval --calibrate` and at the end of `python -m facecourse train`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import check_finite, to_numpy

FARS = (1e-2, 1e-3, 1e-4)


def _unit(embeddings, labels):
    e = embeddings if isinstance(embeddings, torch.Tensor) else torch.as_tensor(np.asarray(embeddings))
    if e.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {tuple(e.shape)}")
    check_finite(to_numpy(e, "embeddings").reshape(-1), "embeddings")
    y = torch.as_tensor(to_numpy(labels, "labels").reshape(-1))
    if y.numel() != e.shape[0]:
        raise ValueError(f"labels has {y.numel()} entries but there are {e.shape[0]} embeddings")
    return F.normalize(e.float(), dim=1), y


def _pair_counts(y: torch.Tensor) -> tuple[int, int]:
    """(genuine, impostor) unordered pairs of labels `y`."""
    n = y.numel()
    counts = torch.unique(y, return_counts=True)[1].long()
    genuine = int((counts * (counts - 1) // 2).sum())
    return genuine, n * (n - 1) // 2 - genuine


def _blocks(e: torch.Tensor, y: torch.Tensor, chunk: int):
    """(scores, same) of the pairs i < j, `chunk` rows at a time (1-D each)."""
    for i in range(0, e.shape[0] - 1, chunk):
        sim = e[i:i + chunk] @ e[i:].T  # (c, N - i) cosines
        upper = torch.ones_like(sim, dtype=torch.bool).triu(1)  # j > i only
        yield sim[upper], (y[i:i + chunk, None] == y[None, i:])[upper]


def calibrate(embeddings, labels, fars=FARS, chunk: int = 2048) -> dict:
    """Thresholds at each FAR from all pairs of a labelled set (people held out from training).

    embeddings (N, D) (normalized here), labels (N,). Per FAR (a dict in "thresholds"):
    ``threshold`` (accept when cosine >= it), ``calibrated`` (FAR >= 1 / n_impostor),
    ``impostors_above`` (impostor pairs >= threshold: at most floor(FAR * n_impostor)) and
    ``tar`` (share of the genuine pairs accepted; None without genuine pairs). Also
    ``n_images``, ``n_people``, ``n_genuine``, ``n_impostor``, ``far_resolution``.
    Only the floor(max(fars) * n_impostor) + 1 highest impostor scores are kept in memory.
    """
    e, y = _unit(embeddings, labels)
    n_gen, n_imp = _pair_counts(y)
    if n_imp == 0:
        raise ValueError("calibrate needs images of at least two people (impostor pairs); got "
                         f"{int(torch.unique(y).numel())} person(s)")
    for far in fars:
        if not 0.0 < far < 1.0:
            raise ValueError(f"calibrate: a FAR is in (0, 1), got {far}")
    keep = min(n_imp, int(math.floor(max(fars) * n_imp + 1e-9)) + 1)
    top = torch.empty(0)
    genuine = []
    for scores, same in _blocks(e, y, chunk):
        genuine.append(scores[same])
        top = torch.cat([top, scores[~same]])
        if top.numel() > keep:
            top = torch.topk(top, keep, sorted=False).values
    top = torch.sort(top, descending=True).values.double().numpy()  # highest impostor scores
    genuine = torch.cat(genuine).double().numpy()
    rows = []
    for far in fars:
        allowed = int(math.floor(far * n_imp + 1e-9))  # impostor pairs allowed at or above t
        # just above the (allowed + 1)-th highest impostor: the lowest t with FAR <= far
        t = float(np.nextafter(top[min(allowed, top.size - 1)], np.inf))
        rows.append({"far": float(far), "threshold": t, "calibrated": allowed >= 1,
                     "impostors_above": int((top >= t).sum()),
                     "tar": float((genuine >= t).mean()) if genuine.size else None})
    return {"n_images": int(e.shape[0]), "n_people": int(torch.unique(y).numel()),
            "n_genuine": n_gen, "n_impostor": n_imp, "far_resolution": 1.0 / n_imp, "thresholds": rows}


def rates_at(embeddings, labels, thresholds, chunk: int = 2048) -> list[dict]:
    """FAR and TAR of every pair of a labelled set at each threshold: [{threshold,
    measured_far, impostors_above, tar, n_impostor, n_genuine}] (e.g. thresholds calibrated on
    training people, measured on new ones)."""
    e, y = _unit(embeddings, labels)
    n_gen, n_imp = _pair_counts(y)
    t = torch.as_tensor([float(x) for x in thresholds], dtype=torch.float64)
    imp_above = torch.zeros(len(t), dtype=torch.long)
    gen_above = torch.zeros(len(t), dtype=torch.long)
    for scores, same in _blocks(e, y, chunk):
        s = scores.double()
        imp_above += (s[~same, None] >= t[None]).sum(0)
        gen_above += (s[same, None] >= t[None]).sum(0)
    return [{"threshold": float(t[k]), "measured_far": float(imp_above[k]) / n_imp if n_imp else None,
             "impostors_above": int(imp_above[k]), "tar": float(gen_above[k]) / n_gen if n_gen else None,
             "n_impostor": n_imp, "n_genuine": n_gen} for k in range(len(t))]


SYNTHETIC_HELD_OUT_SEED = 10_000  # held-out synthetic people: the training seed + this (+ eval's --seed)


def synthetic_held_out(data: dict, image_size: int, num_identities: int = 100,
                       images_per_identity: int = 10, seed: int = 0):
    """(faces, description) of synthetic people a run never trained on: its `data` config's
    difficulty, seed `data["seed"] + 10000 + seed` (`eval --data synthetic` uses the same)."""
    from facecourse.data import SyntheticFaces
    s = int(data["seed"]) + SYNTHETIC_HELD_OUT_SEED + seed
    faces = SyntheticFaces(num_identities, images_per_identity, image_size=image_size,
                           difficulty=data["difficulty"], seed=s)
    return faces, (f"held-out synthetic people ({num_identities} x {images_per_identity} images, seed {s}; "
                   f"the model trained on seed {data['seed']})")


def calibration_record(embeddings, labels, data: str, fars=FARS, note: str = "", checks=None) -> dict:
    """`calibrate` with what the card also records: the set in words, a note, checks elsewhere."""
    rec = calibrate(embeddings, labels, fars)
    return {"data": data, **rec, "note": note, "checks": checks or {}}


def calibrate_lfw(embeddings, lfw, trained_on_devtrain: bool, fars=FARS) -> dict:
    """Thresholds from every pair of the LFW DevTrain people's images, NEVER DevTest's (DevTest
    is where results are reported); then measured on every pair of the DevTest people.

    embeddings: (N, D) rows for `lfw.dataset`'s images (at least all DevTrain and DevTest
    people's). A model trained on the DevTrain people has seen these very faces, so on new people
    its FAR and TAR at the same thresholds can differ: the DevTest check measures them (the
    lfw-scratch run measured a slightly lower FAR there and a much lower TAR)."""
    labels = lfw.dataset.labels.numpy()
    names = lfw.dataset.identity_names
    train = lfw.devtrain_indices()
    test_people = set(lfw.devtest_identities)
    test = np.flatnonzero([names[c] in test_people for c in labels])
    emb = torch.as_tensor(np.asarray(embeddings))
    people = len(np.unique(labels[train]))
    note = ("the model trained on these people, so on new people these thresholds need not give the same "
            "FAR and TAR: the checks measure them on people it never saw" if trained_on_devtrain else
            "the DevTrain people (the model did not train on LFW)")
    rec = calibration_record(emb[train], labels[train],
                             f"LFW DevTrain ({len(train):,} images of {people:,} people, all pairs)", fars, note)
    if len(np.unique(labels[test])) >= 2:
        got = rates_at(emb[test], labels[test], [t["threshold"] for t in rec["thresholds"]])
        rec["checks"] = {f"LFW DevTest people ({len(test):,} images of {len(np.unique(labels[test])):,} "
                         "people, all pairs; never used to choose a threshold)":
                         [{"far": t["far"], **g} for t, g in zip(rec["thresholds"], got)]}
    return rec
