import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from facecourse.data import (SyntheticFaces, blur, downsample, draw_mask, illumination, jpeg,
                             mask_coverage)


@pytest.fixture(scope="module")
def faces():
    return SyntheticFaces(2, 2, image_size=48, seed=1, factors=dict(mask_prob=0.0, glasses_prob=0.0))


def test_jpeg_matches_pil_roundtrip(faces):
    out = jpeg(faces.images, [20, 0, 90, 50])
    assert torch.equal(out[1], faces.images[1])  # quality 0 = unchanged
    buf = io.BytesIO()
    Image.fromarray(faces.images[0].permute(1, 2, 0).numpy()).save(buf, "JPEG", quality=20)
    ref = torch.from_numpy(np.array(Image.open(buf))).permute(2, 0, 1)
    assert torch.equal(out[0], ref)
    err = lambda q: (jpeg(faces.images, q).float() - faces.images.float()).abs().mean()  # noqa: E731
    assert err(10) > err(90)
    assert jpeg(faces.images[0], 50).shape == (3, 48, 48)


def test_downsample_equals_interpolate_down_and_up(faces):
    x = faces.images
    out = downsample(x, 12)
    small = torch.stack([x.float()[:, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4].mean((2, 3))  # naive 4x4 means
                         for i in range(12) for j in range(12)], -1).view(4, 3, 12, 12)
    ref = F.interpolate(small,
                        size=(48, 48), mode="bilinear").round().clamp(0, 255).to(torch.uint8)
    assert torch.equal(out, ref)
    assert torch.equal(downsample(x, 48), x)
    per_image = downsample(x, [12, 48, 24, 48])
    assert torch.equal(per_image[0], out[0]) and torch.equal(per_image[1], x[1])


def test_blur_is_binomial_conv(faces):
    x = faces.images[:1, :, 10:22, 10:22].contiguous()
    p = np.pad(x.numpy().astype(float), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    k = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    ref = torch.tensor(sum(k[i, j] * p[..., i:i + 12, j:j + 12] for i in range(3) for j in range(3)))  # naive
    torch.testing.assert_close(blur(x, 1.0).double(), ref.round(), atol=1, rtol=0)
    assert torch.equal(blur(x, 0.0), x)


def test_illumination_hand_case():
    x = torch.full((1, 3, 3, 3), 100, dtype=torch.uint8)
    out = illumination(x, gain=1.0, direction=0.0, strength=0.5)
    ramp = np.array([-1, 0, 1]) / np.sqrt(2)  # light from the right: brighter on the right
    np.testing.assert_allclose(out[0, 0, 1].numpy(), np.round(100 * (1 + 0.5 * ramp)))
    tinted = illumination(x, gain=0.5, colour=(1.0, 0.5, 2.0))
    assert tinted[0, :, 0, 0].tolist() == [50, 25, 100]


def test_draw_mask_covers_nose_and_mouth_only(faces):
    lm = faces.landmarks
    out = draw_mask(faces.images, lm, seed=3)
    again = draw_mask(faces.images, lm, seed=3)
    assert torch.equal(out, again)
    changed = (out.int() - faces.images.int()).abs().sum(1) > 0  # (N, H, W)
    for i in range(len(out)):
        (ex, ey), (nx, ny) = lm[i, 0].round().astype(int), lm[i, 2].round().astype(int)
        mx, my = lm[i, 3:].mean(0).round().astype(int)
        assert changed[i, ny, nx] and changed[i, my, mx] and not changed[i, ey, ex]
        assert not changed[i, 0].any()  # top row untouched
    lm68 = np.zeros((4, 68, 2), np.float32)
    lm68[:, 36:42], lm68[:, 42:48], lm68[:, 30], lm68[:, 48], lm68[:, 54] = (
        lm[:, None, 0], lm[:, None, 1], lm[:, 2], lm[:, 3], lm[:, 4])
    assert torch.equal(draw_mask(faces.images, lm68, seed=3), out)


def test_mask_top_moves_the_upper_edge_and_coverage_says_where(faces):
    lm = faces.landmarks
    assert torch.equal(draw_mask(faces.images, lm, seed=3, top=0.55), draw_mask(faces.images, lm, seed=3))
    cover = {t: mask_coverage(lm, 48, top=t) for t in (0.3, 0.55, 1.0)}  # (N, 48, 48) each
    assert torch.equal(cover[0.55], mask_coverage(lm, 48))
    assert (cover[0.3] >= cover[0.55]).all() and (cover[0.55] >= cover[1.0]).all()
    assert cover[0.3].sum() > cover[0.55].sum() > cover[1.0].sum()
    for i in range(len(lm)):  # a mask worn under the nose leaves the nose tip free
        nx, ny = lm[i, 2].round().astype(int)
        assert cover[0.55][i, ny, nx] == 1 and cover[1.0][i, ny, nx] < 1
    low = draw_mask(faces.images, lm, seed=3, top=1.0)
    changed = (low.int() - faces.images.int()).abs().sum(1) > 0
    assert not changed[cover[1.0] == 0].any()  # paints only where its coverage says


def test_degradation_errors(faces):
    with pytest.raises(ValueError, match=r"jpeg: expected uint8 images .* convert float images"):
        jpeg(faces.images.float(), 50)
    with pytest.raises(ValueError, match="quality must be in 1..100"):
        jpeg(faces.images, 150)
    with pytest.raises(ValueError, match="at least 2 px"):
        downsample(faces.images, 1)
    with pytest.raises(ValueError, match=r"landmarks must be \(B, 5, 2\) or \(B, 68, 2\)"):
        draw_mask(faces.images, np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="kind must be 'medical', 'cloth' or None"):
        draw_mask(faces.images, faces.landmarks, kind="n95")
    with pytest.raises(ValueError, match=r"draw_mask: top must be in \(0, 2.5\)"):
        draw_mask(faces.images, faces.landmarks, top=0.0)
    with pytest.raises(ValueError, match=r"mask_coverage: top must be in \(0, 2.5\)"):
        mask_coverage(faces.landmarks, 48, top=3.0)


def test_jpeg_pil_fallback_gives_the_same_bytes(faces, monkeypatch):
    fast = jpeg(faces.images, 40)
    monkeypatch.setitem(__import__("sys").modules, "torchvision.io", None)  # import now fails
    assert torch.equal(jpeg(faces.images, 40), fast)
