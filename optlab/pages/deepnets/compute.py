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

MAX_RUNS = 48  # a run at depth 50 × 1000 steps keeps ~1 MB of records
FIT_GRID = np.linspace(-1.15, 1.15, 231, dtype=np.float32)


@dataclass(frozen=True)
class RunKey:
    """Everything one training run depends on (hashable: the store's key)."""

    data: data.Dataset  # hashed by identity: ``data.make`` caches its data sets
    net: NetConfig
    run: train.Run
    settings: train.Settings


@st.cache_resource(show_spinner=False)
def _store() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def _train_one(key: RunKey, progress: Callable[[float], None]) -> train.History:
    (hist,) = train.train(key.net, key.data, [key.run], key.settings, progress)
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


def depth_runs(n: dn.DepthConfig) -> list[train.History]:
    net, ds, settings = dn.depth_net(n), dn.depth_data(n), dn.depth_settings(n)
    keys = [RunKey(ds, net, r, settings) for r in dn.depth_runs(n)]
    return histories(keys, f"{len(keys)} optimizer(s)")


# ---------------------------------------------------------------------------------------------
# Overfitting and regularisation.


def overfit_runs(o: dn.OverfitConfig) -> tuple[list[train.History], dict[str, np.ndarray]]:
    """The runs and each one's fitted function over ``FIT_GRID``."""
    net, ds, settings = dn.overfit_net(o), dn.overfit_data(o), dn.overfit_settings(o)
    hists = histories([RunKey(ds, net, r, settings) for r in dn.overfit_runs(o)],
                      "the network with and without regularisation")  # fmt: skip
    curves = {h.label: np.asarray(train.predict(h.params, h.stats, FIT_GRID[:, None], net))
              for h in hists}  # fmt: skip
    return hists, curves


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
