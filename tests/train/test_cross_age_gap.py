"""data.min_age_gap is on the scale of meta['age']: the default suits the synthetic faces (0..1)."""
import numpy as np
import pytest

from facecourse.data import SyntheticFaces
from facecourse.train import DataConfig, PairBatchSampler, make_sampler


def test_default_min_age_gap_works_on_synthetic_ages():
    faces = SyntheticFaces(6, 6, image_size=16, factors={"age": (0.0, 1.0)}, seed=0)
    cfg = DataConfig(sampler="pairs", cross_age=True)
    assert 0 < cfg.min_age_gap < 1
    sampler = make_sampler(cfg, faces.labels, 8, seed=0, ages=faces.meta["age"])
    age, labels = faces.meta["age"], faces.labels.numpy()
    for batch in sampler:
        for a, b in batch:
            if labels[a] == labels[b]:
                assert abs(age[a] - age[b]) >= cfg.min_age_gap


def test_gap_error_shows_the_age_scale():
    labels = np.repeat(np.arange(4), 4)
    ages = np.linspace(0, 1, 16)
    with pytest.raises(ValueError, match=r"ages here span 0 \.\. 1; min_age_gap is on that scale"):
        PairBatchSampler(labels, 8, ages=ages, min_age_gap=10.0)
