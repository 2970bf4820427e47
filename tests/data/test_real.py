"""Real faces found, prepared once per profile, and loaded through one public call (issue 18)."""
import pytest

from facecourse.data import load_real, prepare_real, read_pairs, read_people, real_ready, real_root
from facecourse.data.real import SMOKE_DEVTRAIN, SMOKE_PAIRS, SMOKE_PHOTOS, smoke_lfw_names

from conftest import write_fake_lag


def test_smoke_slice_of_lfw_holds_devtrain_people_and_whole_devtest_pairs(lfw_dir):
    names = set(smoke_lfw_names(lfw_dir))
    devtrain = dict(read_people(lfw_dir / "peopleDevTrain.txt"))
    devtest = dict(read_people(lfw_dir / "peopleDevTest.txt"))
    train = names & set(devtrain)
    assert len(train) == SMOKE_DEVTRAIN
    assert all(SMOKE_PHOTOS[0] <= devtrain[n] <= SMOKE_PHOTOS[1] for n in train)
    assert names <= set(devtrain) | set(devtest)
    rows, _ = read_pairs(lfw_dir / "pairsDevTest.txt")
    whole = [(a, b) for a, _, b, _ in rows if a in names and b in names]
    assert sum(a == b for a, b in whole) >= SMOKE_PAIRS
    assert sum(a != b for a, b in whole) >= SMOKE_PAIRS
    assert sum(devtrain.get(n, 0) + devtest.get(n, 0) for n in names) < 1500, "a small slice"


@pytest.mark.filterwarnings("ignore:prepare lag. no checksum on record")
def test_prepare_real_prepares_what_it_finds_once(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_fake_lag(data / "lag.tgz", {"ann": (1, 2), "bob": (2, 1), "cy": (1, 1)})
    monkeypatch.setenv("FACECOURSE_DATA", str(data))
    monkeypatch.setenv("FACECOURSE_CACHE", str(tmp_path / "cache"))
    assert not real_ready("lag", "smoke")
    with pytest.raises(FileNotFoundError, match="prepare-real --profile smoke"):
        load_real("lag", "smoke")
    status = prepare_real("smoke", progress=False)
    out = capsys.readouterr().out
    assert status["lag"]["status"] == "prepared" and status["lag"]["seconds"] >= 0
    assert status["lfw"]["status"] == "missing" and "lfw: not found" in out
    assert real_ready("lag", "smoke") and real_ready("lag", "laptop")  # LAG: one folder for all
    lag = load_real("lag", "smoke")
    assert len(lag.dataset) == 8 and lag.dataset.meta["young"].sum() == 4
    assert prepare_real("smoke", progress=False)["lag"]["status"] == "ready"  # not twice
    assert real_root("lfw", "smoke").name == "lfw-smoke" and real_root("lfw", "laptop").name == "lfw"


def test_no_data_at_all_is_said_once_with_where_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "nowhere"))
    status = prepare_real("laptop", progress=False)
    out = capsys.readouterr().out
    assert set(s["status"] for s in status.values()) == {"missing"}
    assert out.count("no real face data found") == 1 and "datasets/lfw.md" in out
    assert "prepare-real --profile laptop" in out
    with pytest.raises(ValueError, match="unknown real set 'casia'"):
        real_root("casia")
