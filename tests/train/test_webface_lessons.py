"""The lessons' web-face sections (issue 17): `lesson_webface` finds a train.rec and its .bin
sets only when the profile asks for them, `webface_config` is casia-arcface at the profile's
share of the schedule, and `fit_cached` keys a lazy .rec by its files. On a tiny .rec."""
import numpy as np
import pytest

from facecourse import get_profile
from facecourse.data import make_tiny_insightface
from facecourse.train import fit_cached, lesson_webface, webface_config, webface_heads
from facecourse.train.cache import run_key


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("facecourse_data")
    make_tiny_insightface(root / "faces_webface_112x112", identities=8, per_identity=10, pairs=40,
                          size=40, bins=("lfw", "cfp_fp", "agedb_30"))
    return root


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    """Profiles by name (`make test` sets FACECOURSE_PROFILE=smoke), no web-face share."""
    monkeypatch.delenv("FACECOURSE_PROFILE", raising=False)
    monkeypatch.delenv("FACECOURSE_WEBFACE", raising=False)


@pytest.fixture
def on(monkeypatch, data_root):
    """FACECOURSE_DATA at the tiny set, FACECOURSE_WEBFACE at 3 % of the schedule (1 epoch)."""
    monkeypatch.setenv("FACECOURSE_DATA", str(data_root))
    monkeypatch.setenv("FACECOURSE_WEBFACE", "0.03")
    return data_root


def test_only_a_profile_that_asks_trains_on_web_faces(monkeypatch, data_root, capsys):
    monkeypatch.setenv("FACECOURSE_DATA", str(data_root))
    assert [get_profile(n).webface for n in ("smoke", "laptop", "gpu")] == [0.0, 0.0, 1.0]
    assert lesson_webface(get_profile("laptop")) is None
    assert "the laptop profile trains no web-face model" in capsys.readouterr().out
    with pytest.raises(ValueError, match="webface=0.0.*FACECOURSE_WEBFACE"):
        webface_config(get_profile("smoke"))
    monkeypatch.setenv("FACECOURSE_WEBFACE", "a quarter")
    with pytest.raises(ValueError, match=r"FACECOURSE_WEBFACE='a quarter'.*e\.g\. 0\.25"):
        get_profile("smoke")
    with pytest.raises(ValueError, match=r"webface=-1.0 must be >= 0"):
        get_profile("smoke", webface=-1.0)


def test_no_rec_or_no_bins_says_where_it_looked(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path))
    profile = get_profile("smoke", webface=0.03)
    assert lesson_webface(profile) is None
    assert "no train.rec in" in capsys.readouterr().out
    make_tiny_insightface(tmp_path / "faces_emore", identities=2, per_identity=2, size=32, bins=())
    assert lesson_webface(profile) is None
    out = capsys.readouterr().out
    assert "none of lfw.bin, cfp_fp.bin, agedb_30.bin, calfw.bin is in" in out and "faces_emore" in out


def test_the_gpu_profile_runs_the_papers_recipe_at_its_share(monkeypatch):
    monkeypatch.setenv("FACECOURSE_WEBFACE", "0.25")
    gpu = get_profile("gpu")
    cfg = webface_config(gpu, "CosFace", seed=3)
    assert (cfg.model.backbone, cfg.model.image_size, cfg.batch_size) == ("iresnet50", 112, 512)
    assert (cfg.head.name, cfg.head.s, cfg.head.m) == ("cosface", 64.0, 0.35)
    assert cfg.epochs == pytest.approx(33.4 / 4) and cfg.optim.milestones == pytest.approx([20.9 / 4, 29.2 / 4])
    assert cfg.val.every == 2000 and cfg.data.source == "rec" and cfg.seed == 3
    assert cfg.device == gpu.device
    mfn = webface_config(gpu, model={"backbone": "mobilefacenet"})
    assert (mfn.model.backbone, mfn.model.image_size, mfn.head.m) == ("mobilefacenet", 112, 0.5)
    assert set(webface_heads()) == {"softmax", "CosFace", "ArcFace"}
    with pytest.raises(KeyError, match="unknown web-face head 'NormFace'"):
        webface_config(gpu, "NormFace")


def test_a_small_profile_trains_and_measures_the_bins_then_the_cache_returns_it(on, tmp_path, capsys):
    profile = get_profile("smoke")
    web = lesson_webface(profile)
    assert web is not None and web.share == 0.03 and web.size == profile.real_size
    assert len(web.train) == 80 and web.train.num_classes == 8 and set(web.bins) == {"lfw", "cfp_fp", "agedb_30"}
    assert web.bins["lfw"][0].images.shape[-1] == profile.real_size
    assert "80 photos of 8 people" in str(web) and "agedb_30 (40 pairs)" in str(web)
    cfg = webface_config(profile, "ArcFace")
    assert (cfg.model.backbone, cfg.model.image_size) == (profile.backbone, profile.real_size)
    assert cfg.epochs == pytest.approx(1.002) and cfg.val.every == 0
    run = fit_cached(cfg, web.train, cache_dir=tmp_path)
    assert run.history and np.isfinite(run.history[-1]["loss"])
    acc = web.evaluate(run.backbone)
    assert set(acc) == {"lfw", "lfw_std", "cfp_fp", "cfp_fp_std", "agedb_30", "agedb_30_std"}
    assert all(0.0 <= acc[n] <= 1.0 for n in web.bins)
    capsys.readouterr()
    again = fit_cached(cfg, web.train, cache_dir=tmp_path)
    assert "this exact run finished before" in capsys.readouterr().out
    assert web.evaluate(again.backbone) == acc


def test_the_cache_key_of_a_rec_follows_its_files(on, tmp_path):
    profile = get_profile("smoke")
    web = lesson_webface(profile)
    cfg = webface_config(profile)
    key = run_key(cfg, web.train)
    assert run_key(cfg, lesson_webface(profile).train) == key  # read again: the same key
    other = make_tiny_insightface(tmp_path / "other", identities=8, per_identity=10, size=40, seed=1, bins=())
    from facecourse.data import load_rec
    assert run_key(cfg, load_rec(other / "train.rec", image_size=profile.real_size)) != key
    assert run_key(webface_config(profile, "CosFace"), web.train) != key
