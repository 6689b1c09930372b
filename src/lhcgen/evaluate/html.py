"""Shared pieces of lhcgen's self-contained HTML reports: style, tables, figures, numbers.

Every report page (``lhcgen evaluate``, ``lhcgen classify``) is one HTML file with inline
CSS and PNGs as base64 data URIs, so it can be mailed or attached to a note. Numbers are
written to their precision: a value with an error gets the error's two significant digits
(:func:`with_error`); file paths are shown relative to the report (:func:`relative_path`).
"""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path

CSS = """body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#eee;cursor:pointer;user-select:none}th:hover{background:#ddd}
td:first-child,th:first-child{text-align:left}tr.alert td{background:#fdd}
tr.good td{background:#efe}
.verdict{border:2px solid #444;padding:0.3em 1em;margin-bottom:1.5em;background:#fafafa}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
figure{margin:0}figure img{width:100%}figcaption{font-size:0.9em;text-align:center}"""

SORT_JS = """document.querySelectorAll('table.sortable th').forEach((th, col) => {
  th.onclick = () => {
    const body = th.closest('table').tBodies[0];
    const asc = th.dataset.asc !== '1';
    th.dataset.asc = asc ? '1' : '0';
    const key = row => { const t = row.cells[col].textContent, x = parseFloat(t);
                         return isNaN(x) ? t : x; };
    const rows = [...body.rows].sort((p, q) => {
      const a = key(p), b = key(q);
      const c = typeof a === 'number' && typeof b === 'number'
        ? a - b : String(a).localeCompare(String(b));
      return asc ? c : -c;
    });
    rows.forEach(r => body.appendChild(r));
  };
});"""


def fmt(value, digits: int = 3) -> str:
    """A number to ``digits`` significant digits; '-' for None; other values as str."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:.{digits}g}"
    return str(value)


def decimals_for(error: float, significant: int = 2) -> int:
    """Decimal places that show ``error`` to ``significant`` digits (0 for errors >= 10)."""
    if not (error and math.isfinite(error) and error > 0):
        return 4
    return max(0, significant - 1 - int(math.floor(math.log10(abs(error)))))


def with_error(value: float | None, error: float | None, significant: int = 2) -> str:
    """'0.5123 ± 0.0021': the error to ``significant`` digits, the value to the same place."""
    if value is None:
        return "-"
    if error is None or not math.isfinite(error) or error <= 0:
        return fmt(value, 4)
    places = decimals_for(error, significant)
    return f"{value:.{places}f} ± {error:.{places}f}"


def sigma(value: float | None) -> str:
    """A distance in standard errors, e.g. '+2.3σ'."""
    return "-" if value is None else f"{value:+.1f}σ"


def relative_path(path: str | os.PathLike | None, report_dir: str | os.PathLike) -> str:
    """``path`` relative to the folder that will hold the report (as a link would be)."""
    if path is None:
        return "-"
    try:
        return os.path.relpath(Path(path).resolve(), Path(report_dir).resolve())
    except ValueError:  # another drive on Windows
        return str(path)


def table(rows: list[list[str]], header: list[str], classes: list[str] | None = None,
          sortable: bool = False, raw_html: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw_html`` (for cells holding links)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f"<td>{c if raw_html else html.escape(c)}</td>" for c in row)
        body.append(f"<tr{css}>{cells}</tr>")
    table_class = ' class="sortable"' if sortable else ""
    return (f"<table{table_class}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
            "</tbody></table>")


def anchor(kind: str, name: str) -> str:
    """The id of a figure in a report, e.g. anchor('obs', 'm_mumu') = 'obs-m_mumu'."""
    return f"{kind}-" + "".join(c if c.isalnum() or c in "_-" else "_" for c in name)


def link(kind: str, name: str, text: str | None = None) -> str:
    """An in-page link to the figure :func:`anchor` names."""
    return f'<a href="#{anchor(kind, name)}">{html.escape(text or name)}</a>'


def figure(out_dir: Path, path: str | None, caption: str, figure_id: str | None = None) -> str:
    """A PNG of ``out_dir`` inlined as a data URI, with a caption and an optional id."""
    if not path or not (Path(out_dir) / path).is_file():
        return ""
    encoded = base64.b64encode((Path(out_dir) / path).read_bytes()).decode("ascii")
    ident = f' id="{figure_id}"' if figure_id else ""
    return (f'<figure{ident}><img alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def page(title: str, body: list[str]) -> str:
    """A whole self-contained page."""
    return "\n".join([
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{CSS}</style></head><body>", *body,
        f"<script>{SORT_JS}</script></body></html>"])
