"""`grokking-tickets status`: a store's content, right for finished, interrupted and missing runs."""

import json

import pytest
import torch
from conftest import crash_at_step

from grokking_tickets import cli
from grokking_tickets.train import population

TINY = ["task.p=11", "model.d_emb=16", "model.d_hidden=8", "train.steps=60", "train.eval_every=10",
        "train.checkpoint_every=20"]  # fmt: skip


def _args(command, out, *extra):
    return [*command, "--out", str(out), "--no-progress", "--seeds", "0,1", *(x for s in TINY for x in ("--set", s)), *extra]


def _status(out, capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["status", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_of_an_interrupted_then_finished_store(tmp_path, monkeypatch, capsys):
    crash_at_step(monkeypatch, 47, lambda: cli.main(_args(["train"], tmp_path)))

    st = _status(tmp_path, capsys)
    assert st["runs"] == {"resumable": 2}
    assert st["experiments"]["train"]["base"] == {"seeds": [0, 1], "states": {"resumable": 2}, "resumable_at": [40, 40],
                                                  "stopped_early": 0}  # fmt: skip
    assert st["claims"] == {} and st["disk_bytes"]["resume points"] > 0

    assert cli.main(_args(["run", "tickets"], tmp_path, "--set", "ticket.step=60")) == 0
    st = _status(tmp_path, capsys)
    assert st["runs"] == {"done": 4}  # the two resumed dense runs, shared with tickets, and two tickets
    assert st["experiments"]["train"]["base"]["states"] == {"done": 2}
    assert st["experiments"]["tickets"]["ticket"]["states"] == {"done": 2}
    assert st["claims"] == {"C1": "does not hold"} and st["disk_bytes"]["resume points"] == 0

    # a registered run whose folder was deleted is reported, not hidden
    run_id = json.loads((tmp_path / "experiments" / "tickets.json").read_text())[0]["run_id"]
    for f in sorted((tmp_path / "runs" / run_id).rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    (tmp_path / "runs" / run_id).rmdir()
    assert "missing" in json.dumps(_status(tmp_path, capsys)["experiments"]["tickets"])
    assert cli.main(["status", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "tickets" in text and "claims: C1 does not hold" in text and "disk:" in text


def test_status_of_a_folder_that_is_not_a_store(tmp_path, capsys):
    assert cli.main(["status", str(tmp_path / "nope")]) == 2
    assert "is not a run store" in capsys.readouterr().err


def test_prune_deletes_only_checkpoints_nothing_reads(tmp_path, capsys):
    assert cli.main(_args(["train"], tmp_path)) == 0  # checkpoints at steps 20, 40, 60 for two runs
    st = _status(tmp_path, capsys)
    assert st["prunable_checkpoints"]["files"] == 4  # 20 and 40 of each; 60 is the last step
    # a ticket from step 40 makes that step needed by the store
    assert cli.main(_args(["run", "prune-rate"], tmp_path, "--set", "ticket.step=40", "--scale", "quick")) == 0
    tickets = len(list(tmp_path.glob("runs/*/done.json"))) - 2
    # step 20 of the two dense runs, and steps 20 and 40 of every ticket (their last step, 60, stays)
    assert _status(tmp_path, capsys)["prunable_checkpoints"]["files"] == 2 + 2 * tickets
    assert cli.main(["status", str(tmp_path), "--prune-checkpoints"]) == 0
    assert f"deleted {2 + 2 * tickets} intermediate weight checkpoints" in capsys.readouterr().out
    steps = sorted({p.name for p in tmp_path.glob("runs/*/weights/*")})
    assert steps == ["step-0000040.safetensors", "step-0000060.safetensors"]  # 40 only where a ticket needs it
    assert _status(tmp_path, capsys)["prunable_checkpoints"]["files"] == 0
    # what was kept still serves: the experiment reruns from the store without training
    assert cli.main(_args(["run", "prune-rate"], tmp_path, "--set", "ticket.step=40", "--scale", "quick")) == 0


def test_plan_counts_what_reproduce_would_train_without_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(population.Population, "step", lambda self: pytest.fail("the plan trained"))
    (tmp_path / "runs").mkdir()
    assert cli.main(["status", str(tmp_path), "--plan", "quick", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["reproduce_plan"]
    # quick, seeds 0 and 1 for the MLP: tickets 4 runs, pai 8, ticket-timeline 6, prune-rate 10,
    # no-weight-decay 22 (per seed: the dense run without weight decay, which is also rate 0.0;
    # the coarse rates 0.3/0.6/0.8/0.9; the fine sweep 0.75-0.87, its 0.9 being coarse's; the
    # ticket at 0.81 with weight decay), equal-params 2, accelerators 4 (grokfast, ticket+grokfast;
    # its l2 control, like norm-control's 4 controls, needs the tickets' weights first, and its
    # grokfast-tickets the Grokfast runs' t_gen); MNIST's tickets 2 (seed 0). All 30k steps; and
    # edge-popup's 6 (θ_mem, θ0, θ_gen at density 0.4) of 2,000 steps; the transformer's tickets 4
    # of 10k (TRANSFORMER_QUICK). The v3 tasks' tickets, 4 runs each: the MLP on sub, mul, div and
    # x2xyy2 (30k steps), polynomial regression (10k) and sparse parity (20k).
    steps = 58 * 30000 + 6 * 2000 + 4 * 10000 + 16 * 30000 + 4 * 10000 + 4 * 20000
    by = {e["experiment"]: e for e in plan.pop("experiments")}
    models = {n: (m["runs"], m["model_steps"], m["config"]["model"]["name"]) for n, m in plan.pop("by_model").items()}
    assert plan == {"scale": "quick", "seeds": None, "runs": 92, "model_steps": steps, "known": 92, "later": 6}
    # by model: the MLP's 56 + 16 runs of 30k and edge-popup's 6, the transformer's 4, MNIST's 2, the dense MLP's 8
    assert models == {"mlp": (78, 72 * 30000 + 6 * 2000, "mlp"), "transformer": (4, 4 * 10000, "transformer"),
                      "mnist-mlp": (2, 2 * 30000, "mnist-mlp"), "dense-mlp": (8, 4 * 10000 + 4 * 20000, "dense-mlp")}  # fmt: skip
    # by experiment: a run two experiments share (tickets' base is pai's) counts in both
    assert by["tickets"] == {"experiment": "tickets", "runs": 4, "known": 4, "model_steps": 4 * 30000, "later": 0}
    assert by["edge-popup"]["model_steps"] == 2 * 30000 + 6 * 2000 and by["norm-control"]["later"] == 4
    assert sum(e["later"] for e in by.values()) == 6 and len({e["experiment"] for e in by.values()}) == len(by)
    assert cli.main(["status", str(tmp_path), "--plan", "huge"]) == 2
    # a folder that does not exist yet: the same plan (a dry run of `reproduce --out NEW`), nothing created
    new = tmp_path / "new"
    assert cli.main(["status", str(new), "--plan", "quick", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    rp = again.pop("reproduce_plan")
    assert rp.pop("experiments") == list(by.values()) and rp.pop("by_model").keys() == models.keys() and rp == plan
    assert again == {"store": str(new), "exists": False} and not new.exists()
    # --seeds: the plan reproduce --seeds would train, and a table by experiment in the text
    assert cli.main(["status", str(new), "--plan", "quick", "--seeds", "0-2"]) == 0
    text = capsys.readouterr().out
    assert "reproduce --scale quick --seeds 0-2 would still train" in text and "\n  tickets " in text
    assert cli.main(["status", str(new)]) == 2  # without --plan it is still not a store


def test_reproduce_says_what_it_will_train_and_about_how_long_first(tmp_path, monkeypatch):
    """The ETA: each model's model-steps left over the rate a population of it reaches here, timed
    for a few steps (faked here: timings are the bench's job, never a test's)."""
    from grokking_tickets import bench
    from grokking_tickets.status import eta_line, eta_seconds, new_store_plan

    timed = []

    def fake_rate(cfg, K, steps, device):
        timed.append((cfg.model.name, K))
        return {"mlp": 2000.0, "transformer": 200.0, "mnist-mlp": 100.0, "dense-mlp": 1000.0}[cfg.model.name]

    monkeypatch.setattr(bench, "population_steps_per_s", fake_rate)
    plan = new_store_plan(tmp_path / "new", "quick")
    eta = eta_seconds(plan, torch.device("cpu"))
    # each model timed once, at the population it would train in (the MLP's 78 runs: its cap of 16)
    assert sorted(timed) == [("dense-mlp", 8), ("mlp", 16), ("mnist-mlp", 2), ("transformer", 4)]
    expected = (72 * 30000 + 6 * 2000) / 2000 + 4 * 10000 / 200 + 2 * 30000 / 100 + (4 * 10000 + 4 * 20000) / 1000
    assert eta["seconds"] == pytest.approx(expected)
    line = eta_line(plan, eta)
    assert line.startswith("plan: 92 runs to train (2,392,000 model-steps); 6 more once") and "about 33.4 min" in line
    assert eta_line({**plan, "runs": 0, "later": 0}, eta) == "plan: nothing to train, every planned run is in the store"


def test_reproduce_plans_once_and_trains_what_it_announced(tmp_path, monkeypatch):
    """reproduce makes one plan before anything trains: its first line counts that plan, and the
    configuration's training ahead trains that plan's runs (no second planning pass)."""
    from grokking_tickets import bench
    from grokking_tickets.experiments import EXPERIMENTS, base, plan, schedule

    tiny = (*TINY, "task.train_frac=0.5", "ticket.step=60")
    monkeypatch.setattr(plan, "PLAN", {"quick": [("mlp-modadd", tiny, (0, 1), (EXPERIMENTS["tickets"], EXPERIMENTS["prune-rate"]))]})
    planned, ahead, announced = [], [], []
    real_plan, real_ahead = base.plan_experiment, schedule.train_ahead
    monkeypatch.setattr(plan, "plan_experiment", lambda *a: planned.append(a[0].name) or real_plan(*a))
    monkeypatch.setattr("grokking_tickets.experiments.reproduce.train_ahead",
                        lambda specs, *a, **kw: ahead.append(set(specs)) or real_ahead(specs, *a, **kw))  # fmt: skip
    monkeypatch.setattr(bench, "population_steps_per_s", lambda cfg, K, steps, device: 1000.0)
    monkeypatch.setattr("grokking_tickets.status.eta_line", lambda counts, eta: announced.append(counts) or "plan")
    assert cli.main(["reproduce", "--scale", "quick", "--out", str(tmp_path)]) == 0
    assert planned == ["tickets", "prune-rate"]  # each experiment planned once, for the first line and the training
    (counts,) = announced
    # tickets' 2 dense runs and 2 tickets, prune-rate's tickets (its base and rate 0.0 are tickets'
    # dense runs), all 60 steps; prune-rate's would stop early but count their budget in the plan
    assert len(ahead) == 1 and counts["known"] == counts["runs"] == len(ahead[0]) == 4 + 2 * 5
    assert counts["model_steps"] == 60 * counts["runs"] and counts["later"] == 0
    trained = {p.parent.name for p in tmp_path.glob("runs/*/done.json")}
    assert ahead[0] <= trained  # every planned run was trained (ahead: the experiments found them done)
    assert {c["id"] for c in json.loads((tmp_path / "claims.json").read_text())} >= {"C1", "C5"}


def test_status_counts_the_runs_their_stop_rule_ended(tmp_path, capsys):
    # a threshold the runs meet at once: each stops at its first checkpoint >= 0 + 20 (step 20 of 60)
    assert cli.main(_args(["train"], tmp_path, "--set", "train.threshold=1e-6", "--set", "train.stop_margin=20")) == 0
    st = _status(tmp_path, capsys)
    assert st["experiments"]["train"]["base"]["states"] == {"done": 2}
    assert st["experiments"]["train"]["base"]["stopped_early"] == 2
    assert cli.main(["status", str(tmp_path)]) == 0
    assert "2 done, 2 of them stopped early" in capsys.readouterr().out
