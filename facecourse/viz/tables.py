"""Tables of figures under a notebook cell: one row per model (or setting), one column per metric.

`print_table` is the course's one table printer: lesson 03 prints its heads' TAR / AUC /
10-fold accuracy with it (synthetic faces and LFW), lesson 07 its clustering scores (number of
clusters, NMI, ARI, pair F, BCubed F), lesson 05 its triplet-mining comparison. `format_table`
returns the same text instead.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real

__all__ = ["format_table", "print_table"]


def _columns(rows: Mapping, columns) -> dict[str, str]:
    """{header: key}: from a mapping as given, from a list of keys, or the first row's keys."""
    if columns is None:
        first = next(iter(rows.values()), {})
        return {str(k): k for k in first}
    if isinstance(columns, Mapping):
        return dict(columns)
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence):
        raise TypeError("print_table: columns must be a list of keys or a {header: key} dict, "
                        f"got {type(columns).__name__}")
    return {str(k): k for k in columns}


def _cell(value, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return format(float(value), fmt)
    return str(value)


def format_table(rows: Mapping[str, Mapping], columns=None, *, title: str | None = None,
                 label: str = "", fmt: str | Mapping[str, str] = ".3f", width: int = 10) -> str:
    """The text of `print_table` (same arguments), without printing it."""
    if not isinstance(rows, Mapping):
        raise TypeError(f"print_table: rows must be a {{name: {{key: value}}}} dict, got "
                        f"{type(rows).__name__}")
    cols = _columns(rows, columns)
    missing = sorted({str(k) for row in rows.values() for k in cols.values() if k not in row})
    if missing:
        have = sorted({str(k) for row in rows.values() for k in row})
        raise KeyError(f"print_table: no value for column(s) {missing} in some row; the rows hold "
                       f"{have} (pass columns= to choose)")

    def fmt_of(header, key):
        if isinstance(fmt, Mapping):
            return fmt.get(header, fmt.get(key, ".3f"))
        return fmt

    cells = {name: [_cell(row[k], fmt_of(h, k)) for h, k in cols.items()] for name, row in rows.items()}
    widths = [max([width, len(h) + 2] + [len(c[j]) + 2 for c in cells.values()])
              for j, h in enumerate(cols)]
    name_width = max([len(label)] + [len(str(n)) for n in rows]) + 2
    lines = [title] if title else []
    lines.append(f"{label:<{name_width}}" + "".join(f"{h:>{w}}" for h, w in zip(cols, widths)))
    for name, row in cells.items():
        lines.append(f"{str(name):<{name_width}}" + "".join(f"{c:>{w}}" for c, w in zip(row, widths)))
    return "\n".join(lines)


def print_table(rows: Mapping[str, Mapping], columns=None, *, title: str | None = None,
                label: str = "", fmt: str | Mapping[str, str] = ".3f", width: int = 10) -> None:
    """Print one row per entry of `rows` ({name: {key: value}}), one column per key.

    columns: the keys to show, as a list (the key is the header) or a ``{header: key}`` dict;
        default: the first row's keys, in order.
    title: a line above the table. label: the header of the name column.
    fmt: the format of real numbers (``".3f"``, ``".4f"``, ``".1%"``), or a ``{header or key:
        format}`` dict (other columns ``".3f"``). Integers print as integers, None as ``-``,
        anything else as ``str()``.
    width: the narrowest column; a column is always wider than its header and its cells.

    ``print_table(metrics, {"TAR@1e-3": "tar@far=1e-3", "AUC": "auc"}, label="head")`` is how
    lesson 03 prints its heads; lesson 07 prints its clustering scores with the defaults.
    """
    print(format_table(rows, columns, title=title, label=label, fmt=fmt, width=width))
