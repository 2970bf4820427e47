"""PartialFC: sharded over 2 gloo processes with r = 1 equals the unsharded ArcFace head + CE."""
import math
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from facecourse.losses import PartialFC, create_head

D, C, B_LOCAL, WORLD = 6, 7, 4, 2  # 7 classes: shards of 4 and 3


def reference(head="arcface", **kw):
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(WORLD * B_LOCAL, D, generator=g, dtype=torch.float64)
    labels = torch.randint(0, C, (WORLD * B_LOCAL,), generator=g)
    full = create_head(head, D, C, **kw).double()
    with torch.no_grad():
        full.weight.normal_(generator=g)
    return emb, labels, full


CASES = [("arcface", dict(s=16.0, m=0.5)), ("subcenter_arcface", dict(s=8.0, k=2)), ("cosface", dict(s=8.0))]


def _worker(rank, port, out_dir):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    try:
        torch.set_num_threads(1)
        for head, kw in CASES:
            _one_case(rank, out_dir, head, kw)
    finally:
        dist.destroy_process_group()


def _one_case(rank, out_dir, head, kw):
    emb, labels, full = reference(head, **kw)
    pfc = PartialFC(D, C, sample_rate=1.0, head=head, **kw).double()
    k = pfc.head.num_centers
    start, stop = pfc.class_start * k, (pfc.class_start + pfc.num_local) * k
    with torch.no_grad():
        pfc.head.weight.copy_(full.weight[start:stop])
    local = emb[rank * B_LOCAL:(rank + 1) * B_LOCAL].clone().requires_grad_()
    loss = pfc(local, labels[rank * B_LOCAL:(rank + 1) * B_LOCAL])
    loss.backward()
    torch.save(dict(loss=loss.detach(), emb_grad=local.grad, w_grad=pfc.head.weight.grad,
                    start=start, stop=stop), f"{out_dir}/{head}-rank{rank}.pt")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(120)
def test_two_gloo_ranks_match_unsharded_head(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    for head, kw in CASES:
        check_case(tmp_path, head, kw)


def check_case(tmp_path, head, kw):
    emb, labels, full = reference(head, **kw)
    emb.requires_grad_()
    loss = F.cross_entropy(full(emb, labels), labels)
    loss.backward()
    for rank in range(WORLD):
        got = torch.load(tmp_path / f"{head}-rank{rank}.pt")
        assert got["w_grad"].abs().sum() > 0
        torch.testing.assert_close(got["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(got["emb_grad"], emb.grad[rank * B_LOCAL:(rank + 1) * B_LOCAL], atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(got["w_grad"], full.weight.grad[got["start"]:got["stop"]], atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_single_process_equals_head_plus_cross_entropy(dtype, tol):
    emb, labels, full = reference()
    full, emb = full.to(dtype), emb.to(dtype)
    pfc = PartialFC(D, C).to(dtype)
    assert (pfc.rank, pfc.world_size, pfc.num_local, pfc.class_start) == (0, 1, C, 0)
    with torch.no_grad():
        pfc.head.weight.copy_(full.weight)
    e1, e2 = emb.clone().requires_grad_(), emb.clone().requires_grad_()
    loss, ref = pfc(e1, labels), F.cross_entropy(full(e2, labels), labels)
    loss.backward()
    ref.backward()
    torch.testing.assert_close(loss, ref, atol=tol, rtol=tol)
    torch.testing.assert_close(e1.grad, e2.grad, atol=tol, rtol=tol)
    torch.testing.assert_close(pfc.head.weight.grad, full.weight.grad, atol=tol, rtol=tol)


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


def test_partial_fc_errors_are_explained():
    with pytest.raises(ValueError, match="head='curricularface' is not supported"):
        PartialFC(D, C, head="curricularface")
    with pytest.raises(ValueError, match=r"sample_rate must be in \(0, 1\], got 0"):
        PartialFC(D, C, sample_rate=0)
