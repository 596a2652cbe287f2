"""The tutorial notebook (docs/notebooks/tutorial.py, a jupytext source) executes top to bottom
in a real Jupyter kernel on a small setting, and says what it computed."""

from __future__ import annotations

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

SOURCE = Path(__file__).parents[2] / "docs" / "notebooks" / "tutorial.py"


def test_the_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_STEPS", "300")
    monkeypatch.setenv("TUTORIAL_P", "23")
    monkeypatch.setenv("TUTORIAL_OUT", str(tmp_path / "store"))
    nb = jupytext.read(SOURCE)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "ticket seed 0: test accuracy" in text and "with 40% of the weights" in text
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))  # the figure
    assert len(list((tmp_path / "store" / "runs").glob("*/done.json"))) == 4
