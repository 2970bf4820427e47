"""Each head against a Python loop over the batch, plus the registry and target-logit curves."""
import math

import pytest
import torch
import torch.nn.functional as F

from facecourse.losses import MarginHead, create_head, list_heads

B, D, C = 6, 5, 4


def batch(seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, D, generator=g, dtype=dtype), torch.randint(0, C, (B,), generator=g)


def cosines(head, x):  # naive (C·K,) cosines of one sample, with math on Python floats
    w = head.weight.detach()
    return [float(x @ w[j]) / (float(x.norm()) * float(w[j].norm())) for j in range(len(w))]


def naive_target(name, head, c):
    th = math.acos(c)
    if name == "cosface":
        return c - head.m
    if name in ("arcface", "subcenter_arcface", "curricularface", "boundaryface"):  # boundaryface: eval
        return math.cos(th + head.m) if th + head.m <= math.pi else c - head.m * math.sin(head.m)
    if name == "combined":
        a = head.m1 * th + head.m2
        return (math.cos(a) if a <= math.pi else c - head.m2 * math.sin(head.m2)) - head.m3
    if name == "sphereface":
        k = math.floor(th * head.m1 / math.pi)
        psi = (-1) ** k * math.cos(head.m1 * th) - 2 * k
        return (head.lambda_ * c + psi) / (1 + head.lambda_)
    return c  # normface


@pytest.mark.parametrize("name", [n for n in list_heads() if n != "softmax"])
def test_logits_match_naive_loop(name):
    kw = {"combined": dict(m1=1.0, m2=0.4, m3=0.1), "subcenter_arcface": dict(k=2)}.get(name, {})
    head = create_head(name, D, C, **kw).double().eval()
    with torch.no_grad():
        head.weight.normal_()
        if name == "curricularface":
            head.t.fill_(0.3)
    emb, labels = batch()
    logits = head(emb, labels)
    for i in range(B):
        cos = cosines(head, emb[i])
        k = getattr(head, "k", 1)
        cos = [max(cos[j * k:(j + 1) * k]) for j in range(C)]
        target = naive_target(name, head, cos[labels[i]])
        scale = head.s * (float(emb[i].norm()) if name == "sphereface" else 1.0)
        for j in range(C):
            if j == labels[i]:
                expected = target
            elif name == "curricularface" and cos[j] > target:
                expected = cos[j] * (0.3 + cos[j])
            else:
                expected = cos[j]
            assert logits[i, j].item() == pytest.approx(scale * expected, rel=1e-9, abs=1e-9), (i, j)


def test_softmax_head_is_linear_with_bias():
    head = create_head("softmax", D, C).double()
    emb, labels = batch()
    torch.testing.assert_close(head(emb, labels), emb @ head.weight.t() + head.fc.bias)


def test_unknown_head_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown head 'arcfce'; create_head knows: arcface, boundaryface, combined"):
        create_head("arcfce", D, C)
    with pytest.raises(ValueError, match="embedding_dim and num_classes must be >= 1"):
        create_head("arcface", 0, C)


def test_bad_shapes_and_arguments_are_explained():
    head = create_head("arcface", D, C)
    with pytest.raises(ValueError, match=r"ArcFaceHead: expected embeddings \(B, D\) and labels \(B,\)"):
        head(torch.randn(3, D), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="m1 must be a positive integer"):
        create_head("sphereface", D, C, m1=1.5)
    with pytest.raises(ValueError, match="m1 must be >= 1"):
        create_head("combined", D, C, m1=0.5)
    with pytest.raises(ValueError, match="k \\(sub-centres per class\\) must be >= 1"):
        create_head("subcenter_arcface", D, C, k=0)


@pytest.mark.parametrize("name", ["arcface", "cosface", "combined", "sphereface", "curricularface", "normface"])
def test_target_logit_on_a_plain_curve_is_decreasing(name):
    """The viz module draws target_logit over θ in [0, π] (ArcFace paper, Fig. 5 (b))."""
    head = create_head(name, D, C)
    theta = torch.linspace(0, math.pi, 181, dtype=torch.float64)
    curve = head.target_logit(torch.cos(theta))
    assert curve.shape == theta.shape
    assert (curve.diff() < 1e-12).all()  # monotonically non-increasing: θ + m > π handled
    assert curve[0] <= 1.0 + 1e-12


def test_arcface_fallback_and_easy_margin_values():
    head = create_head("arcface", D, C, m=0.5)
    cos = torch.cos(torch.tensor([0.3, math.pi - 0.4], dtype=torch.float64))
    expected = [math.cos(0.8), math.cos(math.pi - 0.4) - 0.5 * math.sin(0.5)]
    torch.testing.assert_close(head.target_logit(cos), torch.tensor(expected, dtype=torch.float64))
    easy = create_head("arcface", D, C, m=0.5, easy_margin=True)
    cos = torch.tensor([0.5, -0.5], dtype=torch.float64)
    torch.testing.assert_close(easy.target_logit(cos), torch.tensor([math.cos(math.pi / 3 + 0.5), -0.5], dtype=torch.float64))


def test_combined_reduces_to_arcface_and_cosface():
    cos = torch.linspace(-1, 1, 101, dtype=torch.float64)
    arc, cosf = create_head("arcface", D, C, m=0.45), create_head("cosface", D, C, m=0.2)
    torch.testing.assert_close(create_head("combined", D, C, m1=1, m2=0.45, m3=0).target_logit(cos), arc.target_logit(cos))
    torch.testing.assert_close(create_head("combined", D, C, m1=1, m2=0, m3=0.2).target_logit(cos), cosf.target_logit(cos))


def test_margin_gradients_are_finite_at_cos_one():
    head = create_head("arcface", D, C)
    emb = head.weight.detach()[:2].clone().requires_grad_()  # cos θ = 1 exactly
    F.cross_entropy(head(emb, torch.tensor([0, 1])), torch.tensor([0, 1])).backward()
    assert torch.isfinite(emb.grad).all() and torch.isfinite(head.weight.grad).all()


def test_sphereface_lambda_anneals_per_training_step():
    head = create_head("sphereface", D, C)
    assert head.lambda_ == 1000.0  # base·(1 + γ·0)^-1
    emb, labels = batch(dtype=torch.float32)
    head(emb, labels)
    assert head.lambda_ == pytest.approx(1000.0 / 1.12)
    head.eval()
    head(emb, labels)
    assert int(head.iteration) == 1  # eval passes do not advance λ
    head.iteration.fill_(10_000)
    assert head.lambda_ == 5.0  # λ_min
    theta = torch.linspace(0, math.pi, 50, dtype=torch.float64)
    torch.testing.assert_close(head.psi(torch.cos(theta))[:10], torch.cos(4 * theta)[:10])  # k = 0 region


def test_curricularface_updates_t_with_momentum_in_training_only():
    head = create_head("curricularface", D, C).double()
    emb, labels = batch()
    cos_target = F.cosine_similarity(emb, head.weight.detach()[labels]).mean()
    head(emb, labels)
    assert float(head.t) == pytest.approx(0.01 * float(cos_target))
    head.eval()
    head(emb, labels)
    assert float(head.t) == pytest.approx(0.01 * float(cos_target))


def test_subcenter_dominant_centers():
    head = create_head("subcenter_arcface", D, C, k=3).double()
    with torch.no_grad():
        head.weight.normal_()
    labels = torch.tensor([2, 0])
    emb = torch.stack([head.weight[2 * 3 + 1], head.weight[0 * 3 + 2]]).detach()
    assert head.dominant_centers(emb, labels).tolist() == [1, 2]


def test_every_margin_head_shares_the_base():
    for name in list_heads():
        if name != "softmax":
            assert isinstance(create_head(name, D, C), MarginHead)
