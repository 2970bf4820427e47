"""The resumable embedding cache (facecourse/eval/embedding_cache.py), with a fake embedder (no
dlib needed)."""
import json

import numpy as np
import pytest
import torch

from facecourse.eval.embedding_cache import cached_embeddings, data_key


def _images(n=64, size=32, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=g).to(torch.uint8)  # (N, 3, H, W)


class MeanColour:
    """A fake embedder: the mean of each channel, plus a call counter (in-process only)."""

    embedding_dim = 3

    def __init__(self, fail_after=None):
        self.calls, self.fail_after = 0, fail_after

    def __call__(self, images_uint8):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("stopped")
        return np.asarray(images_uint8, np.float32).mean(axis=(2, 3))


def test_cached_embeddings_compute_only_missing_rows_and_resume(tmp_path):
    images = _images()
    expected = images.float().mean(dim=(2, 3)).numpy()
    path = tmp_path / "t.npy"
    with pytest.raises(KeyboardInterrupt):
        cached_embeddings(images, np.arange(40), path, MeanColour(fail_after=2), workers=1,
                          chunk=8, progress=False)
    partial = np.load(path)
    assert np.isfinite(partial).all(1).sum() == 16  # two chunks were saved before the stop
    fake = MeanColour()
    table = cached_embeddings(images, np.arange(40), path, fake, workers=1, chunk=8, progress=False)
    assert fake.calls == 3  # only the 24 missing rows
    np.testing.assert_allclose(table[:40], expected[:40], rtol=1e-6)
    assert np.isnan(table[40:]).all()
    again = MeanColour()
    cached_embeddings(images, [3, 7], path, again, workers=1, progress=False)
    assert again.calls == 0
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["rows_done"] == 40 and meta["seconds"] >= 0


def test_cached_embeddings_with_two_worker_processes(tmp_path):
    images = _images()
    table = cached_embeddings(images, np.arange(0, 64, 2), tmp_path / "w.npy", MeanColour(),
                              workers=2, chunk=4, progress=False)
    np.testing.assert_allclose(table[::2], images[::2].float().mean(dim=(2, 3)).numpy(), rtol=1e-6)
    assert np.isnan(table[1::2]).all()


def test_a_cache_of_other_data_is_refused_and_keys_follow_the_pixels(tmp_path):
    images = _images()
    cached_embeddings(images, [0], tmp_path / "t.npy", MeanColour(), workers=1, progress=False)
    with pytest.raises(ValueError, match=r"holds \(64, 3\) embeddings, not \(10, 3\)"):
        cached_embeddings(images[:10], [0], tmp_path / "t.npy", MeanColour(), workers=1, progress=False)
    other = images.clone()
    other[0, 0, 0, 0] ^= 1
    assert data_key(images) == data_key(images.clone()) != data_key(other)
