"""Kernel start-up overhead is read from papermill's own timestamps (pure, no kernel)."""

from __future__ import annotations

import nbformat

from readiness.notebook_exec import _notebook_timing


def test_kernel_start_is_first_cell_start_minus_papermill_start(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"start_time": "2026-11-26T10:00:00.000000", "duration": 5.5}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("x"),
    ]
    nb.cells[1].metadata["papermill"] = {"start_time": "2026-11-26T10:00:01.250000"}
    nb.cells[2].metadata["papermill"] = {"start_time": "2026-11-26T10:00:03.000000"}
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    timing = _notebook_timing(path, render_s=0.4)
    assert timing.name == "01_x"
    assert timing.kernel_start_s == 1.25
    assert timing.cells_s == 4.25
    assert timing.render_s == 0.4


def test_a_notebook_without_timestamps_reports_no_overhead(tmp_path):
    path = tmp_path / "02_y.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    assert _notebook_timing(path, 0.0).kernel_start_s == 0.0
