"""Population sizes measured by `bench --save` (tuning.py): kept per machine, read back only there."""

import json

import torch

from grokking_tickets import bench, cli, tuning
from grokking_tickets.config import load_preset
from grokking_tickets.runner import cohort_jobs, default_max_members
from grokking_tickets.spec import RunSpec
from grokking_tickets.store import Store

CPU = torch.device("cpu")


def test_a_saved_best_k_sizes_this_machines_populations_and_no_other(tmp_path):
    mlp = RunSpec.dense(load_preset("mlp-modadd"), 0)
    assert tuning.best_k("mlp", CPU) is None and default_max_members(mlp, CPU) == 16  # the model's own
    tuning.save(CPU, {"mlp": 4, "transformer": 2})
    assert tuning.best_k("mlp", CPU) == 4 and default_max_members(mlp, CPU) == 4
    specs = [RunSpec.dense(load_preset("mlp-modadd"), s) for s in range(10)]
    assert [len(j.members) for j in cohort_jobs(specs, Store(tmp_path / "s"), CPU, None)] == [4, 3, 3]
    # another machine's entry (here: another thread count) is kept beside it and not used here
    entries = json.loads(tuning.cache_path().read_text())
    other = {**entries[0], "machine": {**entries[0]["machine"], "threads": 99}, "best_K": {"mlp": 32}}
    tuning.cache_path().write_text(json.dumps([other]))
    assert tuning.best_k("mlp", CPU) is None
    tuning.save(CPU, {"mlp": 8})
    assert tuning.best_k("mlp", CPU) == 8 and len(json.loads(tuning.cache_path().read_text())) == 2
    tuning.cache_path().write_text("not json")  # a damaged hint is no hint
    assert tuning.best_k("mlp", CPU) is None


def test_bench_save_keeps_each_models_best_k(monkeypatch, capsys):
    fake = {"machine": {"threads": 2, "torch": "x", "matmul_gflops": 1.0, "device": "cpu"}}
    for name, k in (("mlp", 4), ("transformer", 2)):
        fake[name] = {"reference_steps_per_s": 1.0, "population_model_steps_per_s": {str(k): 9.0}, "best_K": k,
                      "speedup_vs_reference": 9.0, "flops_per_model_step": 1.0, "flop_share_of_matmul_peak": 0.1}  # fmt: skip
    monkeypatch.setattr(bench, "run_bench", lambda **kw: fake)
    assert cli.main(["bench", "--save"]) == 0
    assert "populations on this machine now hold up to mlp 4, transformer 2 runs" in capsys.readouterr().err
    assert tuning.best_k("mlp", CPU) == 4 and tuning.best_k("transformer", CPU) == 2
