"""Backbone registry, necks, sizes, channels_last / autocast, and the parameter / MAC counters."""
import pytest
import torch
from torch import nn

from facecourse.models import NECKS, count_flops, count_parameters, create_backbone, list_backbones


def test_registry_names():
    assert list_backbones() == ["convnet", "iresnet18", "iresnet34", "iresnet50", "mobilefacenet"]


@pytest.mark.parametrize("name", list_backbones())
@pytest.mark.parametrize("size", [64, 112])
def test_every_backbone_maps_images_to_unnormalized_embeddings(name, size):
    torch.manual_seed(0)
    depth = {"blocks": (1, 2, 1, 1)} if name.startswith("iresnet") else {}  # keep the test fast
    model = create_backbone(name, embedding_dim=32, image_size=size, width=0.25, **depth)
    out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 32)
    assert not torch.allclose(out.norm(dim=1), torch.ones(2))


@pytest.mark.parametrize("neck", NECKS)
@pytest.mark.parametrize("size", [32, 64])
def test_convnet_every_neck(neck, size):
    model = create_backbone("convnet", embedding_dim=16, image_size=size, width=0.5, neck=neck, dropout=0.1)
    assert model(torch.randn(3, 3, size, size)).shape == (3, 16)


def test_neck_layers_follow_the_papers():
    gdc = create_backbone("mobilefacenet", image_size=112).neck.pool[0]
    assert gdc.kernel_size == (7, 7) and gdc.groups == gdc.in_channels == 512  # 7x7 global depthwise
    assert create_backbone("mobilefacenet", image_size=64).neck.pool[0].kernel_size == (4, 4)
    e = create_backbone("iresnet18", neck="bn_dropout_fc_bn", dropout=0.4, width=0.25).neck
    assert isinstance(e.pool, nn.BatchNorm2d) and e.dropout.p == 0.4 and e.fc.in_features == 128 * 7 * 7


def test_published_sizes():
    # insightface r50 / r18 with the "E" output layer: 43.59M and 24.03M parameters
    assert count_parameters(create_backbone("iresnet50", neck="bn_dropout_fc_bn")) == 43_590_336
    assert count_parameters(create_backbone("iresnet18", neck="bn_dropout_fc_bn")) == 24_025_088
    # MobileFaceNet paper, Table 2: 0.99M parameters, 221M MAdds (128-d embedding)
    mbf = create_backbone("mobilefacenet", embedding_dim=128)
    assert abs(count_parameters(mbf) - 0.99e6) < 0.02e6
    assert abs(count_flops(mbf, 112) - 221e6) < 1e6


def test_width_and_depth_knobs_shrink_the_model():
    full = count_parameters(create_backbone("mobilefacenet"))
    assert count_parameters(create_backbone("mobilefacenet", width=0.5)) < full / 2
    assert count_parameters(create_backbone("mobilefacenet", blocks=(1, 1, 1, 1, 1))) < full
    r18 = create_backbone("iresnet18", width=0.25)
    assert count_parameters(create_backbone("iresnet18", width=0.25, blocks=(1, 1, 1, 1))) < count_parameters(r18)
    assert count_parameters(create_backbone("iresnet34", width=0.25)) > count_parameters(r18)


def test_count_flops_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    conv1 = 8 * 8 * 4 * 3 * 3 * 3  # out elements · in/groups · kh · kw
    conv2 = 4 * 4 * 4 * 2 * 3 * 3
    assert count_flops(model, 8) == conv1 + conv2 + 64 * 10
    assert count_parameters(model) == (4 * 27 + 4) + (4 * 18 + 4) + (640 + 10)
    model[0].weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - 4 * 27
    assert model.training  # count_flops restores the mode


def test_channels_last_matches_nchw():
    torch.manual_seed(0)
    model = create_backbone("mobilefacenet", embedding_dim=16, image_size=64, width=0.25).eval()
    x = torch.randn(2, 3, 64, 64)
    ref = model(x)
    out = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["mobilefacenet", "iresnet18", "convnet"])
def test_autocast_bfloat16_on_cpu(name):
    model = create_backbone(name, embedding_dim=16, image_size=64, width=0.25)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 3, 64, 64))
    out.float().sum().backward()
    assert out.shape == (2, 16) and torch.isfinite(out.float()).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_autocast_float16_on_cuda_channels_last():
    model = create_backbone("iresnet18", embedding_dim=64, image_size=112).cuda().to(memory_format=torch.channels_last)
    x = torch.randn(4, 3, 112, 112, device="cuda").to(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.float16):
        out = model(x)
    out.float().sum().backward()
    assert out.shape == (4, 64) and torch.isfinite(out.float()).all()


def test_errors_are_explained():
    with pytest.raises(ValueError, match="unknown backbone 'resnet18'; create_backbone knows: convnet, iresnet18"):
        create_backbone("resnet18")
    with pytest.raises(ValueError, match="width must be > 0"):
        create_backbone("convnet", width=0)
    with pytest.raises(ValueError, match="unknown neck 'avg'; choose one of: gdc, gap, flatten, bn_dropout_fc_bn"):
        create_backbone("convnet", neck="avg")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        create_backbone("convnet", dropout=1.0)
    with pytest.raises(ValueError, match="iresnet: image_size=8 is too small for 4 stride-2 stages; use image_size >= 16"):
        create_backbone("iresnet18", image_size=8)
    with pytest.raises(ValueError, match=r"mobilefacenet: blocks must be 5 positive ints \(default \(5, 1, 6, 1, 2\)\)"):
        create_backbone("mobilefacenet", blocks=(1, 2))
    with pytest.raises(ValueError, match="iresnet: blocks must be 4 positive ints"):
        create_backbone("iresnet34", blocks=(0, 1, 1, 1))
    with pytest.raises(ValueError, match="convnet: channels must list at least one stage width"):
        create_backbone("convnet", channels=())
