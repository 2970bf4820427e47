"""The course as a book: `make book` / `python -m facecourse book [RUN]`.

Turns one course run (``runs/<timestamp>/``: the executed notebooks and ``summary.json`` that
`make course` writes) into a static HTML site in ``runs/<timestamp>/book/`` that anyone can read
without a kernel:

- ``index.html``: the run (profile, machine, minutes, claims held) and one row per lesson with
  its status, wall and CPU seconds, each claim it checked and whether it held, and whether its
  real-face section ran; each row links to the lesson's page.
- ``<lesson>.html``: nbconvert's HTML of the executed notebook (the JupyterLab template; figures
  are embedded as ``data:`` images, so the folder can be copied or served as it is), opened by a
  bar with the way back to the index, the previous and next lesson, and the lesson's claims.

`make course` writes the book at the end of every run; `make book` rebuilds the newest run's
(``make book RUN=runs/<timestamp>`` another's). The book is derived from the run, so rebuilding
replaces only ``book/``, and only once the new one is complete.
"""
from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
from pathlib import Path

from .exercises import REPO

__all__ = ["build_book", "latest_run", "book_main"]


def latest_run(runs: Path = REPO / "runs") -> Path:
    """The newest ``runs/<timestamp>/`` that holds a summary.json."""
    found = sorted(p.parent for p in Path(runs).glob("*/summary.json"))
    if not found:
        raise FileNotFoundError(f"no course run in {runs}/ (no */summary.json): run `make course` "
                                "first, or name a run: make book RUN=runs/<timestamp>")
    return found[-1]


def _title(nb, stem: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return stem


def _claims_table(claims: dict) -> str:
    if not claims:
        return '<p class="no-claims">This run checked no claim in this lesson.</p>'
    rows = "".join(
        f'<tr class="{"held" if held else "not-held"}"><td>{html.escape(text)}</td>'
        f'<td>{"held" if held else "NOT held"}</td></tr>' for text, held in claims.items())
    return f'<table class="claims"><tr><th>claim</th><th>in this run</th></tr>{rows}</table>'


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
tr.held td:last-child { color: #1a7f37; } tr.not-held td:last-child { color: #cf222e; font-weight: bold; }
td.failed { color: #cf222e; font-weight: bold; } td.num { text-align: right; }
table.claims { font-size: 0.92em; } ul { margin: 0; padding-left: 1.2em; }
"""


def _lesson_bar(stem, title, result, prev, nxt) -> str:
    links = ['<a href="index.html">&larr; all lessons</a>']
    if prev:
        links.append(f'<a href="{prev}.html">previous: {html.escape(prev)}</a>')
    if nxt:
        links.append(f'<a href="{nxt}.html">next: {html.escape(nxt)}</a>')
    status = result.get("status", "?")
    when = f'{result.get("seconds", 0):.0f} s wall, {result.get("cpu_seconds", 0):.0f} s CPU'
    claims = _claims_table((result.get("metrics") or {}).get("claims") or {})
    error = (f'<p class="error">This notebook stopped with an error: '
             f'<code>{html.escape((result.get("error") or "").splitlines()[0][:300])}</code></p>'
             if status != "ok" else "")
    return (f'<nav class="book-nav">{" | ".join(links)}</nav>'
            f'<p class="book-run">{html.escape(title)}: <b>{html.escape(status)}</b> in {when}.</p>'
            f'{error}{claims}<hr>')


def build_book(run: Path, out: Path | None = None, quiet: bool = False) -> Path:
    """Write the book of course run ``run`` into ``out`` (default ``run/book``); returns index.html."""
    import nbformat
    from nbconvert import HTMLExporter

    run = Path(run)
    summary_file = run / "summary.json"
    if not summary_file.is_file():
        raise FileNotFoundError(f"{summary_file} not found: {run} is not a course run "
                                "(`make course` writes runs/<timestamp>/summary.json)")
    try:
        summary = json.loads(summary_file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{summary_file}: not a course summary ({err}); run `make course` again") from err
    notebooks: dict = summary.get("notebooks") or {}
    out = Path(out) if out is not None else run / "book"
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    exporter = HTMLExporter(template_name="lab")
    stems = list(notebooks)
    rows, titles = [], {}
    for i, stem in enumerate(stems):
        result = notebooks[stem]
        executed = run / f"{stem}.ipynb"
        page = None
        if executed.is_file():
            nb = nbformat.read(executed, as_version=4)
            titles[stem] = _title(nb, stem)
            bar = _lesson_bar(stem, titles[stem], result, stems[i - 1] if i else None,
                              stems[i + 1] if i + 1 < len(stems) else None)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(bar))
            (staging / f"{stem}.html").write_text(exporter.from_notebook_node(nb)[0], encoding="utf-8")
            page = f"{stem}.html"
            if not quiet:
                print(f"book: {stem}.html", flush=True)
        rows.append(_index_row(stem, titles.get(stem, stem), result, page))
    (staging / "index.html").write_text(_index(summary, rows), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    staging.replace(out)
    if not quiet:
        print(f"book -> {out / 'index.html'}", flush=True)
    return out / "index.html"


def _index_row(stem, title, result, page) -> str:
    metrics = result.get("metrics") or {}
    claims = metrics.get("claims") or {}
    name = (f'<a href="{page}">{html.escape(title)}</a>' if page
            else f'{html.escape(title)} <i>(no executed notebook)</i>')
    status = result.get("status", "?")
    listed = "".join(f'<li class="{"held" if h else "not-held"}">{"&#10003;" if h else "&#10007;"} '
                     f"{html.escape(t)}</li>" for t, h in claims.items())
    real = "yes" if any(k.startswith(("lfw_", "lag_")) for k in metrics) else "no"
    return (f'<tr data-lesson="{html.escape(stem)}"><td>{name}</td>'
            f'<td class="{"ok" if status == "ok" else "failed"}">{html.escape(status)}</td>'
            f'<td class="num">{result.get("seconds", 0):.0f}</td>'
            f'<td class="num">{result.get("cpu_seconds", 0):.0f}</td>'
            f'<td class="num">{sum(claims.values())}/{len(claims)}</td>'
            f"<td><ul>{listed}</ul></td><td>{real}</td></tr>")


def _index(summary, rows) -> str:
    claims = summary.get("claims") or {}
    n_claims = sum(len((r.get("metrics") or {}).get("claims") or {})
                   for r in (summary.get("notebooks") or {}).values())
    machine = summary.get("machine") or {}
    head = (f'<p>Profile <b>{html.escape(str(summary.get("profile", "?")))}</b>, started '
            f'{html.escape(str(summary.get("started", "?")))} on {html.escape(str(machine.get("platform", "?")))} '
            f'({machine.get("cpus", "?")} CPUs): lessons {summary.get("total_seconds", 0) / 60:.1f} min wall, '
            f'{summary.get("total_cpu_seconds", 0) / 60:.1f} CPU min; real data prepared in '
            f'{summary.get("real_data_seconds", 0):.0f} s. '
            f'<b>{claims.get("held", 0)} of {n_claims} claims held.</b></p>')
    missing = claims.get("not_held") or []
    if missing:
        head += "<p>Not held in this run:</p><ul>" + "".join(
            f"<li>{html.escape(c)}</li>" for c in missing) + "</ul>"
    table = ('<table id="lessons"><tr><th>lesson</th><th>status</th><th>wall s</th><th>CPU s</th>'
             "<th>claims held</th><th>claims</th><th>real faces</th></tr>" + "".join(rows) + "</table>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>facecourse: the course run'
            f"</title><style>{_STYLE}</style></head><body><h1>facecourse: the course, as it ran</h1>"
            f"{head}{table}</body></html>")


def book_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse book",
                                     description="Write a course run's executed notebooks as an HTML site.")
    parser.add_argument("run", nargs="?", help="runs/<timestamp> (default: the newest run)")
    parser.add_argument("--out", help="where to write the site (default: RUN/book)")
    args = parser.parse_args(argv)
    try:
        run = Path(args.run) if args.run else latest_run()
        build_book(run, Path(args.out) if args.out else None)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(book_main(sys.argv[1:]))
