"""PartialFC, parametrised over the head registry: every head it accepts, sharded over 2 gloo
processes or on one, with r = 1 equals that head + cross-entropy (loss, gradients, state such
as SphereFace's λ); every head it refuses is refused by name. Which is which is the head's own
answer (``partial_fc_refusal``), so a new head is covered the day it is registered."""
import copy
import math
import re
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from facecourse.losses import MarginHead, PartialFC, create_head, list_heads
from facecourse.losses import base

D, C, B_LOCAL, WORLD = 6, 7, 4, 2  # 7 classes: shards of 4 and 3
STEPS = 3  # training steps per case: a schedule (SphereFace's λ) has to move alike

# Settings that make each head's margin visible in a tiny float64 case; a head not named here
# is tested with its defaults. SphereFace: λ = 10 / (1 + it), so it changes at every step.
HEAD_KW = {"arcface": dict(s=16.0, m=0.5), "cosface": dict(s=8.0), "combined": dict(s=8.0), "normface": dict(s=8.0),
           "subcenter_arcface": dict(s=8.0, k=2),
           "sphereface": dict(m1=4, lambda_base=10.0, gamma=1.0, lambda_min=0.0)}


def refusal(name):
    """PartialFC's refusal message for ``name``, or None when it accepts the head."""
    try:
        PartialFC(D, C, head=name, **HEAD_KW.get(name, {}))
    except ValueError as e:
        if "is not supported" not in str(e):
            raise
        return str(e)
    return None


ACCEPTED = [n for n in list_heads() if refusal(n) is None]
REFUSED = [n for n in list_heads() if refusal(n) is not None]


def reference(head, seed=0):
    """The full head (C classes, float64, random centres) and STEPS batches of the global batch."""
    g = torch.Generator().manual_seed(seed)
    full = create_head(head, D, C, **HEAD_KW.get(head, {})).double()
    with torch.no_grad():
        full.weight.normal_(generator=g)
    batches = [(torch.randn(WORLD * B_LOCAL, D, generator=g, dtype=torch.float64) * (1 + step),  # |x| varies
                torch.randint(0, C, (WORLD * B_LOCAL,), generator=g)) for step in range(STEPS)]
    return full, batches


def buffers(module):
    return {k: v.clone() for k, v in module.named_buffers()}


def test_the_registry_splits_into_accepted_and_refused():
    assert ACCEPTED and REFUSED and sorted(ACCEPTED + REFUSED) == list_heads()


# --- heads PartialFC accepts ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_head_forward_is_margin_logits_then_advance_schedule(name):
    """What PartialFC runs (margin_logits, then advance_schedule) is the whole head: same logits
    and same state over several training steps, then in eval. A head whose forward does more
    (relabels, returns a HeadOutput, updates a buffer) and still claims support fails here."""
    assert type(create_head(name, D, C)).forward is MarginHead.forward, (
        f"{name}: PartialFC never calls forward, so a head it accepts must keep MarginHead.forward; "
        "move per-step state into advance_schedule, or refuse in partial_fc_refusal")
    full, batches = reference(name)
    path = copy.deepcopy(full)
    for mode in ("train", "eval"):
        full.train(mode == "train")
        path.train(mode == "train")
        for emb, labels in batches:
            logits = full(emb, labels)
            expected = path.margin_logits(emb, labels, path.weight)
            if path.training:
                path.advance_schedule()
            assert isinstance(logits, torch.Tensor), f"{name} returns {type(logits).__name__}, not logits"
            torch.testing.assert_close(logits, expected, atol=0, rtol=0)
            torch.testing.assert_close(buffers(full), buffers(path), atol=0, rtol=0)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("name", ACCEPTED)
def test_single_process_equals_head_plus_cross_entropy(name, dtype, tol):
    full, batches = reference(name)
    full = full.to(dtype).train()
    pfc = PartialFC(D, C, sample_rate=1.0, head=name, **HEAD_KW.get(name, {})).to(dtype).train()
    assert (pfc.rank, pfc.world_size, pfc.num_local, pfc.class_start) == (0, 1, C, 0)
    with torch.no_grad():
        pfc.head.weight.copy_(full.weight)
    for emb, labels in batches:
        full.zero_grad(), pfc.zero_grad()
        e1, e2 = emb.to(dtype).clone().requires_grad_(), emb.to(dtype).clone().requires_grad_()
        loss, ref = pfc(e1, labels), F.cross_entropy(full(e2, labels), labels)
        loss.backward()
        ref.backward()
        torch.testing.assert_close(loss, ref, atol=tol, rtol=tol)
        torch.testing.assert_close(e1.grad, e2.grad, atol=tol, rtol=tol)
        torch.testing.assert_close(pfc.head.weight.grad, full.weight.grad, atol=tol, rtol=tol)
        torch.testing.assert_close(buffers(pfc.head), buffers(full), atol=0, rtol=0)
        with torch.no_grad():  # one SGD step on both, so later steps see other centres
            pfc.head.weight -= 0.5 * pfc.head.weight.grad
            full.weight -= 0.5 * full.weight.grad


def test_sphereface_lambda_anneals_under_partial_fc_exactly_as_under_the_full_head():
    full = create_head("sphereface", D, C).train()  # the paper's schedule: λ = 1000 / (1 + 0.12·it)
    pfc = PartialFC(D, C, head="sphereface").train()
    emb, labels = torch.randn(5, D), torch.randint(0, C, (5,))
    seen = []
    for step in range(1, 5):
        full(emb, labels)
        pfc(emb, labels)
        assert int(pfc.head.iteration) == int(full.iteration) == step
        assert pfc.head.lambda_ == full.lambda_ == pytest.approx(1000.0 / (1 + 0.12 * step))
        seen.append(pfc.head.lambda_)
    assert seen == sorted(seen, reverse=True) and seen[-1] < seen[0]  # it did anneal
    pfc.eval()
    full.eval()
    full(emb, labels)
    pfc(emb, labels)
    assert int(pfc.head.iteration) == int(full.iteration) == 4  # eval passes do not advance λ


def _worker(rank, port, out_dir):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    try:
        torch.set_num_threads(1)
        for name in ACCEPTED:
            _one_case(rank, out_dir, name)
    finally:
        dist.destroy_process_group()


def _one_case(rank, out_dir, name):
    full, batches = reference(name)
    pfc = PartialFC(D, C, sample_rate=1.0, head=name, **HEAD_KW.get(name, {})).double().train()
    k = pfc.head.num_centers
    start, stop = pfc.class_start * k, (pfc.class_start + pfc.num_local) * k
    with torch.no_grad():
        pfc.head.weight.copy_(full.weight[start:stop])
    mine = slice(rank * B_LOCAL, (rank + 1) * B_LOCAL)
    steps = []
    for emb, labels in batches:  # the same centres every step: only the head's state moves
        pfc.zero_grad()
        local = emb[mine].clone().requires_grad_()
        loss = pfc(local, labels[mine])
        loss.backward()
        steps.append(dict(loss=loss.detach(), emb_grad=local.grad, w_grad=pfc.head.weight.grad.clone(),
                          buffers=buffers(pfc.head)))
    torch.save(dict(steps=steps, start=start, stop=stop), f"{out_dir}/{name}-rank{rank}.pt")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(180)
def test_two_gloo_ranks_match_unsharded_head(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    for name in ACCEPTED:
        full, batches = reference(name)
        full.train()
        for step, (emb, labels) in enumerate(batches):
            full.zero_grad()
            emb = emb.clone().requires_grad_()
            loss = F.cross_entropy(full(emb, labels), labels)
            loss.backward()
            for rank in range(WORLD):
                got = torch.load(tmp_path / f"{name}-rank{rank}.pt")
                at, mine = got["steps"][step], slice(rank * B_LOCAL, (rank + 1) * B_LOCAL)
                where = f"{name}, rank {rank}, step {step}"
                assert at["w_grad"].abs().sum() > 0, where
                close = dict(atol=1e-10, rtol=1e-10, msg=lambda m: f"{where}: {m}")
                torch.testing.assert_close(at["loss"], loss.detach(), **close)
                torch.testing.assert_close(at["emb_grad"], emb.grad[mine], **close)
                torch.testing.assert_close(at["w_grad"], full.weight.grad[got["start"]:got["stop"]], **close)
                torch.testing.assert_close(at["buffers"], buffers(full), **{**close, "atol": 0, "rtol": 0})


# --- heads PartialFC refuses ---------------------------------------------------------------------

@pytest.mark.parametrize("name", REFUSED)
def test_refused_head_is_named_with_what_to_use_instead(name):
    cls = type(create_head(name, D, C))
    message = refusal(name)
    assert message.startswith(f"PartialFC: head={name!r} ({cls.__name__}) is not supported: "), message
    assert "use " in message, message


def test_boundaryface_is_refused_rather_than_trained_as_arcface():
    with pytest.raises(ValueError, match=r"head='boundaryface' \(BoundaryFaceHead\) is not supported: it relabels.*"
                                         r"use subcenter_arcface"):
        PartialFC(D, C, head="boundaryface")


def test_partial_fc_errors_are_explained():
    with pytest.raises(ValueError, match=r"head='curricularface' \(CurricularFaceHead\) is not supported: its hard negatives"):
        PartialFC(D, C, head="curricularface")
    with pytest.raises(ValueError, match=r"head='softmax' \(SoftmaxHead\) is not supported: it is not a margin head.*use normface"):
        PartialFC(D, C, head="softmax")
    with pytest.raises(ValueError, match="unknown head 'nope'"):
        PartialFC(D, C, head="nope")
    with pytest.raises(ValueError, match=r"sample_rate must be in \(0, 1\], got 0"):
        PartialFC(D, C, sample_rate=0)


# --- the default answer is derived from the head ------------------------------------------------

class _MarginOnly(MarginHead):  # a margin in target_logit only: shardable without saying so
    def target_logit(self, cos_theta):
        return cos_theta - 0.1


class _BusyForward(MarginHead):  # state updated in forward: PartialFC would skip it
    def forward(self, embeddings, labels):
        return super().forward(embeddings, labels) * 2


class _ReadsTarget(MarginHead):  # negatives that read the target logit
    def non_target_logits(self, cos_theta, target):
        return cos_theta - target


def test_default_answer_follows_the_hooks_a_head_overrides(monkeypatch):
    for name, cls in [("t_margin_only", _MarginOnly), ("t_busy_forward", _BusyForward),
                      ("t_reads_target", _ReadsTarget), ("t_linear", nn.Linear)]:
        monkeypatch.setitem(base._HEADS, name, cls)
    assert isinstance(PartialFC(D, C, head="t_margin_only").head, _MarginOnly)
    for name, why in [("t_busy_forward", "its forward does more than margin_logits"),
                      ("t_reads_target", "its non_target_logits read the target logit"),
                      ("t_linear", "it is not a MarginHead")]:
        with pytest.raises(ValueError, match=re.escape(f"head={name!r}") + ".*" + why + ".*; use "):
            PartialFC(D, C, head=name)


# --- sampling (r < 1) ----------------------------------------------------------------------------

def test_sampling_keeps_positives_and_equals_ce_over_the_sampled_classes():
    torch.manual_seed(0)
    num_classes = 20
    pfc = PartialFC(D, num_classes, sample_rate=0.3, head="cosface", s=10.0).double()
    emb = torch.randn(5, D, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([3, 3, 17, 0, 9])
    torch.manual_seed(1)
    index, remapped = pfc.sample(labels)
    assert len(index) == math.ceil(0.3 * num_classes) == 6
    assert set(labels.tolist()) <= set(index.tolist()) and (index.diff() > 0).all()
    assert (index[remapped] == labels).all()
    torch.manual_seed(1)  # the same random negatives
    loss = pfc(emb, labels)
    loss.backward()
    sub = create_head("cosface", D, len(index), s=10.0).double()
    with torch.no_grad():
        sub.weight.copy_(pfc.head.weight[index])
    torch.testing.assert_close(loss, F.cross_entropy(sub(emb, remapped), remapped))
    unsampled = torch.ones(num_classes, dtype=torch.bool)
    unsampled[index] = False
    assert (pfc.head.weight.grad[unsampled] == 0).all() and (pfc.head.weight.grad[index] != 0).any()


def test_more_positives_than_the_sample_size_keeps_them_all():
    pfc = PartialFC(D, 10, sample_rate=0.1)
    index, _ = pfc.sample(torch.tensor([1, 4, 7]))
    assert index.tolist() == [1, 4, 7]
