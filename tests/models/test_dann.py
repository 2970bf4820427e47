"""Gradient reversal, self-attention refinement, the masked-face DANN wrapper and its loss."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from facecourse.losses import DomainAdversarialLoss
from facecourse.models import (GradientReversal, MaskedFaceDANN, SelfAttention2d, create_backbone,
                               grad_reverse)


@pytest.mark.parametrize("lam", [1.0, 0.25, torch.tensor(3.0)])
def test_gradient_reversal_flips_the_gradient_sign_exactly(lam):
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    g = torch.randn(4, 6, dtype=torch.float64)
    y = grad_reverse(x, lam)
    assert torch.equal(y, x)
    y.backward(g)
    assert torch.equal(x.grad, -float(lam) * g)
    x.grad = None
    GradientReversal(float(lam))(x).backward(g)
    assert torch.equal(x.grad, -float(lam) * g)


def test_self_attention_starts_as_identity_and_matches_the_equations():
    torch.manual_seed(0)
    layer = SelfAttention2d(16)
    f = torch.randn(2, 16, 3, 4)
    out, scores = layer(f)
    assert torch.equal(out, f) and scores.shape == (2, 3, 4)  # γ = 0 at the start
    torch.testing.assert_close(scores.sum((1, 2)), torch.ones(2))
    with torch.no_grad():
        layer.gamma.fill_(0.7)
    out, scores = layer(f)
    conv = lambda m, x: torch.einsum("oc,cn->on", m.weight[:, :, 0, 0], x) + m.bias[:, None]  # noqa: E731
    for b in range(2):
        x = f[b].flatten(1)  # (C, N)
        q, k, v = conv(layer.q, x), conv(layer.k, x), conv(layer.v, x)
        a = torch.softmax(q.T @ k / math.sqrt(q.shape[0]), dim=1)  # (N, N): row i attends over j
        torch.testing.assert_close(out[b].flatten(1), x + 0.7 * v @ a.T, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(scores[b].flatten(), a.mean(0))


def dann(**kw):
    torch.manual_seed(0)
    return MaskedFaceDANN(create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25), **kw)


def test_dann_masks_part_of_each_batch_and_leaves_its_state():
    model = dann(mask_prob=0.5, seed=1).train()
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    emb, extras = model(x)
    state = extras["domain"]
    assert emb.shape == (8, 8) and state.logits.shape == (8,) and state.scores.shape == (8, 4, 4)
    assert 0 < state.is_masked.sum() < 8 and set(state.is_masked.tolist()) <= {0.0, 1.0}
    assert state.coverage.shape == (4, 4) and state.coverage[0].max() == 0 < state.coverage[-1].max()
    assert dann(mask_prob=1.0).train()(x) is not None
    model.eval()
    assert model(x).shape == (8, 8)  # eval: the embeddings only
    assert model.attention_maps(x).shape == (8, 4, 4)
    copy.deepcopy(model)


def test_the_domain_gradient_reaches_the_embedding_reversed():
    model = dann(mask_prob=0.5, lam=0.3).train()
    emb, extras = model(torch.rand(6, 3, 32, 32) * 2 - 1)
    state = extras["domain"]
    loss = F.binary_cross_entropy_with_logits(state.logits, state.is_masked)
    through_grl, = torch.autograd.grad(loss, emb, retain_graph=True)
    e = emb.detach().requires_grad_()
    direct = F.binary_cross_entropy_with_logits(model.domain_classifier(e)[:, 0], state.is_masked)
    plain, = torch.autograd.grad(direct, e)
    torch.testing.assert_close(through_grl, -0.3 * plain)


def test_lambda_follows_ganin_and_lempitsky_schedule():
    model = dann(lam=2.0, lam_steps=100)
    for step, p in [(0, 0.0), (50, 0.5), (100, 1.0), (400, 1.0)]:
        model.step.fill_(step)
        expected = 2.0 * (2 / (1 + math.exp(-10 * p)) - 1)
        assert float(model.current_lambda()) == pytest.approx(expected, rel=1e-6)
    assert float(dann(lam=0.5).current_lambda()) == 0.5


def test_domain_adversarial_loss_is_bce_plus_attention_on_the_mask():
    model = dann(mask_prob=0.5, seed=2).train()
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    emb, extras = model(x)
    s = extras["domain"]
    loss = DomainAdversarialLoss(domain_weight=0.5, attention_weight=3.0)
    value = loss(x, torch.zeros(8, dtype=torch.long), emb, extras)
    bce = F.binary_cross_entropy_with_logits(s.logits, s.is_masked)
    masked = [i for i in range(8) if s.is_masked[i] == 1]
    mass = sum(float((s.scores[i] * s.coverage).sum().detach()) for i in masked) / len(masked)
    assert float(value.detach()) == pytest.approx(0.5 * float(bce.detach()) + 3.0 * mass, rel=1e-5)
    plain = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    with pytest.raises(ValueError, match="needs a MaskedFaceDANN backbone in training mode"):
        loss(x, torch.zeros(8, dtype=torch.long), plain(x), {})
