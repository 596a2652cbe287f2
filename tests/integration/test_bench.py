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


def test_bench_refuses_an_unknown_model(capsys):
    assert cli.main(["bench", "--models", "mlp,resnet"]) == 2
    err = capsys.readouterr().err
    assert "--models: unknown resnet; valid: mlp, transformer, mnist" in err and "Traceback" not in err


def test_a_population_that_does_not_fit_ends_the_curve(monkeypatch):
    """K = 4 runs out of device memory: it is listed as such, and the best K is chosen among the rest."""
    import torch

    from grokking_tickets import bench

    def fake(cfg, K, steps, device):
        if K == 4:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return 100.0 * K

    monkeypatch.setattr(bench, "population_steps_per_s", fake)
    monkeypatch.setattr(bench, "reference_steps_per_s", lambda cfg, steps, device="cpu": 50.0)
    r = bench.bench_model("mlp", True, (1, 2, 4), gflops=100.0)
    assert r["population_model_steps_per_s"] == {"1": 100.0, "2": 200.0}
    assert r["out_of_memory_at"] == [4] and r["best_K"] == 2 and r["speedup_vs_reference"] == 4.0


def test_bench_times_single_threaded_worker_processes(monkeypatch, capsys):
    """--workers: W spawned processes train at once (really: 2 workers, 3 steps each), and the
    table says how their sum compares with one process."""
    from grokking_tickets import bench

    rate = bench.workers_steps_per_s("mlp-modadd", 1, 3, 2)
    assert rate > 0
    monkeypatch.setattr(bench, "population_steps_per_s", lambda cfg, K, steps, device: 100.0 * K)
    monkeypatch.setattr(bench, "reference_steps_per_s", lambda cfg, steps, device="cpu": 50.0)
    monkeypatch.setattr(bench, "workers_steps_per_s", lambda preset, K, steps, workers: 150.0 * K)
    r = {"machine": {"threads": 2, "torch": "x", "matmul_gflops": 1.0}, "mlp": bench.bench_model("mlp", True, (1, 2), 100.0, workers=2)}
    assert r["mlp"]["workers_model_steps_per_s"] == {"1": 150.0, "2": 300.0}
    assert r["mlp"]["workers_best_K"] == 2 and r["mlp"]["workers_vs_one_process"] == 1.5
    assert "2 single-threaded processes (K=2 each) train 1.5x" in bench.format_table(r)


def test_bench_refuses_workers_on_a_gpu_or_below_one(capsys):
    assert cli.main(["bench", "--workers", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--workers times single-threaded CPU processes" in err and "Traceback" not in err
