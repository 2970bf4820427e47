"""1:N identification: closed-set Rank-k / CMC, leave-one-out Rank-1, open-set DIR@FAR.

Similarities are cosines computed block by block, (chunk probes) x (chunk gallery) at a time,
so memory stays bounded: for 10k probes x 100k gallery x 512-d the largest temporary is one
(probe_chunk, gallery_chunk) block plus (probe_chunk, k) running results, never (10k, 100k).

One pass keeps, per probe, the best *genuine* score (same identity) and the top-k *impostor*
scores. A probe's rank is then 1 + the number of impostors scoring >= its best genuine score:
ties are broken against the probe (pessimistic, reproducible), so rank-1 means "strictly
better than every other identity". Rank-1 identification rate is CMC(1).

References: Grother & Ngan, "Face Recognition Vendor Test (FRVT) Part 2: Identification",
NISTIR 8271 (CMC, FNIR/FPIR = DIR/FAR); Liu et al., "SphereFace", arXiv:1704.08063 (MegaFace
Rank-1 at 1M distractors).

Lesson 00 measures Rank-1 with it, lesson 06 young -> adult Rank-1.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import check_finite, to_numpy


def _as_tensor(embeddings, name: str) -> torch.Tensor:
    e = embeddings if isinstance(embeddings, torch.Tensor) else torch.as_tensor(
        np.asarray(embeddings))
    if e.ndim != 2:
        raise ValueError(f"{name} must be (N, D), got shape {tuple(e.shape)}")
    check_finite(to_numpy(e, name).reshape(-1), name)
    return F.normalize(e.float(), dim=1)


def _labels(labels, n: int, name: str, device) -> torch.Tensor:
    y = torch.as_tensor(np.asarray(to_numpy(labels, name))).to(device).reshape(-1)
    if y.numel() != n:
        raise ValueError(f"{name} has {y.numel()} entries but there are {n} embeddings")
    return y


def scan_gallery(probe_emb, probe_labels, gallery_emb, gallery_labels, k: int = 10,
                 probe_chunk: int = 1024, gallery_chunk: int = 16384,
                 exclude_self: bool = False):
    """Per probe: best genuine cosine (Q,) (-inf if none) and top-k impostor cosines (Q, k).

    ``exclude_self=True`` (probes == gallery, same order) skips each probe's own image.
    Peak extra memory ~ 9 bytes * probe_chunk * gallery_chunk (the block, one masked copy,
    the same-identity mask): 1024 x 16384 -> ~150 MiB.
    """
    p = _as_tensor(probe_emb, "probe_emb")
    g = _as_tensor(gallery_emb, "gallery_emb").to(p.device)
    if p.shape[1] != g.shape[1]:
        raise ValueError(f"probe_emb is {p.shape[1]}-d but gallery_emb is {g.shape[1]}-d")
    py = _labels(probe_labels, p.shape[0], "probe_labels", p.device)
    gy = _labels(gallery_labels, g.shape[0], "gallery_labels", p.device)
    k = max(1, min(k, g.shape[0]))
    best_gen = torch.full((p.shape[0],), -torch.inf, device=p.device)
    top_imp = torch.full((p.shape[0], k), -torch.inf, device=p.device)
    for i in range(0, p.shape[0], probe_chunk):
        pi, yi = p[i:i + probe_chunk], py[i:i + probe_chunk]
        gen, imp = best_gen[i:i + probe_chunk], top_imp[i:i + probe_chunk]
        for j in range(0, g.shape[0], gallery_chunk):
            sim = pi @ g[j:j + gallery_chunk].T  # (q, c) cosines
            same = yi[:, None] == gy[None, j:j + gallery_chunk]  # (q, c)
            if exclude_self:
                rows = torch.arange(pi.shape[0], device=p.device)
                cols = rows + i - j
                ok = (cols >= 0) & (cols < sim.shape[1])
                sim[rows[ok], cols[ok]] = -torch.inf
            gen = torch.maximum(gen, torch.where(same, sim, -torch.inf).amax(1))
            sim.masked_fill_(same, -torch.inf)  # sim is this block's own buffer: now impostors
            top = sim.topk(min(k, sim.shape[1]), dim=1).values  # (q, <=k)
            imp = torch.cat([imp, top], 1).topk(k, dim=1).values  # merge with the running top-k
        best_gen[i:i + probe_chunk], top_imp[i:i + probe_chunk] = gen, imp
    return best_gen, top_imp


def _ranks(best_gen: torch.Tensor, top_imp: torch.Tensor) -> torch.Tensor:
    """1 + #impostors >= best genuine; k + 1 means "beyond the top k"."""
    return 1 + (top_imp >= best_gen[:, None]).sum(1)


def identification(probe_emb, probe_labels, gallery_emb, gallery_labels, ks=(1, 5, 10),
                   probe_chunk: int = 1024, gallery_chunk: int = 16384) -> dict:
    """Closed-set identification: ``{"rank@1": ..., "rank@5": ..., "cmc": (max_k,), "ranks"}``.

    Every probe identity must appear in the gallery (else use `dir_at_far`). ``cmc[r - 1]`` is
    the fraction of probes whose first correct match is at rank <= r; ``ranks`` (Q,) holds each
    probe's rank, ``max(ks) + 1`` meaning "not in the top max(ks)".
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive ranks, got {ks}")
    known = np.isin(to_numpy(probe_labels, "probe_labels"), to_numpy(gallery_labels,
                                                                      "gallery_labels"))
    if not known.all():
        raise ValueError(
            f"{int((~known).sum())} probe(s) have an identity absent from the gallery; closed-set "
            "identification needs every probe's identity enrolled (use dir_at_far for open-set)")
    gen, imp = scan_gallery(probe_emb, probe_labels, gallery_emb, gallery_labels, ks[-1],
                            probe_chunk, gallery_chunk)
    ranks = _ranks(gen, imp).cpu().numpy()
    cmc = (ranks[:, None] <= np.arange(1, ks[-1] + 1)[None, :]).mean(0)  # (max_k,)
    out = {f"rank@{k}": float(cmc[k - 1]) if k <= cmc.size else 1.0 for k in ks}
    out.update(cmc=cmc, ranks=ranks, n_probes=int(ranks.size))
    return out


def leave_one_out_rank1(embeddings, labels, probe_chunk: int = 1024,
                        gallery_chunk: int = 16384) -> dict:
    """Rank-1 where each image is a probe against all the others of the set.

    An identity with a single image has no mate to find: its image is not used as a probe
    (counted in ``n_singletons``) but stays in the gallery as a distractor for the others.
    Returns ``{"rank1", "n_probes", "n_singletons"}``.
    """
    y = to_numpy(labels, "labels").reshape(-1)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    has_mate = counts[inverse] > 1
    if not has_mate.any():
        raise ValueError("leave_one_out_rank1 needs at least one identity with two or more images")
    gen, imp = scan_gallery(embeddings, y, embeddings, y, 1, probe_chunk, gallery_chunk,
                            exclude_self=True)
    correct = (gen > imp[:, 0]).cpu().numpy()[has_mate]
    return {"rank1": float(correct.mean()), "n_probes": int(has_mate.sum()),
            "n_singletons": int((~has_mate).sum())}


def dir_at_far(probe_emb, probe_labels, gallery_emb, gallery_labels,
               fars=(1e-1, 1e-2, 1e-3), probe_chunk: int = 1024,
               gallery_chunk: int = 16384) -> dict:
    """Open-set identification: detection and identification rate at a false-alarm rate.

    Probes whose identity is absent from the gallery are impostors; their top-1 scores set the
    threshold t for each FAR (the fraction of impostor probes scoring >= t stays <= FAR). DIR
    is the fraction of genuine probes whose rank-1 match is correct *and* scores >= t.
    Returns ``{"dir@far=1e-2": ..., "threshold@far=1e-2": ..., "n_genuine", "n_impostor",
    "rank1"}``. A FAR below 1 / n_impostor uses a threshold above every impostor (with a
    warning), like `tar_at_far`.
    """
    from .verification import FARResolutionWarning, far_key

    known = np.isin(to_numpy(probe_labels, "probe_labels"), to_numpy(gallery_labels,
                                                                      "gallery_labels"))
    if known.all() or not known.any():
        raise ValueError(
            "dir_at_far needs both genuine probes (identity in the gallery) and impostor probes "
            f"(identity not in the gallery); got {int(known.sum())} and {int((~known).sum())}")
    gen, imp = scan_gallery(probe_emb, probe_labels, gallery_emb, gallery_labels, 1,
                            probe_chunk, gallery_chunk)
    gen, top1 = gen.cpu().numpy(), imp[:, 0].cpu().numpy()
    imp_scores = np.sort(top1[~known])[::-1]  # impostor probes' best scores, descending
    hit = known & (gen > top1)  # rank-1 correct
    out = {"n_genuine": int(known.sum()), "n_impostor": int(imp_scores.size),
           "rank1": float(hit[known].mean())}
    for far in fars:
        allowed = int(np.floor(far * imp_scores.size + 1e-9))  # impostors allowed above t
        if allowed == 0:
            warnings.warn(f"FAR={far:g} is below the resolution 1/{imp_scores.size} of the "
                          "impostor probes; using a threshold above every impostor",
                          FARResolutionWarning, stacklevel=2)
        t = float(np.nextafter(imp_scores[min(allowed, imp_scores.size - 1)], np.inf))
        if allowed >= imp_scores.size:
            t = -np.inf
        key = far_key(far).replace("tar@", "")
        out[f"dir@{key}"] = float((hit & (gen >= t))[known].mean())
        out[f"threshold@{key}"] = t
    return out
