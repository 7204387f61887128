"""The Deep nets page's cached computations (numbers from ``optlab.nets``, no figures).

Trained runs live in one bounded, process-wide store keyed by a hashable ``RunKey`` (every
session shares them); a miss trains with a progress bar. The backprop walk is cheap and cached
with ``st.cache_data``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st

from optlab.config import deepnets as dn
from optlab.nets import data, tiny, train
from optlab.nets.mlp import NetConfig

MAX_RUNS = 96
N_TRAIN, N_VAL = 200, 200
NOISE = {"spiral": 0.05, "circles": 0.08}
FIT_GRID = np.linspace(-1.15, 1.15, 231, dtype=np.float32)


@dataclass(frozen=True)
class RunKey:
    """Everything one training run depends on (hashable: the store's key)."""

    data: str
    n: int
    noise: float
    net: NetConfig
    run: train.Run
    settings: train.Settings

    def dataset(self) -> data.Dataset:
        return data.make(self.data, self.n, self.noise, 0, N_VAL)


@st.cache_resource(show_spinner=False)
def _store() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def _train_one(key: RunKey, progress: Callable[[float], None]) -> train.History:
    (hist,) = train.train(key.net, key.dataset(), [key.run], key.settings, progress)
    return hist


def histories(keys: Sequence[RunKey], what: str) -> list[train.History]:
    """Each key's run, trained on a miss (one progress bar over the missing runs)."""
    store, lock = _store()
    with lock:
        found = {k: store[k] for k in keys if k in store}
    missing = [k for k in keys if k not in found]
    if missing:
        bar = st.progress(0.0, text=f"Training {what} (a new network shape compiles first)…")
        for i, k in enumerate(missing):
            label = f"Training {k.run.label} ({i + 1} of {len(missing)})…"
            found[k] = _train_one(
                k, lambda f, i=i, label=label: bar.progress((i + f) / len(missing), text=label)
            )
            with lock:
                store[k] = found[k]
                while len(store) > MAX_RUNS:
                    store.popitem(last=False)
        bar.empty()
    with lock:
        for k in keys:
            if k in store:
                store.move_to_end(k)
    return [found[k] for k in keys]


# ---------------------------------------------------------------------------------------------
# Depth and gradient flow.


def net_of(n: dn.DepthConfig) -> NetConfig:
    return NetConfig(d_in=data.DATASETS[n.data].d_in, width=n.width, depth=n.depth,
                     activation=n.activation, norm=n.norm, residual=n.residual)  # fmt: skip


def depth_keys(n: dn.DepthConfig) -> list[RunKey]:
    settings = train.Settings(steps=n.steps, batch=n.batch, init=n.init, init_seed=n.seed,
                              schedule=n.schedule)  # fmt: skip
    net = net_of(n)
    return [
        RunKey(n.data, N_TRAIN, NOISE.get(n.data, 0.1), net,
               train.Run(dn.OPTIMIZERS[o].display, o, (("learning_rate", lr),), clip_norm=n.clip),
               settings)
        for o, lr in n.lrs
    ]  # fmt: skip


def depth_runs(n: dn.DepthConfig) -> list[train.History]:
    return histories(depth_keys(n), f"{len(n.lrs)} optimizer(s)")


# ---------------------------------------------------------------------------------------------
# Overfitting and regularisation.

PLAIN, REGULARISED = "no regularisation", "regularised"


def overfit_keys(o: dn.OverfitConfig) -> list[RunKey]:
    net = NetConfig(d_in=1, width=o.width, depth=o.depth, activation=o.activation)
    settings = train.Settings(steps=o.steps, chunk=100, init="xavier")
    hp = (("learning_rate", o.lr),)
    lam = 0.0 if o.wd == "off" else o.lam
    l2, wd = (lam if o.wd == "l2" else 0.0), (lam if o.wd == "decoupled" else 0.0)
    reg = train.Run(REGULARISED, o.optimizer, hp, l2=l2, weight_decay=wd, dropout=o.dropout)
    keys = [RunKey("wave", o.n, o.noise, net, train.Run(PLAIN, o.optimizer, hp), settings)]
    if lam > 0 or o.dropout > 0:
        keys.append(RunKey("wave", o.n, o.noise, net, reg, settings))
    return keys


def overfit_runs(o: dn.OverfitConfig) -> tuple[list[train.History], dict[str, np.ndarray]]:
    """The runs and each one's fitted function over ``FIT_GRID``."""
    keys = overfit_keys(o)
    hists = histories(keys, "the network with and without regularisation")
    curves = {
        h.label: np.asarray(train.predict(h.params, h.stats, FIT_GRID[:, None], k.net))
        for h, k in zip(hists, keys, strict=True)
    }
    return hists, curves


def overfit_data(o: dn.OverfitConfig) -> data.Dataset:
    return overfit_keys(o)[0].dataset()


# ---------------------------------------------------------------------------------------------
# The backprop walk.


@st.cache_data(max_entries=256, show_spinner=False)
def walk(activation: str, x: tuple[float, float], target: float, seed: int, lr: float,
         taken: int):  # fmt: skip
    """``(params, forward values, steps, jax.grad's gradients, loss after 0..taken steps)``
    for the tiny network after ``taken`` gradient steps from its initial weights."""
    path = tiny.descent(tiny.init_tiny(seed), x, target, activation, lr, taken)
    p = path[-1]
    values, steps = tiny.walk(p, x, target, activation)
    reference = tiny.jax_gradients(p, x, target, activation)
    losses = [tiny.forward(q, x, target, activation)["L"] for q in path]
    return p, values, steps, reference, losses
