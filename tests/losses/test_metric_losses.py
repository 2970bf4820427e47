"""Center, triplet and contrastive losses: naive loops and pytorch-metric-learning."""
import itertools

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import distances, losses as pml, miners, reducers

from facecourse.losses import CenterLoss, ContrastiveLoss, TripletLoss


def batch(seed=0, b=10, d=4, classes=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g, dtype=dtype), torch.randint(0, classes, (b,), generator=g)


# ---- center loss -------------------------------------------------------------------------
def test_center_loss_and_update_match_the_paper_loop():
    emb, labels = batch()
    loss_fn = CenterLoss(3, 4, alpha=0.5).double()
    loss_fn.centers.normal_()
    old = loss_fn.centers.clone()
    loss = loss_fn(emb, labels, update=True)
    assert loss.item() == pytest.approx(sum(0.5 * float((emb[i] - old[labels[i]]).pow(2).sum()) for i in range(10)) / 10)
    for j in range(3):
        members = [emb[i] for i in range(10) if labels[i] == j]
        delta = sum((old[j] - x for x in members), torch.zeros(4, dtype=torch.float64)) / (1 + len(members))
        torch.testing.assert_close(loss_fn.centers[j], old[j] - 0.5 * delta)


def test_center_loss_gradient_and_centers_not_parameters():
    emb, labels = batch()
    emb.requires_grad_()
    loss_fn = CenterLoss(3, 4).double()
    assert list(loss_fn.parameters()) == []
    loss_fn(emb, labels).backward()
    torch.testing.assert_close(emb.grad, (emb - loss_fn.centers[labels]).detach() / 10)


def test_center_loss_errors_are_explained():
    with pytest.raises(ValueError, match=r"alpha \(the centre learning rate\) must be in \(0, 1\]"):
        CenterLoss(3, 4, alpha=0)
    with pytest.raises(ValueError, match="build it with embedding_dim=5"):
        CenterLoss(3, 4)(torch.randn(2, 5), torch.tensor([0, 1]))


# ---- triplet loss ------------------------------------------------------------------------
def naive_triplets(emb, labels, margin, mining):
    e = F.normalize(emb, dim=1)
    d = lambda i, j: float((e[i] - e[j]).pow(2).sum())  # noqa: E731
    n = len(labels)
    valid = [(a, p, q) for a, p, q in itertools.product(range(n), repeat=3)
             if a != p and labels[a] == labels[p] and labels[q] != labels[a]]
    losses = {t: max(0.0, d(t[0], t[1]) - d(t[0], t[2]) + margin) for t in valid}
    active = sum(v > 0 for v in losses.values()) / len(valid)
    if mining == "batch_all":
        kept = [v for v in losses.values() if v > 0]
    elif mining == "semi_hard":
        kept = [v for (a, p, q), v in losses.items() if d(a, p) < d(a, q) < d(a, p) + margin]
    else:
        kept = []
        for a in range(n):
            ps = [d(a, p) for p in range(n) if p != a and labels[p] == labels[a]]
            qs = [d(a, q) for q in range(n) if labels[q] != labels[a]]
            if ps and qs:
                kept.append(max(0.0, max(ps) - min(qs) + margin))
    return sum(kept) / len(kept), active


@pytest.mark.parametrize("mining", ["semi_hard", "batch_hard", "batch_all"])
@pytest.mark.parametrize("seed", [0, 1])
def test_triplet_matches_naive_loop(mining, seed):
    emb, labels = batch(seed)
    loss_fn = TripletLoss(margin=0.2, mining=mining)
    expected, active = naive_triplets(emb, labels, 0.2, mining)
    assert loss_fn(emb, labels).item() == pytest.approx(expected, rel=1e-9)
    assert loss_fn.active_fraction == pytest.approx(active)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("mining", ["semi_hard", "batch_all"])
def test_triplet_matches_pml(mining, dtype, tol):
    emb, labels = batch(2, b=16, d=3, classes=4, dtype=dtype)  # 3-d: many semi-hard triplets
    sq = distances.LpDistance(normalize_embeddings=True, p=2, power=2)
    theirs = pml.TripletMarginLoss(margin=0.2, distance=sq)
    e1, e2 = emb.clone().requires_grad_(), emb.clone().requires_grad_()
    ours = TripletLoss(0.2, mining)(e1, labels)
    if mining == "semi_hard":
        miner = miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard", distance=sq)
        ref = theirs(e2, labels, miner(e2, labels))
    else:
        ref = theirs(e2, labels)
    ours.backward()
    ref.backward()
    assert ours > 0
    torch.testing.assert_close(ours, ref, atol=tol, rtol=tol)
    torch.testing.assert_close(e1.grad, e2.grad, atol=tol, rtol=tol)


def test_triplet_with_no_triplets_is_zero_with_a_gradient():
    emb = torch.randn(3, 4, requires_grad=True)
    loss = TripletLoss(mining="batch_hard")(emb, torch.tensor([0, 1, 2]))
    loss.backward()
    assert loss.item() == 0.0 and emb.grad is not None


def test_triplet_unknown_mining_message():
    with pytest.raises(ValueError, match="unknown mining 'hard'; choose one of: semi_hard, batch_hard, batch_all"):
        TripletLoss(mining="hard")


# ---- contrastive loss --------------------------------------------------------------------
@pytest.mark.parametrize("form,half", [("hadsell", 0.5), ("report", 1.0)])
def test_contrastive_pairs_match_the_formula(form, half):
    a, _ = batch(0, b=6)
    b, _ = batch(1, b=6)
    issame = torch.tensor([1, 0, 1, 0, 0, 1], dtype=torch.bool)
    expected = 0.0
    for i in range(6):
        dist = float((a[i] - b[i]).norm())
        expected += half * (dist**2 if issame[i] else max(0.0, 2.5 - dist) ** 2)
    assert ContrastiveLoss(2.5, form)(a, b, issame).item() == pytest.approx(expected / 6)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("form,half", [("hadsell", 0.5), ("report", 1.0)])
def test_contrastive_in_batch_matches_pml_pairs(form, half, dtype, tol):
    """pml's per-pair terms are d (positives) and max(0, m - d) (negatives); ours square them."""
    emb, labels = batch(3, b=8, d=3, dtype=dtype)
    theirs = pml.ContrastiveLoss(pos_margin=0, neg_margin=2.5, reducer=reducers.DoNothingReducer(),
                                 distance=distances.LpDistance(normalize_embeddings=False, p=2, power=1))
    e1, e2 = emb.clone().requires_grad_(), emb.clone().requires_grad_()
    ours = ContrastiveLoss(2.5, form)(e1, labels)
    parts = theirs(e2, labels)
    pos, neg = parts["pos_loss"]["losses"], parts["neg_loss"]["losses"]
    assert len(pos) + len(neg) == 8 * 7
    ref = half * (pos.pow(2).sum() + neg.pow(2).sum()) / (8 * 7)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=tol, rtol=tol)
    torch.testing.assert_close(e1.grad, e2.grad, atol=tol, rtol=tol)


def test_contrastive_errors_are_explained():
    with pytest.raises(ValueError, match="unknown form 'lecun'; choose one of: hadsell, report"):
        ContrastiveLoss(form="lecun")
    with pytest.raises(ValueError, match="distance='cosine' is not supported"):
        ContrastiveLoss(distance="cosine")
    with pytest.raises(ValueError, match=r"expected \(P, D\), \(P, D\), \(P,\)"):
        ContrastiveLoss()(torch.randn(3, 2), torch.randn(4, 2), torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="for pairs pass \\(emb_a, emb_b, issame\\)"):
        ContrastiveLoss()(torch.randn(3, 2), torch.randn(3, 2))
