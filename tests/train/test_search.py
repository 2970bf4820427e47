"""search_combined_margin: seeded, within its budget, cleaning by the threshold it reports."""
import math

import numpy as np
import pytest

from facecourse.eval import centre_similarity, embed
from facecourse.train import SearchSpace, fit, search_combined_margin

from _train_tiny import tiny_config, tiny_faces


@pytest.fixture(scope="module")
def setup():
    train, val = tiny_faces(), tiny_faces(num_classes=6, per_class=6, seed=1)
    cfg = tiny_config(epochs=1)
    similarity = centre_similarity(embed(fit(cfg, train).backbone, train), train.labels)
    return cfg, train, val, similarity


def test_the_search_is_reproducible_and_reports_every_trial(setup):
    cfg, train, val, sim = setup
    space = SearchSpace(threshold=(0.0, 0.9))
    score = lambda backbone, data: float(embed(backbone, data).sum())  # noqa: E731  (cheap, deterministic)
    runs = [search_combined_margin(cfg, train, val, sim, n_trials=3, seed=7, space=space, score=score)
            for _ in range(2)]
    assert [r["score"] for r in runs[0].trials] == [r["score"] for r in runs[1].trials]
    assert [r["m2"] for r in runs[0].trials] == [r["m2"] for r in runs[1].trials]
    rows = runs[0].trials
    assert len(rows) == 3 and runs[0].best == max(rows, key=lambda r: r["score"])
    for r in rows:
        assert set(r) >= {"trial", "m1", "m2", "m3", "s", "threshold", "kept", "score", "seconds"}
        assert 1.0 <= r["m1"] <= 1.3 and 8 <= r["s"] <= 64 and 0 <= r["threshold"] <= 0.9
        assert r["kept"] == pytest.approx(float((sim.numpy() >= r["threshold"]).mean()))
    assert len(runs[0].study.trials) == 3
    other = search_combined_margin(cfg, train, val, sim, n_trials=3, seed=8, space=space, score=score)
    assert [r["m2"] for r in other.trials] != [r["m2"] for r in rows]


@pytest.mark.filterwarnings("ignore::facecourse.eval.FARResolutionWarning")  # tiny val set
def test_without_similarity_there_is_no_cleaning_and_defaults_score_tar(setup):
    cfg, train, val, _ = setup
    result = search_combined_margin(cfg, train, val, n_trials=2, seed=0)
    assert all("threshold" not in r and r["kept"] == 1.0 for r in result.trials)
    assert all(0.0 <= r["score"] <= 1.0 or r["score"] == -math.inf for r in result.trials)
    with pytest.raises(ValueError, match="one value per training image"):
        search_combined_margin(cfg, train, val, np.zeros(3), n_trials=1)
