import pytest

from grokking_tickets.config import Config, apply_overrides, from_dict, load_file, load_preset, resolve
from grokking_tickets.errors import UserError


def test_preset_matches_the_papers_settings():
    cfg = load_preset("mlp-modadd")
    assert cfg == Config()  # the defaults are the paper's settings
    assert (cfg.task.p, cfg.task.op, cfg.task.pairs, cfg.task.train_frac) == (67, "add", "unordered", 0.4)
    assert (cfg.model.d_emb, cfg.model.d_hidden, cfg.model.init_scale) == (500, 48, 1.0)
    assert (cfg.optim.lr, cfg.optim.beta1, cfg.optim.beta2, cfg.optim.weight_decay) == (1e-3, 0.9, 0.98, 1.0)
    assert (cfg.train.steps, cfg.ticket.rate, cfg.ticket.step) == (30000, 0.6, 30000)


def test_transformer_preset_trains_all_ordered_pairs():
    # the paper text's 4,489 pairs (docs/results.md: the transformer's plateau ends there), the authors' width
    cfg = load_preset("transformer-modadd")
    assert (cfg.task.p, cfg.task.pairs, cfg.task.train_frac) == (67, "all", 0.4)
    assert (cfg.model.d_model, cfg.model.d_mlp, cfg.model.eq_token) == (128, 128, False)


def test_overrides_are_typed():
    cfg = apply_overrides(Config(), ["train.steps=500", "optim.lr=2e-3", "task.op=mul", "optim.weight_decay=0"])
    assert cfg.train.steps == 500 and cfg.optim.lr == 2e-3 and cfg.task.op == "mul"
    assert isinstance(cfg.optim.weight_decay, float)  # an int is accepted where a float is expected


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.step=10", "did you mean 'train.steps'"),
        ("tsk.p=7", "did you mean 'task.p'"),
        ("train.steps=ten", "train.steps must be of type int"),
        ("train.steps=1.5", "train.steps must be of type int"),
        ("task.p=true", "task.p must be of type int"),
        ("task.p=1", "task.p must be at least 2"),
        ("task.train_frac=1.0", "task.train_frac must lie in (0, 1)"),
        ("task.train_frac=0", "task.train_frac must lie in (0, 1)"),
        ("ticket.rate=1.0", "ticket.rate must lie in [0, 1)"),
        ("ticket.rate=-0.1", "ticket.rate must lie in [0, 1)"),
        ("train.steps=0", "train.steps must be positive"),
        ("task.op=pow", "task.op must be one of"),
        ("task.op=div", "needs a prime task.p"),  # 67 is prime: checked with p=8 below
        ("nokey", "expects section.key=value"),
        ("popup.split=own", "popup.split must be one of source, seed"),
        ("popup.steps=0", "popup.steps must be positive"),
        ("popup.lr=0", "popup.lr must be positive"),
        ("popup.mem_step=-1", "popup.mem_step must be >= 0"),
    ],
)
def test_bad_overrides_are_clear(override, message):
    base = from_dict({"task": {"p": 8}}) if "div" in override else Config()
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        apply_overrides(base, [override])


def test_config_files(tmp_path):
    good = tmp_path / "c.toml"
    good.write_text('seeds = [4, 5]\n[task]\np = 31\n[train]\nsteps = 100\n')
    cfg = load_file(good)
    assert cfg.seeds == (4, 5) and cfg.task.p == 31 and cfg.train.steps == 100
    bad = tmp_path / "bad.toml"
    bad.write_text("[task\np = ")
    with pytest.raises(UserError, match="not valid TOML"):
        load_file(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_file(tmp_path / "missing.toml")
    unknown = tmp_path / "u.toml"
    unknown.write_text("[model]\nd_hiden = 3\n")
    with pytest.raises(UserError, match="did you mean 'model.d_hidden'"):
        load_file(unknown)


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(UserError, match="valid presets: .*mlp-modadd"):
        load_preset("mlp-modmul")


def test_seeds():
    assert resolve(None, None, [], "0-2,7").seeds == (0, 1, 2, 7)
    with pytest.raises(UserError, match="--seeds expects"):
        resolve(None, None, [], "a,b")
    with pytest.raises(UserError, match="distinct"):
        resolve(None, None, [], "1,1")


def test_overrides_checked_against_each_other_apply_together():
    cfg = apply_overrides(Config(), ["train.checkpoint_every=30", "train.eval_every=10"])
    assert (cfg.train.checkpoint_every, cfg.train.eval_every) == (30, 10)
    with pytest.raises(UserError, match="multiple of train.eval_every"):
        apply_overrides(Config(), ["train.checkpoint_every=30"])
