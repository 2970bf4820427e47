"""bench/gray_share.py's rule: a greyscale photo has (almost) equal channels."""
import importlib.util
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_chroma_is_zero_for_grey_photos_and_large_for_colour_ones():
    spec = importlib.util.spec_from_file_location("gray_share", BENCH / "gray_share.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (5, 1, 8, 8)), 3, axis=1).astype(np.uint8)
    colour = rng.integers(0, 256, (5, 3, 8, 8)).astype(np.uint8)
    c = module.chroma(np.concatenate([grey, colour]), batch=3)  # batches cross the two kinds
    assert c.shape == (10,) and (c[:5] == 0).all() and (c[5:] > 20).all()
