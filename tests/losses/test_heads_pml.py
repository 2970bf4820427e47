"""Margin heads against pytorch-metric-learning 2.9: same weights and s/m -> same loss and grads."""
import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml

from facecourse.losses import create_head

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def assert_close_scaled(ours, theirs, tol):
    """|ours - theirs| <= tol·max(1, max|theirs|): with s = 64 the gradients reach ~10, where fp32
    rounding alone (either implementation against a float64 run) is ~5e-5 in absolute terms."""
    torch.testing.assert_close(ours, theirs, rtol=tol, atol=tol * max(1.0, theirs.abs().max().item()))
B, D, C = 12, 16, 7


def run_both(ours, theirs, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(B, D, generator=g, dtype=dtype) * 3
    labels = torch.randint(0, C, (B,), generator=g)
    ours = ours.to(dtype)
    with torch.no_grad():
        ours.weight.normal_(generator=g)
    rows = ours.weight.detach()[labels[:4] * getattr(ours, "k", 1)]  # first 4 samples face away
    emb[:4] = -rows / rows.norm(dim=1, keepdim=True) * 2 + 0.3 * emb[:4] / emb[:4].norm(dim=1, keepdim=True)
    with torch.no_grad():
        theirs.W.data = ours.weight.detach().t().clone().contiguous()  # pml stores W as (D, C·K)
    e1, e2 = emb.clone().requires_grad_(), emb.clone().requires_grad_()
    loss_ours = F.cross_entropy(ours(e1, labels), labels)
    loss_theirs = theirs(e2, labels)
    loss_ours.backward()
    loss_theirs.backward()
    tol = TOL[dtype]
    assert_close_scaled(loss_ours, loss_theirs, tol)
    assert_close_scaled(e1.grad, e2.grad, tol)
    assert_close_scaled(ours.weight.grad, theirs.W.grad.t(), tol)
    cos_target = F.cosine_similarity(emb, ours.weight.detach()[labels * getattr(ours, "k", 1)])
    assert (cos_target < -0.9).sum() >= 3  # the θ + m > π branch is exercised
    return loss_ours


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("m", [0.5, 1.2])  # 1.2 rad: many samples with θ + m > π use the fallback
def test_arcface_matches_pml(dtype, m, seed):
    ours = create_head("arcface", D, C, s=64.0, m=m)
    theirs = pml.ArcFaceLoss(num_classes=C, embedding_size=D, margin=math.degrees(m), scale=64.0)
    run_both(ours, theirs, dtype, seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cosface_matches_pml(dtype, seed):
    ours = create_head("cosface", D, C, s=30.0, m=0.35)
    theirs = pml.CosFaceLoss(num_classes=C, embedding_size=D, margin=0.35, scale=30.0)
    run_both(ours, theirs, dtype, seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("m1", [2, 3, 4])
def test_sphereface_matches_pml_with_lambda_zero(dtype, m1, seed):
    # pml's SphereFaceLoss = |x|·s·ψ(θ) with no annealing: our λ = 0 (base 0, λ_min 0)
    ours = create_head("sphereface", D, C, s=1.0, m1=m1, lambda_base=0.0, lambda_min=0.0)
    theirs = pml.SphereFaceLoss(num_classes=C, embedding_size=D, margin=m1, scale=1.0)
    run_both(ours, theirs, dtype, seed)
    assert ours.iteration == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_subcenter_arcface_matches_pml(dtype, seed):
    ours = create_head("subcenter_arcface", D, C, s=64.0, m=0.5, k=3)
    theirs = pml.SubCenterArcFaceLoss(num_classes=C, embedding_size=D, margin=math.degrees(0.5), scale=64.0, sub_centers=3)
    assert tuple(ours.weight.shape) == (C * 3, D) == tuple(theirs.W.t().shape)
    run_both(ours, theirs, dtype, seed)
