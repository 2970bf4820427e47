"""print_table / format_table: one row per name, columns by key, numbers as asked."""
import numpy as np
import pytest

from facecourse.viz import format_table, print_table

ROWS = {
    "softmax": {"tar@far=1e-3": 0.41234, "auc": 0.97, "clusters": 12},
    "ArcFace, a longer name": {"tar@far=1e-3": 0.6, "auc": np.float64(0.9912), "clusters": np.int64(9)},
}


def test_columns_from_a_header_to_key_dict_and_default_format():
    text = format_table(ROWS, {"TAR@1e-3": "tar@far=1e-3", "AUC": "auc"}, title="synthetic",
                        label="head")
    title, header, *lines = text.splitlines()
    assert title == "synthetic"
    assert header.split() == ["head", "TAR@1e-3", "AUC"]
    assert lines[0].split() == ["softmax", "0.412", "0.970"]
    assert lines[1].endswith("0.600     0.991")
    # the name column fits the longest name; every row lines up
    assert {len(line) for line in [header] + lines} == {len(header)}
    assert header.index("TAR@1e-3") > len("ArcFace, a longer name")


def test_default_columns_are_the_first_rows_keys_and_integers_stay_integers():
    lines = format_table(ROWS).splitlines()
    assert lines[0].split() == ["tar@far=1e-3", "auc", "clusters"]
    assert lines[1].split()[-1] == "12" and lines[2].split()[-1] == "9"


def test_format_per_column_and_wide_cells_widen_their_column():
    text = format_table({"a": {"x": 0.5, "y": 123456789.0}}, ["x", "y"], fmt={"x": ".1%", "y": ".2f"},
                        width=4)
    header, row = text.splitlines()
    assert row.split() == ["a", "50.0%", "123456789.00"]
    assert len(header) == len(row)


def test_none_prints_as_a_dash_and_print_table_prints_the_same_text(capsys):
    rows = {"m": {"auc": None, "note": "LFW"}}
    print_table(rows)
    assert capsys.readouterr().out == format_table(rows) + "\n"
    assert format_table(rows).splitlines()[1].split() == ["m", "-", "LFW"]


def test_errors_name_the_missing_column_and_the_wrong_type():
    with pytest.raises(KeyError, match=r"no value for column\(s\) \['eer'\].*hold \['auc'"):
        format_table({"m": {"auc": 0.9}}, ["auc", "eer"])
    with pytest.raises(TypeError, match="rows must be a"):
        format_table([{"auc": 0.9}])
    with pytest.raises(TypeError, match="columns must be a list of keys"):
        format_table({"m": {"auc": 0.9}}, "auc")
