"""CBAM against its equations; CBAMBackbone adds one per stride-2 stage of every backbone."""
import copy

import pytest
import torch

from facecourse.models import BackboneOutput, CBAM, CBAMBackbone, cbam_attention, create_backbone


def test_cbam_shapes_attention_range_and_equations():
    torch.manual_seed(0)
    cbam = CBAM(32, reduction=4, kernel_size=3).eval()
    x = torch.randn(2, 32, 6, 5)
    out = cbam(x)
    assert out.shape == x.shape
    ca, sa = cbam.channel_attention, cbam.spatial_attention
    assert ca.shape == (2, 32, 1, 1) and sa.shape == (2, 1, 6, 5)
    for a in (ca, sa):
        assert 0 <= a.min() and a.max() <= 1
    # Eq. (2), (3), (1) written out
    mlp = lambda v: cbam.mlp[2].weight[:, :, 0, 0] @ torch.relu(cbam.mlp[0].weight[:, :, 0, 0] @ v)  # noqa: E731
    for b in range(2):
        m_c = torch.sigmoid(mlp(x[b].mean((1, 2))) + mlp(x[b].amax((1, 2))))  # (C,)
        f1 = x[b] * m_c[:, None, None]
        pooled = torch.stack([f1.mean(0), f1.amax(0)])[None]  # (1, 2, H, W)
        m_s = torch.sigmoid(torch.nn.functional.conv2d(pooled, cbam.conv.weight, padding=1))[0, 0]
        torch.testing.assert_close(out[b], f1 * m_s, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ca[b, :, 0, 0], m_c)


@pytest.mark.parametrize("name,stages", [("convnet", 3), ("iresnet18", 4), ("mobilefacenet", 4)])
def test_cbam_backbone_adds_one_module_per_stage(name, stages):
    torch.manual_seed(0)
    base = create_backbone(name, embedding_dim=8, image_size=32, width=0.25)
    net = CBAMBackbone(base).train()
    assert sum(isinstance(m, CBAM) for m in net.modules()) == stages
    x = torch.randn(2, 3, 32, 32)
    out = net(x)  # training: the embeddings and, returned beside them, the maps
    assert isinstance(out, BackboneOutput) and out.embeddings.shape == (2, 8)
    maps = out.extras["attention"]
    assert len(maps) == stages and len(net.attention()) == stages
    sizes = [s.shape[-1] for _, s in maps]
    assert sizes == [32 // 2 ** (i + 1) for i in range(stages)], "one map per resolution"
    assert all(c.requires_grad for c, _ in maps), "train: the returned maps are in the graph"
    assert not any(c.requires_grad for c, _ in cbam_attention(net, logits=True)), "kept: for plots"
    emb, again = net.forward_with_attention(x)
    torch.testing.assert_close(emb, out.embeddings)
    torch.testing.assert_close(again[0][1], maps[0][1])
    net.eval()
    assert net.attention() == [], "switching mode clears the maps"
    copy.deepcopy(net)  # a trained model can be copied
    assert net(x).shape == (2, 8)  # eval: embeddings only


def test_cbam_backbone_explains_a_foreign_backbone():
    with pytest.raises(TypeError, match="nn.Sequential `body` and a `neck`"):
        CBAMBackbone(torch.nn.Linear(3, 3))
