"""The README's contact sheet: the CLI renders it, and the committed picture is that rendering."""
from pathlib import Path

import numpy as np
from PIL import Image

from facecourse.data.__main__ import main

REPO = Path(__file__).resolve().parents[2]


def test_contact_sheet_has_one_row_per_identity(tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["contact-sheet", "--out", str(out), "--identities", "3", "--per-identity", "4",
                 "--size", "32"]) == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (3 * 34 + 2, 4 * 34 + 2, 3)
    tiles = [sheet[2 + r * 34:2 + r * 34 + 32, 2 + c * 34:2 + c * 34 + 32] for r in range(3) for c in range(4)]
    assert all(t.std() > 5 for t in tiles), "every tile holds a rendered face, not the white gutter"
    assert (sheet[:2] == 255).all() and (sheet[:, :2] == 255).all()


def test_readme_shows_the_committed_sheet(tmp_path):
    assert "docs/synthetic_faces.jpg" in (REPO / "README.md").read_text()
    fresh = tmp_path / "sheet.jpg"
    assert main(["contact-sheet", "--out", str(fresh)]) == 0
    committed = np.asarray(Image.open(REPO / "docs" / "synthetic_faces.jpg"), dtype=np.float32)
    again = np.asarray(Image.open(fresh), dtype=np.float32)
    assert committed.shape == again.shape
    assert np.abs(committed - again).mean() < 2.0, "docs/synthetic_faces.jpg is stale: regenerate it"
