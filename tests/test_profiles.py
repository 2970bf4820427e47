import pytest

from facecourse.profiles import Profile, get_profile, list_profiles


@pytest.fixture(autouse=True)
def _no_env_override(monkeypatch):
    monkeypatch.delenv("FACECOURSE_PROFILE", raising=False)


def test_three_profiles_in_order_of_size():
    assert list_profiles() == ["smoke", "laptop", "gpu"]
    smoke, laptop, gpu = (get_profile(n) for n in list_profiles())
    assert smoke.image_size <= laptop.image_size < gpu.image_size == 112
    assert laptop.image_size <= 64, "CPU profiles stay at 64 px or less (2-core budget)"
    for a, b in [(smoke, laptop), (laptop, gpu)]:
        assert a.num_identities * a.images_per_identity < b.num_identities * b.images_per_identity
    assert laptop.strict and gpu.strict and not smoke.strict


def test_cpu_profiles_stay_on_cpu_and_gpu_picks_cuda_when_present(monkeypatch):
    import torch
    assert get_profile("smoke").device == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_profile("gpu").device == "cpu" and get_profile("gpu").amp == "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_profile("gpu").device == "cuda" and get_profile("gpu").amp == "auto"  # fit: fp16
    assert get_profile("laptop").amp == "off"


def test_overrides_and_env_override(monkeypatch):
    p = get_profile("laptop", epochs=1)
    assert isinstance(p, Profile) and p.epochs == 1 and p.name == "laptop"
    monkeypatch.setenv("FACECOURSE_PROFILE", "smoke")
    assert get_profile("laptop").name == "smoke"


def test_unknown_names_are_explained():
    with pytest.raises(ValueError, match=r"unknown profile 'lapotp'.*smoke.*laptop.*gpu"):
        get_profile("lapotp")
    with pytest.raises(TypeError, match="unknown field.*'epoch'"):
        get_profile("smoke", epoch=3)
