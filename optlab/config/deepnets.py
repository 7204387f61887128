"""The "Deep nets" page's configuration as a value, and its URL form (pure logic, no Streamlit).

``parse_deepnets_query(query) -> (DeepNetsConfig, notices)`` never raises: unknown, malformed
or out-of-range values fall back to their defaults with a notice; off-grid numbers snap to the
slider's grid (with a notice). ``to_deepnets_query(cfg)`` writes only what differs from the
defaults, so ``parse_deepnets_query(to_deepnets_query(c))[0] == c``.

``present=`` and ``hide=`` (projector mode, control groups in ``HIDE_GROUPS`` to hide) are the
shell's (``optlab.shell.setup``): the reader skips them like every page's.

URL scheme (all optional)::

    section=backprop|depth|overfit
    backprop: bp.act=sigmoid bp.x1=1 bp.x2=-0.5 bp.t=0.8 bp.seed=0 bp.lr=0.5
              bp.walk=3 (backward steps shown)  bp.k=2 (gradient steps taken)
    depth:    data=spiral depth=20 width=32 act=sigmoid init=he norm=batch res=1 seed=0
              opt=gd,adam gd.lr=0.1 steps=300 batch=full|16|32|64 sched=cosine
              clip=1 (a threshold; clip=off) at=40 (the step shown)
    overfit:  of.n=12 of.noise=0.3 of.width=128 of.depth=3 of.act=tanh of.opt=adam
              of.lr=0.01 of.steps=1000 of.wd=off|l2|decoupled of.lam=0.01 of.drop=0.2
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from optlab.config import links
from optlab.config.links import (
    NO_OPTIMIZERS,
    Reader,
    fmt_num,
    in_range,
    lr_spec,
    parse_bool,
    parse_choice,
    parse_int,
    put_changed,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.schedules import SCHEDULES
from optlab.nets import data, train
from optlab.nets.data import DATASETS
from optlab.nets.mlp import ACTIVATIONS, INITS, NORMS, NetConfig
from optlab.nets.tiny import PARAMS

SECTIONS = {
    "backprop": "Backprop step by step",
    "depth": "Depth and gradient flow",
    "overfit": "Overfitting and regularisation",
}
HIDE_GROUPS = ("network", "optimizers", "schedule", "clip", "regularisation")
FULL = 0  # batch: the whole training set
X_GRID = tuple(round(-2 + 0.1 * i, 1) for i in range(41))
BP_LR_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)
BP_STEPS = 2 * len(PARAMS) - 4  # the walk: y, h1, h2, z1, z2 and the nine weights
MAX_TAKEN = 50
DEPTH_RANGE = (1, 50)
WIDTH_GRID = (4, 8, 16, 32, 64, 128)
STEPS_GRID = (100, 200, 300, 500, 1000)
BATCH_OPTIONS = (16, 32, 64, FULL)
CLIP_GRID = (0.01, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0)
SEED_RANGE = (0, 99)
MAX_OPTIMIZERS = 4
NET_OPTIMIZERS = tuple(n for n, s in OPTIMIZERS.items() if not s.needs_hessian)
OF_N_GRID = (8, 12, 16, 24, 32, 64, 128)
OF_NOISE_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.8)
OF_WIDTH_GRID = (16, 32, 64, 128, 256)
OF_DEPTH_RANGE = (1, 6)
OF_STEPS_GRID = (200, 500, 1000, 2000, 3000)
WD_MODES = {"off": "Off", "l2": "L2 (coupled: + λθ in the gradient)",
            "decoupled": "Decoupled weight decay (− ηλθ after the update)"}  # fmt: skip
LAM_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0)
DROPOUT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
DEFAULT_LRS = {"gd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adam": 0.003, "adamw": 0.003,
               "nadam": 0.003, "amsgrad": 0.003, "adamax": 0.003, "lion": 0.001,
               "rmsprop": 0.001}  # fmt: skip
N_TRAIN, N_VAL = 200, 200  # the depth section's data set sizes
DATA_NOISE = {"spiral": 0.05, "circles": 0.08}
PLAIN, REGULARISED = "no regularisation", "regularised"  # the overfit section's two runs


def default_lr(opt: str) -> float:
    return links.default_lr(opt, DEFAULT_LRS)


@dataclass(frozen=True)
class BackpropConfig:
    activation: str = "sigmoid"
    x1: float = 1.0
    x2: float = -0.5
    target: float = 0.8
    seed: int = 0
    lr: float = 0.5
    walked: int = 0  # backward steps shown, 0 .. BP_STEPS
    taken: int = 0  # gradient steps taken from the initial weights


@dataclass(frozen=True)
class DepthConfig:
    data: str = "spiral"
    depth: int = 10
    width: int = 32
    activation: str = "tanh"
    init: str = "xavier"
    norm: str = "none"
    residual: bool = False
    seed: int = 0
    optimizers: tuple[str, ...] = ("gd", "adam")
    lrs: tuple[tuple[str, float], ...] = (("gd", default_lr("gd")), ("adam", default_lr("adam")))
    steps: int = 300
    batch: int = FULL
    schedule: str = "constant"
    clip: float = math.inf  # inf: no clipping
    at: int = -1  # the step shown in the per-layer plots (-1: the last)

    def lr(self, opt: str) -> float:
        return dict(self.lrs).get(opt, default_lr(opt))

    def step_shown(self) -> int:
        return self.steps - 1 if self.at < 0 else min(self.at, self.steps - 1)


@dataclass(frozen=True)
class OverfitConfig:
    n: int = 12
    noise: float = 0.3
    width: int = 128
    depth: int = 3
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.005
    steps: int = 2000
    wd: str = "decoupled"
    lam: float = 1.0
    dropout: float = 0.0


@dataclass(frozen=True)
class DeepNetsConfig:
    section: str = "backprop"
    bp: BackpropConfig = BackpropConfig()
    net: DepthConfig = DepthConfig()
    of: OverfitConfig = OverfitConfig()


def with_optimizers(net: DepthConfig, opts: Sequence[str]) -> DepthConfig:
    """``net`` with this selection; learning rates kept where known, else the defaults."""
    return replace(net, optimizers=tuple(opts), lrs=tuple((o, net.lr(o)) for o in opts))


# ---------------------------------------------------------------------------------------------
# Query -> config.


def _choice(options):
    return lambda t: parse_choice(t, list(options))


def _int_in(lo: int, hi: int):
    return lambda t: int(in_range(parse_int(t), lo, hi))


def _backprop(r: Reader) -> BackpropConfig:
    b = BackpropConfig()
    return BackpropConfig(
        activation=r.get("bp.act", _choice(ACTIVATIONS), b.activation),
        x1=r.grid("bp.x1", X_GRID, b.x1),
        x2=r.grid("bp.x2", X_GRID, b.x2),
        target=r.grid("bp.t", X_GRID, b.target),
        seed=r.get("bp.seed", _int_in(*SEED_RANGE), b.seed),
        lr=r.grid("bp.lr", BP_LR_GRID, b.lr, log=True),
        walked=r.get("bp.walk", _int_in(0, BP_STEPS), b.walked),
        taken=r.get("bp.k", _int_in(0, MAX_TAKEN), b.taken),
    )


def _depth(r: Reader) -> DepthConfig:
    b = DepthConfig()
    opts = r.optimizers(b.optimizers, allowed=NET_OPTIMIZERS, most=MAX_OPTIMIZERS)
    lrs = tuple((o, r.hparam(f"{o}.lr", lr_spec(o), default_lr(o))) for o in opts)
    r.other_optimizer_keys(opts)
    steps = r.grid("steps", STEPS_GRID, b.steps, log=True)
    clip_text = r.raw.get("clip", "")
    clip = math.inf if clip_text.strip().lower() == "off" else None
    if clip is not None:
        r.take("clip")
    else:
        clip = r.grid("clip", CLIP_GRID, b.clip, log=True)
    return DepthConfig(
        data=r.get("data", _choice(DATASETS), b.data),
        depth=r.get("depth", _int_in(*DEPTH_RANGE), b.depth),
        width=r.grid("width", WIDTH_GRID, b.width, log=True),
        activation=r.get("act", _choice(ACTIVATIONS), b.activation),
        init=r.get("init", _choice(INITS), b.init),
        norm=r.get("norm", _choice(NORMS), b.norm),
        residual=r.get("res", parse_bool, b.residual, "0"),
        seed=r.get("seed", _int_in(*SEED_RANGE), b.seed),
        optimizers=opts,
        lrs=lrs,
        steps=steps,
        batch=r.get("batch", _batch, b.batch, "full"),
        schedule=r.get("sched", _choice(SCHEDULES), b.schedule),
        clip=clip,
        at=r.get("at", _int_in(0, steps - 1), b.at, "(the last step)"),
    )


def _batch(text: str) -> int:
    if text.strip().lower() == "full":
        return FULL
    return int(parse_choice(text, [str(b) for b in BATCH_OPTIONS if b != FULL] + ["full"]))


def _overfit(r: Reader) -> OverfitConfig:
    b = OverfitConfig()
    opt = r.get("of.opt", _choice(NET_OPTIMIZERS), b.optimizer)
    lr_default = b.lr if opt == b.optimizer else default_lr(opt)
    return OverfitConfig(
        n=r.grid("of.n", OF_N_GRID, b.n, log=True),
        noise=r.grid("of.noise", OF_NOISE_GRID, b.noise),
        width=r.grid("of.width", OF_WIDTH_GRID, b.width, log=True),
        depth=r.get("of.depth", _int_in(*OF_DEPTH_RANGE), b.depth),
        activation=r.get("of.act", _choice(ACTIVATIONS), b.activation),
        optimizer=opt,
        lr=r.hparam("of.lr", lr_spec(opt), lr_default),
        steps=r.grid("of.steps", OF_STEPS_GRID, b.steps, log=True),
        wd=r.get("of.wd", _choice(WD_MODES), b.wd),
        lam=r.grid("of.lam", LAM_GRID, b.lam, log=True),
        dropout=r.grid("of.drop", DROPOUT_GRID, b.dropout),
    )


def parse_deepnets_query(
    query: Mapping[str, str | Sequence[str]],
) -> tuple[DeepNetsConfig, list[str]]:
    """The configuration a URL asks for, and a notice for every value that was ignored."""
    r = Reader(query)
    cfg = DeepNetsConfig(
        section=r.get("section", _choice(SECTIONS), "backprop"),
        bp=_backprop(r),
        net=_depth(r),
        of=_overfit(r),
    )
    if cfg.net.at == cfg.net.steps - 1:  # the last step is the default
        cfg = replace(cfg, net=replace(cfg.net, at=-1))
    return cfg, r.finish()


# ---------------------------------------------------------------------------------------------
# Config -> query.

BP_KEYS = {"activation": "bp.act", "x1": "bp.x1", "x2": "bp.x2", "target": "bp.t",
           "seed": "bp.seed", "lr": "bp.lr", "walked": "bp.walk", "taken": "bp.k"}  # fmt: skip
NET_KEYS = {"data": "data", "depth": "depth", "width": "width", "activation": "act",
            "init": "init", "norm": "norm", "residual": "res", "seed": "seed", "steps": "steps",
            "schedule": "sched", "at": "at"}  # fmt: skip
OF_KEYS = {"n": "of.n", "noise": "of.noise", "width": "of.width", "depth": "of.depth",
           "activation": "of.act", "optimizer": "of.opt", "lr": "of.lr", "steps": "of.steps",
           "wd": "of.wd", "lam": "of.lam", "dropout": "of.drop"}  # fmt: skip


def _rows(value, base, keys: Mapping[str, str]):
    return [(key, getattr(value, f), getattr(base, f)) for f, key in keys.items()]


def to_deepnets_query(cfg: DeepNetsConfig) -> dict[str, str]:
    """The URL parameters for ``cfg``: only what differs from the defaults."""
    base = DeepNetsConfig()
    q: dict[str, str] = {}
    put_changed(q, [("section", cfg.section, base.section)])
    put_changed(q, _rows(cfg.bp, base.bp, BP_KEYS))
    net = cfg.net
    put_changed(q, _rows(net, base.net, NET_KEYS))
    if net.optimizers != base.net.optimizers:
        q["opt"] = ",".join(net.optimizers) or NO_OPTIMIZERS
    for o, lr in net.lrs:
        if lr != default_lr(o):
            q[f"{o}.lr"] = fmt_num(lr)
    if net.batch != base.net.batch:
        q["batch"] = str(net.batch)
    if net.clip != base.net.clip:
        q["clip"] = "off" if math.isinf(net.clip) else fmt_num(net.clip)
    of = cfg.of
    lr_default = base.of.lr if of.optimizer == base.of.optimizer else default_lr(of.optimizer)
    put_changed(q, [r for r in _rows(of, base.of, OF_KEYS) if r[0] != "of.lr"])
    if of.lr != lr_default:
        q["of.lr"] = fmt_num(of.lr)
    return q


# ---------------------------------------------------------------------------------------------
# Config -> what ``optlab.nets.train`` runs (the page and the scenarios' checks share these).


def depth_net(n: DepthConfig) -> NetConfig:
    return NetConfig(d_in=DATASETS[n.data].d_in, width=n.width, depth=n.depth,
                     activation=n.activation, norm=n.norm, residual=n.residual)  # fmt: skip


def depth_data(n: DepthConfig) -> data.Dataset:
    return data.make(n.data, N_TRAIN, DATA_NOISE.get(n.data, 0.1), 0, N_VAL)


def depth_runs(n: DepthConfig) -> list[train.Run]:
    """One run per selected optimizer (labelled by its display name), clipped at ``n.clip``."""
    return [train.Run(OPTIMIZERS[o].display, o, (("learning_rate", lr),), clip_norm=n.clip)
            for o, lr in n.lrs]  # fmt: skip


def depth_settings(n: DepthConfig) -> train.Settings:
    return train.Settings(steps=n.steps, batch=n.batch, init=n.init, init_seed=n.seed,
                          schedule=n.schedule)  # fmt: skip


def overfit_net(o: OverfitConfig) -> NetConfig:
    return NetConfig(d_in=1, width=o.width, depth=o.depth, activation=o.activation)


def overfit_data(o: OverfitConfig) -> data.Dataset:
    return data.make("wave", o.n, o.noise, 0, N_VAL)


def overfit_runs(o: OverfitConfig) -> list[train.Run]:
    """The run without regularisation and, when any is on, the same run regularised."""
    hp = (("learning_rate", o.lr),)
    lam = 0.0 if o.wd == "off" else o.lam
    l2, wd = (lam if o.wd == "l2" else 0.0), (lam if o.wd == "decoupled" else 0.0)
    runs = [train.Run(PLAIN, o.optimizer, hp)]
    if lam > 0 or o.dropout > 0:
        runs.append(train.Run(REGULARISED, o.optimizer, hp, l2=l2, weight_decay=wd,
                              dropout=o.dropout))  # fmt: skip
    return runs


def overfit_settings(o: OverfitConfig) -> train.Settings:
    return train.Settings(steps=o.steps, chunk=100, init="xavier")
