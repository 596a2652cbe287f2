"""`grokking-tickets bench`: its JSON and its throughput-against-K figure (what it measures is
not asserted: timings are the bench's job, never a test's)."""

from __future__ import annotations

import json

from grokking_tickets import cli


def test_bench_writes_its_json_and_the_k_curve(tmp_path, capsys):
    out, fig = tmp_path / "bench.json", tmp_path / "k.png"
    assert cli.main(["bench", "--quick", "--sizes", "1,2", "--out", str(out), "--figure", str(fig)]) == 0
    r = json.loads(out.read_text())
    for name in ("mlp", "transformer"):
        assert list(r[name]["population_model_steps_per_s"]) == ["1", "2"]
        assert r[name]["best_K"] in (1, 2) and r[name]["reference_steps_per_s"] > 0
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "speedup_vs_reference" in capsys.readouterr().out


def test_bench_refuses_a_figure_that_is_not_a_png(tmp_path, capsys):
    assert cli.main(["bench", "--figure", str(tmp_path / "k.pdf")]) == 2
    err = capsys.readouterr().err
    assert "--figure must name a .png file" in err and "Traceback" not in err
