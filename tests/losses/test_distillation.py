"""Feature L2, CoupleFace (prototype mining + relations) and A-SKD against naive recomputations."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facecourse.losses import (AttentionSimilarityLoss, CoupleFaceLoss, FeatureDistillLoss,
                               mine_prototypes)
from facecourse.models import CBAMBackbone, cbam_attention, create_backbone


class Linear(nn.Module):
    """A toy 'backbone': flatten and project (B, 3, 4, 4) -> (B, dim)."""

    def __init__(self, dim=6, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(48, dim)

    def forward(self, images):
        return self.fc(images.flatten(1))


def images(n=5, seed=0):
    return torch.randn(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))


def test_feature_l2_is_zero_for_identical_embeddings_and_2_minus_2cos_otherwise():
    teacher, x = Linear(), images()
    labels = torch.zeros(5, dtype=torch.long)
    loss = FeatureDistillLoss(teacher, weight=3.0)
    assert float(loss(x, labels, teacher(x).detach(), None).detach()) == pytest.approx(0.0, abs=1e-6)
    student = Linear(seed=1)(x)
    expected = 3.0 * (2 - 2 * F.cosine_similarity(student, teacher(x), dim=1)).mean()
    torch.testing.assert_close(loss(x, labels, student, None), expected)
    raw = FeatureDistillLoss(teacher, normalize=False)(x, labels, student, None)
    torch.testing.assert_close(raw, (student - teacher(x)).pow(2).sum(1).mean())
    assert not any(p.requires_grad for p in loss.parameters()), "the teacher is frozen"
    with pytest.raises(ValueError, match="give the student the teacher's embedding_dim"):
        loss(x, labels, torch.randn(5, 4), None)


def test_prototype_mining_returns_the_k_nearest_negative_class_means():
    g = torch.Generator().manual_seed(0)
    prototypes, labels = torch.randn(7, 5, generator=g), torch.tensor([0, 3, 6, 3])
    mined = mine_prototypes(prototypes, labels, k=3)
    p = F.normalize(prototypes, dim=1)
    for i, y in enumerate(labels.tolist()):
        cos = {j: float(p[y] @ p[j]) for j in range(7) if j != y}
        assert mined[i].tolist() == sorted(cos, key=cos.get, reverse=True)[:3]
    queries = torch.randn(4, 5, generator=g)
    q = F.normalize(queries, dim=1)
    by_query = mine_prototypes(prototypes, labels, k=2, queries=queries)
    for i, y in enumerate(labels.tolist()):
        cos = {j: float(q[i] @ p[j]) for j in range(7) if j != y}
        assert by_query[i].tolist() == sorted(cos, key=cos.get, reverse=True)[:2]
    with pytest.raises(ValueError, match="k must be in 1..6"):
        mine_prototypes(prototypes, labels, k=7)


def test_coupleface_matches_a_naive_loop_and_is_zero_for_the_teacher_itself():
    teacher, x, labels = Linear(), images(6), torch.tensor([0, 1, 2, 3, 4, 0])
    prototypes = torch.randn(5, 6, generator=torch.Generator().manual_seed(2))
    loss = CoupleFaceLoss(teacher, prototypes, k=2, fcd_weight=0.5, rad_weight=4.0)
    assert float(loss(x, labels, teacher(x).detach(), None).detach()) == pytest.approx(0.0, abs=1e-6)
    student = Linear(seed=3)(x)
    s, t = F.normalize(student, dim=1).detach(), F.normalize(teacher(x), dim=1).detach()
    p = F.normalize(prototypes, dim=1)
    fcd = rad = 0.0
    for i, y in enumerate(labels.tolist()):
        fcd += float((s[i] - t[i]).pow(2).sum()) / 6
        cos_t = {j: float(t[i] @ p[j]) for j in range(5) if j != y}
        for j in [y] + sorted(cos_t, key=cos_t.get, reverse=True)[:2]:  # own class + 2 hardest
            rad += (float(s[i] @ p[j]) - float(t[i] @ p[j])) ** 2 / 6
    assert float(loss(x, labels, student, None).detach()) == pytest.approx(0.5 * fcd + 4.0 * rad, rel=1e-5)


def cbam_net(seed):
    torch.manual_seed(seed)
    return CBAMBackbone(create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25))


def test_askd_is_zero_for_the_teacher_itself_and_matches_a_naive_sum():
    teacher = cbam_net(0).eval()
    x, labels = torch.randn(3, 3, 32, 32), torch.zeros(3, dtype=torch.long)
    loss = AttentionSimilarityLoss(teacher, weight=2.0)
    student = copy.deepcopy(teacher).eval()
    emb, maps = student.forward_with_attention(x)
    assert float(loss(x, labels, emb, {"attention": maps})) == pytest.approx(0.0, abs=1e-5)
    student = cbam_net(1).train()
    emb, extras = student(x)  # training: BackboneOutput(embeddings, {"attention": maps})
    maps_s = [(c.clone(), s.clone()) for c, s in extras["attention"]]
    teacher(x)
    maps_t = cbam_attention(teacher, logits=True)  # the teacher's last maps, kept for plots
    expected = sum((1 - F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)).mean()
                   for ms, mt in zip(maps_s, maps_t) for a, b in zip(ms, mt))
    value = loss(x, labels, emb, extras)
    torch.testing.assert_close(value, 2.0 * expected)
    value.backward()
    assert all(p.grad is not None for p in student.body[-1].parameters()), "gradients reach the CBAMs"


def test_askd_explains_a_student_without_cbam():
    loss = AttentionSimilarityLoss(cbam_net(0))
    plain = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match="wrap both in CBAMBackbone"):
        loss(x, torch.zeros(2, dtype=torch.long), plain(x), {})
    with pytest.raises(ValueError, match="the teacher is a ConvNet; it must be a CBAMBackbone"):
        AttentionSimilarityLoss(plain)(x, torch.zeros(2, dtype=torch.long), plain(x), {})
