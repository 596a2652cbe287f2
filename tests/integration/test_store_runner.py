import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
from conftest import crash_at_step

from grokking_tickets.analysis.tables import SUMMARY_COLUMNS, write_tables
from grokking_tickets.config import Config, apply_overrides
from grokking_tickets.errors import UserError
from grokking_tickets.runner import train_runs
from grokking_tickets.spec import RunSpec
from grokking_tickets.store import Store, load_tensors
from grokking_tickets.train import population


def _specs(cfg):
    return [RunSpec.dense(cfg, s) for s in cfg.seeds]


def _train(cfg, out, **kw):
    store = Store(out)
    specs = _specs(cfg)
    store.register("train", [{"arm": "base", "run_id": s.run_id, "seed": s.seed} for s in specs])
    train_runs(specs, store, torch.device("cpu"), progress=False, **kw)
    return store, write_tables(store)


def test_run_id_covers_every_setting_but_threshold():
    base = RunSpec.dense(Config(), 0)
    assert base.run_id == RunSpec.dense(Config(), 0).run_id
    # a golden id: changing it orphans every stored run, so it must be deliberate (bump SCHEMA)
    assert base.run_id == "4fb516afc327f44d"
    changed = [
        RunSpec.dense(Config(), 1),
        RunSpec.dense(apply_overrides(Config(), ["optim.eps=1e-9"]), 0),
        RunSpec.dense(apply_overrides(Config(), ["task.split_seed=1"]), 0),
        RunSpec.dense(apply_overrides(Config(), ["train.eval_every=50"]), 0),
    ]
    assert len({base.run_id, *(s.run_id for s in changed)}) == 5
    same = RunSpec.dense(apply_overrides(Config(), ["train.threshold=0.99", "ticket.rate=0.3"]), 0)
    assert same.run_id == base.run_id  # neither changes a dense run's numbers


def test_store_layout_and_summary(tiny_cfg, tmp_path):
    _, summary = _train(tiny_cfg, tmp_path)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert sorted(summary.seed) == [0, 1, 2] and set(summary.arm) == {"base"}
    assert (summary.steps == 60).all() and (summary.density == 1.0).all()
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert len(metrics) == 3 * 7  # steps 0, 10, ..., 60 for each run
    rid = summary.run_id[0]
    d = tmp_path / "runs" / rid
    spec = json.loads((d / "spec.json").read_text())
    assert spec["run_id"] == rid and spec["train"]["threshold"] == 0.95  # resolved, defaults included
    assert sorted(p.name for p in (d / "weights").iterdir()) == [f"step-{s:07d}.safetensors" for s in (20, 40, 60)]
    theta0 = load_tensors(d / "theta0.safetensors")
    from grokking_tickets.models.mlp import ModularMLP

    model = ModularMLP(tiny_cfg.model, 11, 11)
    assert all(torch.equal(theta0[k], v) for k, v in model.init(int(spec["seed"])).items())
    assert not (d / "state.safetensors").exists()


def test_rerun_skips_finished_runs(tiny_cfg, tmp_path, monkeypatch):
    _, first = _train(tiny_cfg, tmp_path)
    monkeypatch.setattr(population.Population, "step", lambda self: pytest.fail("trained again"))
    _, again = _train(tiny_cfg, tmp_path)
    pd.testing.assert_frame_equal(first, again)


def _crash_at_step_47(cfg, out, monkeypatch):
    """Train until step 47 (resume points at 20 and 40 exist), then die as a crash would."""
    crash_at_step(monkeypatch, 47, lambda: _train(cfg, out))


def test_interrupted_run_resumes_to_identical_numbers(tiny_cfg, tmp_path, monkeypatch):
    _, clean = _train(tiny_cfg, tmp_path / "clean")
    _crash_at_step_47(tiny_cfg, tmp_path / "crash", monkeypatch)
    _, resumed = _train(tiny_cfg, tmp_path / "crash")
    pd.testing.assert_frame_equal(clean, resumed)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "clean" / "metrics.parquet"), pd.read_parquet(tmp_path / "crash" / "metrics.parquet")
    )


def test_corrupt_resume_state_is_not_trusted(tiny_cfg, tmp_path, monkeypatch):
    """A damaged last resume point is detected; the run restarts from the one before it and
    still ends with the numbers of an uninterrupted run."""
    _, clean = _train(tiny_cfg, tmp_path / "clean")
    _crash_at_step_47(tiny_cfg, tmp_path / "crash", monkeypatch)
    store = Store(tmp_path / "crash")
    rid = _specs(tiny_cfg)[0].run_id
    path = store.run_dir(rid) / "state.safetensors"
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0xFF  # flip bits in the tensor data: the layout still parses, the checksum does not
    path.write_bytes(bytes(blob))
    with pytest.raises(UserError, match="corrupt"):
        load_tensors(path)
    with pytest.warns(UserWarning, match="not trusting it"):
        step, _, _ = store.load_state(rid)
    assert step == 20  # the previous resume point
    with pytest.warns(UserWarning, match="not trusting it"):
        _, resumed = _train(tiny_cfg, tmp_path / "crash")
    pd.testing.assert_frame_equal(clean, resumed)
    (store.run_dir(rid) / "garbage.safetensors").write_bytes(b"\x10\x00\x00\x00garbage")
    with pytest.raises(UserError, match="corrupt"):
        load_tensors(store.run_dir(rid) / "garbage.safetensors")


def test_sigkill_midway_then_rerun_gives_the_uninterrupted_numbers(tmp_path):
    args = ["--set", "train.steps=2000", "--set", "train.checkpoint_every=100", "--seeds", "0,1", "--no-progress"]
    cmd = [sys.executable, "-m", "grokking_tickets", "train", *args]
    subprocess.run([*cmd, "--out", str(tmp_path / "clean")], check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not list(killed.glob("runs/*/weights/step-0000300.safetensors")) and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not list(killed.glob("runs/*/done.json")), "the run finished before it was killed"
    assert list(killed.glob("runs/*/state.safetensors"))
    r = subprocess.run([*cmd, "--out", str(killed)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    a = pd.read_csv(tmp_path / "clean" / "summary.csv")
    b = pd.read_csv(killed / "summary.csv")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "clean" / "metrics.parquet"), pd.read_parquet(killed / "metrics.parquet")
    )


def test_load_returns_dataframes(tiny_cfg, tmp_path):
    import grokking_tickets

    _train(tiny_cfg, tmp_path)
    res = grokking_tickets.load(tmp_path)
    assert len(res.summary) == 3 and set(res.metrics.arm) == {"base"}
    assert {"experiment", "arm", "step", "test_acc", "l2"} <= set(res.metrics.columns)
    with pytest.raises(UserError, match="no run store"):
        grokking_tickets.load(tmp_path / "nothing")


def test_a_diverging_member_is_marked_and_the_others_keep_their_numbers(tiny_cfg, tmp_path):
    from grokking_tickets.cohort import make_init

    def init(spec, model, store):
        theta0, mask = make_init(spec, model, store)
        if spec.seed == 1:  # logits of ~1e38: the loss overflows at the first evaluation
            theta0 = {k: v * 1e12 for k, v in theta0.items()}
        return theta0, mask

    _, clean = _train(apply_overrides(tiny_cfg, ["seeds=[0, 2]"]), tmp_path / "clean")
    store = Store(tmp_path / "mixed")
    specs = _specs(tiny_cfg)
    store.register("train", [{"arm": "base", "run_id": s.run_id, "seed": s.seed} for s in specs])
    with pytest.warns(UserWarning, match="diverged"):
        train_runs(specs, store, torch.device("cpu"), init=init, progress=False)
    mixed = write_tables(store)
    assert mixed.set_index("seed").status.to_dict() == {0: "ok", 1: "diverged", 2: "ok"}
    cols = ["run_id", "t_mem", "t_gen", "final_train_acc", "final_test_acc"]
    pd.testing.assert_frame_equal(
        mixed[mixed.seed != 1][cols].reset_index(drop=True), clean[cols].reset_index(drop=True)
    )
    a = pd.read_parquet(tmp_path / "clean" / "metrics.parquet")
    b = pd.read_parquet(tmp_path / "mixed" / "metrics.parquet")
    pd.testing.assert_frame_equal(a, b[b.seed != 1].reset_index(drop=True))


def test_an_executor_gets_the_cohort_jobs_and_trains_them(tiny_cfg, tmp_path):
    from grokking_tickets.executors import LocalExecutor

    class Recording(LocalExecutor):
        def __init__(self):
            super().__init__(max_members=2)
            self.jobs = []

        def map(self, jobs, store, device, init, progress):
            self.jobs += jobs
            super().map(jobs, store, device, init, progress)

    specs = _specs(tiny_cfg)
    rec = Recording()
    store = Store(tmp_path / "split")
    store.register("train", [{"arm": "base", "run_id": s.run_id, "seed": s.seed} for s in specs])
    train_runs(specs, store, torch.device("cpu"), progress=False, executor=rec)
    assert [([s.seed for s in j.members], j.start) for j in rec.jobs] == [([0, 1], 0), ([2], 0)]
    _, whole = _train(tiny_cfg, tmp_path / "whole")  # one population of three: the same numbers
    pd.testing.assert_frame_equal(write_tables(store), whole)
    train_runs(specs, store, torch.device("cpu"), progress=False, executor=rec)
    assert len(rec.jobs) == 2  # nothing left to train: no job


def test_each_summary_row_keeps_the_threshold_its_experiment_registered(tiny_cfg, tmp_path):
    """One store, two experiments on the same runs at thresholds 0.95 and 0.5: each row's t_gen
    is read at its own experiment's threshold, whichever experiment wrote the tables last; a
    row registered without one (an older store) falls back to the run spec's; an explicit
    threshold (a sensitivity re-judging) overrides them all."""
    from grokking_tickets.analysis.grokking import grokking_times
    from grokking_tickets.analysis.tables import build_tables

    cfg = apply_overrides(tiny_cfg, ["train.steps=300", "train.threshold=0.95"])
    store, _ = _train(cfg, tmp_path)  # registered under "train" without a threshold
    specs = _specs(cfg)
    for name, at in (("strict", 0.95), ("loose", 0.5)):
        store.register(name, [{"arm": "base", "run_id": s.run_id, "seed": s.seed, "threshold": at} for s in specs])
    summary = write_tables(store).set_index(["experiment", "seed"])

    def expected(at):  # seed -> (t_mem, t_gen) read off the run's own metrics
        times = lambda m: grokking_times(m.step, m.train_acc, m.test_acc, at)
        return {s.seed: (times(m)["t_mem"], times(m)["t_gen"]) for s in specs for m in [store.run_metrics(s.run_id)]}

    na = lambda v: None if pd.isna(v) else v
    got = lambda rows: {k: (na(r.t_mem), na(r.t_gen)) for k, r in rows.iterrows()}
    for name, at in (("strict", 0.95), ("loose", 0.5), ("train", 0.95)):
        rows = summary.loc[name]
        assert (rows.threshold == at).all()
        assert got(rows) == expected(at)
    assert expected(0.5) != expected(0.95)  # the two thresholds do read different steps
    again = build_tables(store, 0.5, {"strict"})[0].set_index("seed")
    assert (again.threshold == 0.5).all() and got(again) == expected(0.5)


def test_a_big_cohort_is_split_into_equal_jobs_under_its_models_cap(tmp_path):
    """72 MLP runs at the MLP's CPU cap of 16: five jobs of 15/15/14/14/14 (not 16 x 4 + 8);
    an explicit cap (--max-members) overrides the model's; on a GPU the cap is 1,024."""
    from grokking_tickets.models import MODELS
    from grokking_tickets.runner import cohort_jobs, default_max_members

    store = Store(tmp_path)
    mlp = [RunSpec.dense(Config(), s) for s in range(72)]
    cpu = torch.device("cpu")
    assert MODELS["mlp"].cpu_max_members == 16 and default_max_members(mlp[0], cpu) == 16
    assert [len(j.members) for j in cohort_jobs(mlp, store, cpu, None)] == [15, 15, 14, 14, 14]
    assert [len(j.members) for j in cohort_jobs(mlp, store, cpu, 64)] == [36, 36]
    assert [len(j.members) for j in cohort_jobs(mlp[:16], store, cpu, None)] == [16]
    assert [len(j.members) for j in cohort_jobs(mlp[:17], store, cpu, None)] == [9, 8]
    assert default_max_members(mlp[0], torch.device("cuda")) == 1024
    jobs = cohort_jobs(mlp, store, cpu, None)
    assert sorted(s.seed for j in jobs for s in j.members) == list(range(72))  # every run once
    tf = RunSpec.dense(apply_overrides(Config(), ['model.name="transformer"']), 0)
    assert default_max_members(tf, cpu) == MODELS["transformer"].cpu_max_members


def test_max_members_reaches_the_runner_through_the_executor(tiny_cfg, tmp_path):
    from grokking_tickets.executors import LocalExecutor, make_executor

    class Recording(LocalExecutor):
        def map(self, jobs, store, device, init, progress):
            self.sizes = [len(j.members) for j in jobs]

    assert make_executor("local", None, 2) == LocalExecutor(None, 2)
    rec = Recording(None, 2)
    train_runs(_specs(tiny_cfg), Store(tmp_path), torch.device("cpu"), progress=False, executor=rec)
    assert rec.sizes == [2, 1]


def test_unknown_executor_lists_the_valid_ones():
    from grokking_tickets.executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor

    assert EXECUTORS.names() == ("local", "processes", "ray")
    assert isinstance(make_executor("local"), LocalExecutor)
    with pytest.raises(UserError, match="--ray-address is for --executor ray"):
        make_executor("local", "head:6379")  # a cluster address with the local executor is a mistake
    assert make_executor("ray", "head:6379") == RayExecutor("head:6379")
    with pytest.raises(UserError, match="unknown executor 'dask'; valid executors: local, processes, ray"):
        make_executor("dask")


def test_a_per_seed_split_is_the_fixed_split_of_that_seed(tiny_cfg, tmp_path):
    """task.split = "seed" (the authors' protocol): run k trains on the split drawn by seed k,
    exactly the run that task.split_seed = k would train; the default keeps every old run id."""
    per_seed = apply_overrides(tiny_cfg, ['task.split="seed"'])
    specs = [RunSpec.dense(per_seed, s) for s in per_seed.seeds]
    assert len({s.cohort_key() for s in specs}) == 3  # different data: one population per seed
    assert len({RunSpec.dense(tiny_cfg, s).cohort_key() for s in tiny_cfg.seeds}) == 1
    assert RunSpec.dense(apply_overrides(tiny_cfg, ['task.split="fixed"']), 0).run_id == RunSpec.dense(tiny_cfg, 0).run_id
    store = Store(tmp_path / "per-seed")
    train_runs(specs, store, torch.device("cpu"), progress=False)
    for s in specs:
        fixed = RunSpec.dense(apply_overrides(tiny_cfg, [f"task.split_seed={s.seed}"]), s.seed)
        assert fixed.run_id != s.run_id and fixed.split_seed == s.split_seed == s.seed
        solo = Store(tmp_path / f"fixed-{s.seed}")
        train_runs([fixed], solo, torch.device("cpu"), progress=False)
        assert store.run_metrics(s.run_id).equals(solo.run_metrics(fixed.run_id))
    first = [store.run_metrics(s.run_id).test_acc.iloc[-1] for s in specs]
    assert len(set(first)) > 1  # the splits differ, so the runs do


def test_a_run_stops_by_its_rule_and_the_others_keep_their_numbers(tiny_cfg, tmp_path):
    """train.stop_margin: a member ends at the first checkpoint >= t_gen + margin and leaves its
    population; what it recorded is its full run's prefix, bit for bit, and the members that
    train on (in a smaller population) compute what they compute alone."""
    from grokking_tickets.analysis.grokking import first_reach

    cfg = apply_overrides(tiny_cfg, ["train.steps=100"])
    full = {s.seed: s for s in _specs(cfg)}
    ref = Store(tmp_path / "full")
    train_runs(list(full.values()), ref, torch.device("cpu"), progress=False)
    test_acc = {seed: ref.run_metrics(s.run_id).set_index("step").test_acc for seed, s in full.items()}
    # seed 0 "generalizes" at step 0 (a threshold it meets at once), seed 1 at its accuracy of step
    # 40, seed 2 has no stop rule; margin 20, checkpoints every 20 steps
    thresholds = {0: 1e-6, 1: float(test_acc[1][40]), 2: 0.95}
    stop = lambda seed, m: apply_overrides(cfg, [f"train.threshold={thresholds[seed]}", f"train.stop_margin={m}"])
    specs = [RunSpec.dense(stop(0, 20), 0), RunSpec.dense(stop(1, 20), 1), RunSpec.dense(stop(2, 0), 2)]
    assert len({s.cohort_key() for s in specs}) == 1 and specs[2].run_id == full[2].run_id
    assert len({s.run_id for s in specs} | {full[0].run_id, full[1].run_id}) == 5  # a stopping run is another run
    t_gen1 = first_reach(test_acc[1].index, test_acc[1].values, thresholds[1])
    expected = {0: 20, 1: -(-(t_gen1 + 20) // 20) * 20, 2: None}  # the first checkpoint >= t_gen + 20
    assert expected[1] < 100

    together, alone = Store(tmp_path / "together"), Store(tmp_path / "alone")
    steps = train_runs(specs, together, torch.device("cpu"), progress=False)
    assert steps == 20 + expected[1] + 100
    for s in specs:
        train_runs([s], alone, torch.device("cpu"), progress=False)
        for store in (together, alone):
            done = json.loads((store.run_dir(s.run_id) / "done.json").read_text())
            assert done.get("stopped_at") == expected[s.seed] and store.last_step(s) == (expected[s.seed] or 100)
            assert not list(store.run_dir(s.run_id).glob("state*"))
            last = expected[s.seed] or 100
            assert store.weight_steps(s.run_id)[-1] == last
            for a, b in zip(store.weights(s.run_id, last).values(), ref.weights(full[s.seed].run_id, last).values()):
                assert torch.equal(a, b)
            # the recorded metrics: the full run's, up to the last step
            want = ref.run_metrics(full[s.seed].run_id)
            pd.testing.assert_frame_equal(store.run_metrics(s.run_id), want[want.step <= last].reset_index(drop=True))
