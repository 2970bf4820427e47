"""BoundaryFace: relabels a flipped sample beyond the margin, mines boundary samples, warms up."""
import math

import pytest
import torch
import torch.nn.functional as F

from facecourse.losses import ArcFaceHead, BoundaryFaceHead, HeadOutput, create_head

C = D = 4


def unit_head(m=0.5, warmup_steps=0, lam=math.pi) -> BoundaryFaceHead:
    """Class centres = the axes e_0..e_3, so cos θ_j = x_j / |x|."""
    head = create_head("boundaryface", D, C, s=16.0, m=m, lam=lam, warmup_steps=warmup_steps).double()
    with torch.no_grad():
        head.weight.copy_(torch.eye(C))
    return head


def towards(angle_to_k: float, y: int, k: int) -> torch.Tensor:
    """A unit embedding in the plane of centres y and k, at `angle_to_k` radians from centre k
    (centres y and k are π/2 apart)."""
    x = torch.zeros(D, dtype=torch.float64)
    x[k], x[y] = math.cos(angle_to_k), math.sin(angle_to_k)
    return x


def test_a_planted_flip_beyond_the_margin_is_corrected():
    head = unit_head(m=0.5).train()
    # sample 0: labelled 0 but 0.2 rad from centre 2 (1.37 rad from centre 0): θ_2 + m < θ_0
    # sample 1: labelled 1, sits on centre 1: clean
    # sample 2: labelled 3 but 0.6 rad from centre 1 (0.97 from 3): closer to 1, within the margin
    emb = torch.stack([towards(0.2, 0, 2), towards(0.0, 0, 1), towards(0.6, 3, 1)])
    labels = torch.tensor([0, 1, 3])
    assert head.corrected_labels(emb, labels).tolist() == [2, 1, 3]
    out = head(emb, labels)
    assert isinstance(out, HeadOutput)
    assert out.labels.tolist() == [2, 1, 3] and int(head.num_corrected) == 1
    cos = emb @ torch.eye(C, dtype=emb.dtype)  # (B, C), unit embeddings
    expected = ArcFaceHead(D, C, s=16.0, m=0.5).double()
    with torch.no_grad():
        expected.weight.copy_(torch.eye(C))
    torch.testing.assert_close(out.logits, expected(emb, out.labels))  # ArcFace on the new labels
    # boundary term: only sample 2 lies between its margin boundary and the decision boundary
    hard = [max(float(cos[i, j]) for j in range(C) if j != y) - math.cos(math.acos(cos[i, y]) + 0.5)
            for i, y in enumerate(out.labels.tolist())]
    assert [h > 0 for h in hard] == [False, False, True]
    assert float(out.loss.detach()) == pytest.approx(math.pi * sum(max(0.0, h) for h in hard) / 3, rel=1e-9)


def test_no_correction_or_term_during_the_warm_up():
    head = unit_head(warmup_steps=2).train()
    # a planted flip (corrected after the warm-up) and a boundary sample (a term after it)
    emb, labels = torch.stack([towards(0.2, 0, 2), towards(0.6, 3, 1)]), torch.tensor([0, 3])
    for step in range(3):
        out = head(emb, labels)
        assert out.labels.tolist() == ([0, 3] if step < 2 else [2, 3])
        assert (float(out.loss.detach()) == 0.0) == (step < 2)
    assert int(head.step) == 3 and int(head.num_corrected) == 1


def test_eval_mode_is_arcface_and_accepts_no_target():
    head = create_head("boundaryface", 5, 3, s=32.0, m=0.3).eval()
    arc = create_head("arcface", 5, 3, s=32.0, m=0.3)
    arc.load_state_dict({"weight": head.weight.detach()})
    emb, labels = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, -1, 1])
    torch.testing.assert_close(head(emb, labels), arc(emb, labels))
    assert "warmup_steps=1000" in repr(head) and head.lam == pytest.approx(math.pi)


def test_gradients_flow_through_the_corrected_logits_and_the_term():
    head = unit_head(m=0.5).train()
    emb = torch.stack([towards(0.2, 0, 2), towards(0.6, 3, 1)]).requires_grad_()
    out = head(emb, torch.tensor([0, 3]))
    (F.cross_entropy(out.logits, out.labels) + out.loss).backward()
    assert torch.isfinite(emb.grad).all() and emb.grad.abs().sum() > 0
    assert head.weight.grad.abs().sum() > 0
