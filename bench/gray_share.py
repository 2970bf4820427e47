"""How many photos are black-and-white: LAG-dev's young and adult photos against LFW's.

The reason for `data.gray_jitter`: a student trained on LFW (colour press photos) meets LAG's
old photos of young celebrities. A photo counts as greyscale when its mean absolute deviation of
the channels from their mean is under 2 grey levels (of 255) on the prepared 64 px crops.

    python bench/gray_share.py     # needs prepared LFW and LAG -> bench/results/gray_share.json
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def chroma(images, batch: int = 2048) -> np.ndarray:
    """Per image (N,): mean |channel - mean of the channels| in grey levels."""
    out = []
    for i in range(0, len(images), batch):
        x = np.asarray(images[i:i + batch], np.float32)  # (B, 3, H, W)
        out.append(np.abs(x - x.mean(1, keepdims=True)).mean((1, 2, 3)))
    return np.concatenate(out)


def main() -> int:
    from facecourse.data import load_lag, load_lfw
    lag, lfw = load_lag(image_size=64), load_lfw(None, image_size=64)
    young = np.asarray(lag.dataset.meta["young"], bool)
    c_lag, c_lfw = chroma(lag.dataset.images.numpy()), chroma(lfw.dataset.images.numpy())
    share = lambda c: round(float((c < 2.0).mean()), 4)  # noqa: E731
    result = {"lag_young": share(c_lag[young]), "lag_adult": share(c_lag[~young]), "lfw": share(c_lfw),
              "n_lag_young": int(young.sum()), "n_lag_adult": int((~young).sum()), "n_lfw": len(c_lfw),
              "rule": "mean |channel - channel mean| < 2 grey levels, 64 px prepared crops",
              "command": "python bench/gray_share.py", "date": time.strftime("%Y-%m-%d")}
    out = ROOT / "bench" / "results" / "gray_share.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
