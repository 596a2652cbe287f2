"""analysis/figures.py: what the drawing helpers put on the axes."""

import pandas as pd
import pytest

from grokking_tickets.analysis.figures import band, new_figure, save


def _runs(ends: dict[str, int]) -> pd.DataFrame:
    """One row per (run, step) every 100 steps up to each run's end; accuracy = step / 1000 + offset."""
    rows = [{"run_id": r, "step": s, "test_acc": s / 1000 + i / 100}
            for i, (r, end) in enumerate(ends.items()) for s in range(0, end + 1, 100)]  # fmt: skip
    return pd.DataFrame(rows)


def test_a_band_ends_where_its_first_run_ends_and_the_others_go_on_alone():
    ax = new_figure(4, 3).subplots()
    band(ax, _runs({"a": 300, "b": 800, "c": 800}), "test_acc", "arm", "C0")
    median, *alone = ax.get_lines()
    assert list(median.get_xdata()) == [0, 100, 200, 300]  # never past the first run's end
    assert list(median.get_ydata()) == pytest.approx([0.01, 0.11, 0.21, 0.31])  # the median of the three there
    assert [list(line.get_xdata()) for line in alone] == [[300, 400, 500, 600, 700, 800]] * 2
    ax2 = new_figure(4, 3).subplots()
    band(ax2, _runs({"a": 800, "b": 800}), "test_acc", "arm", "C0")
    assert len(ax2.get_lines()) == 1 and ax2.get_lines()[0].get_xdata()[-1] == 800  # runs of one length: one curve


def test_a_note_under_a_figure_is_wrapped_and_kept_off_the_axes(tmp_path):
    fig = new_figure(6, 3)
    ax = fig.subplots()
    note = "word " * 60
    save(fig, tmp_path, "f", note=note.strip())
    (text,) = fig.texts
    lines = text.get_text().split("\n")
    assert len(lines) > 1 and all(len(line) <= 6 * 15 for line in lines)
    assert ax.get_position().y0 > text.get_window_extent().y1 / fig.bbox.height  # the axes sit above it
    assert (tmp_path / "figures" / "f.png").exists()
