import json

import numpy as np
import pytest
import torch

from facecourse.course.reporting import REPORTED, load_report, report


def test_report_converts_and_merges_into_the_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "r.json"
    monkeypatch.setenv("FACECOURSE_REPORT", str(target))
    report(auc=torch.tensor(0.5), n=np.int64(3))
    report(tar=np.float32(0.25), curve=np.array([1.0, 2.0]), name="arcface")
    data = json.loads(target.read_text())
    assert data == {"auc": 0.5, "n": 3, "tar": 0.25, "curve": [1.0, 2.0], "name": "arcface"}
    assert REPORTED["tar"] == 0.25
    assert "auc" in capsys.readouterr().out


def test_report_refuses_what_it_cannot_store(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECOURSE_REPORT", str(tmp_path / "r.json"))
    with pytest.raises(TypeError, match="object"):
        report(x=object())
    with pytest.raises(TypeError, match="at least one"):
        report()


def test_a_damaged_report_file_is_named(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"r\.json: not a report file"):
        load_report(bad)


def test_claim_enforced_only_in_strict_profiles(tmp_path, monkeypatch, capsys):
    from facecourse.course.reporting import claim
    monkeypatch.setenv("FACECOURSE_REPORT", str(tmp_path / "r.json"))
    assert claim("a beats b", 0.9 > 0.5, strict=True, a=0.9, b=0.5)
    assert not claim("b beats a", False, strict=False)
    assert "not enforced" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"claim does not hold in this run: b beats a"):
        claim("b beats a", 0.5 > 0.9, strict=True, a=0.9)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["claims"] == {"a beats b": True, "b beats a": False} and data["a"] == 0.9
