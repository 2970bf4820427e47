"""Lesson 03's margin widget in a real browser: JupyterLab + headless Chromium (Playwright).

Starts the venv's ``jupyter lab`` on a free localhost port (smoke profile, the repo's cache
dirs), opens ``solutions/03_angular_margins.ipynb``, runs the cells up to the widget, moves the
``s`` slider with the keyboard and checks that the figure the widget shows has changed.
Playwright drives Debian's ``chromium`` (``executable_path``); ``playwright install`` is not needed.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
NOTEBOOK = "solutions/03_angular_margins.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("install chromium: apt-get install chromium")
        pytest.skip("no `chromium` on PATH (apt-get install chromium) for the browser test")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ, FACECOURSE_PROFILE="smoke",
               IPYTHONDIR=str(CACHE / "ipython"), MPLCONFIGDIR=str(CACHE / "matplotlib"),
               JUPYTER_CONFIG_DIR=str(CACHE / "jupyter/config"),
               JUPYTER_DATA_DIR=str(CACHE / "jupyter/data"),
               JUPYTER_RUNTIME_DIR=str(CACHE / "jupyter/runtime"), JUPYTER_PLATFORM_DIRS="1",
               XDG_CACHE_HOME=str(CACHE / "xdg"),
               PLAYWRIGHT_BROWSERS_PATH=str(CACHE / "playwright"))
    env.pop("MPLBACKEND", None)  # the kernel uses the inline backend, as in a student's lab
    for key in ("IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
                "JUPYTER_RUNTIME_DIR", "XDG_CACHE_HOME", "PLAYWRIGHT_BROWSERS_PATH"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server rooted at the repo: yields (base url, token); stops it after."""
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        pytest.skip(f"no {jupyter}: install the course extras (make install)")
    port, token = _free_port(), uuid.uuid4().hex
    log = tmp_path / "jupyter.log"
    settings = tmp_path / "lab-settings"  # no autosave (the notebook stays as committed), no news
    for plugin, value in {"docmanager-extension/plugin": '{"autosave": false}',
                          "apputils-extension/notification": '{"fetchNews": "false"}'}.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value)
    committed = (REPO / NOTEBOOK).read_bytes()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO}",
             "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False", "--allow-root",
             f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp_path}",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=REPO, env=_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", proc, log)
        yield base, token, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if (REPO / NOTEBOOK).read_bytes() != committed:  # never leave outputs in solutions/
            (REPO / NOTEBOOK).write_bytes(committed)


_RUN_UP_TO_WIDGET = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.sessionContext.ready;
  const cells = panel.content.widgets;
  const k = cells.findIndex(c => c.model.sharedModel.getSource().includes('margin_explorer('));
  if (k < 0) throw new Error('no margin_explorer cell in the notebook');
  panel.content.activeCellIndex = k + 1;
  await app.commands.execute('notebook:run-all-above');
  return k;
}"""


def test_margin_widget_redraws_when_a_slider_moves(lab, tmp_path):
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    base, token, log = lab
    start = time.monotonic()
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile_dir:
        context = p.chromium.launch_persistent_context(
            profile_dir, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.evaluate(_RUN_UP_TO_WIDGET)
            widget = page.locator(".jupyter-widgets.widget-vbox").first
            widget.wait_for(state="visible", timeout=60_000)
            image = widget.locator(".widget-output img").first
            image.wait_for(state="visible", timeout=30_000)
            before = image.get_attribute("src")
            assert before and before.startswith("data:image/png"), before

            s_slider = widget.locator(".widget-slider", has_text="s").last
            handle = s_slider.locator(".noUi-handle").first
            handle.focus()
            for _ in range(5):
                page.keyboard.press("ArrowLeft")
            page.wait_for_function(
                "([sel, old]) => { const img = document.querySelector(sel);"
                " return img && img.src && img.src !== old; }",
                arg=[".jupyter-widgets.widget-vbox .widget-output img", before], timeout=30_000)
            after = widget.locator(".widget-output img").first.get_attribute("src")
            assert after != before, "the widget's figure did not change after moving the slider"
            readout = s_slider.locator(".widget-readout").first.inner_text()
            assert float(readout) < 30.0, f"the s slider still reads {readout}"
        except Exception:
            page.screenshot(path=str(tmp_path / "browser.png"))
            raise
        finally:
            context.close()
    assert time.monotonic() - start < 90, "the browser test took longer than 90 s"


_LESSON = """import matplotlib.pyplot as plt
from facecourse import claim
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1, 2], [0, 1, 4])
plt.show()
claim('a parabola rises', True, strict=False, lfw_auc=0.9)"""


def test_book_of_a_course_run_opens_with_figures_and_claims(tmp_path, monkeypatch):
    """`make course` writes runs/<ts>/book/: the index lists the lesson and its claim, the
    lesson page shows its figure (an image that decodes) and its claims table."""
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    import nbformat

    from facecourse.course import run_course

    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "no-data"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as in the lab
    src = tmp_path / "solutions"
    src.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell('PROFILE = "laptop"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# 00 — A parabola"), params, nbformat.v4.new_code_cell(_LESSON)]
    nbformat.write(nb, src / "00_parabola.ipynb")
    out = run_course("smoke", solutions=src, out_root=tmp_path / "runs")
    index = out / "book" / "index.html"
    assert index.is_file(), "make course did not write the book"

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("http*://**/*", lambda route: route.abort())  # the book must stand alone
            page.goto(index.as_uri())
            row = page.locator('#lessons tr[data-lesson="00_parabola"]')
            assert "a parabola rises" in row.inner_text() and "1/1" in row.inner_text()
            row.locator("a").click()
            page.wait_for_load_state("load")
            assert page.url.endswith("/book/00_parabola.html")
            claims = page.locator("table.claims")
            assert claims.is_visible() and "a parabola rises" in claims.inner_text()
            images = page.locator(".jp-OutputArea-output img")
            assert images.count() == 1
            assert page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output img')]"
                                 ".every(img => img.complete && img.naturalWidth > 100)")
        except Exception:
            page.screenshot(path=str(tmp_path / "book.png"))
            raise
        finally:
            browser.close()
