"""The optimizer protocol and the registry entry type.

An optimizer speaks optax's protocol: a pair of pure functions

    init(params) -> state
    update(grads, state, params=None, **extra) -> (updates, new_state)

where ``new_params = params + updates``. Params and grads are any pytree (a 2-vector on the
surfaces page, a dict of weight matrices in the transformer). Every hyperparameter may be a Python
float *or* a traced JAX scalar, so the engine can pass them as arrays inside ``jit`` and a slider
move never recompiles. ``learning_rate`` may also be a schedule ``count -> lr`` as in optax.

Any ``optax.GradientTransformation`` already satisfies this protocol and can run in the lab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optlab.core.params import HParam

PyTree = Any
ScalarOrSchedule = float | jax.Array | Callable[[jax.Array], jax.Array]


class GradientTransformation(NamedTuple):
    """``init``/``update`` pair, field-compatible with ``optax.GradientTransformation``."""

    init: Callable[[PyTree], Any]
    update: Callable[..., tuple[PyTree, Any]]


def lr_hparam(default: float, low: float = 1e-5, high: float = 10.0) -> HParam:
    """The learning-rate spec every optimizer carries (log slider)."""
    return HParam("learning_rate", "learning rate η", default, low, high, log=True, symbol=r"\eta")


def beta_hparam(name: str, default: float, symbol: str, label: str = "") -> HParam:
    return HParam(name, label or name, default, 0.0, 0.9999, symbol=symbol)


def eps_hparam(default: float = 1e-8) -> HParam:
    return HParam("eps", "ε (numerical floor)", default, 1e-12, 1e-1, log=True, symbol=r"\epsilon")


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: everything the app, the tests and the engine need about one optimizer.

    Attributes:
        name: registry key (``"adam"``).
        display: human name (``"Adam"``).
        latex: the update rule as LaTeX (shown in the app).
        factory: ``factory(**hparams) -> GradientTransformation``.
        hparams: hyperparameter specs; ``learning_rate`` first.
        moments: ``state -> {field label: pytree shaped like params}`` for the state panel
            (velocity, first/second moment ...). Empty for stateless optimizers.
        needs_hessian: the engine passes ``hessian=`` (flattened params) to ``update``.
        color: the optimizer's colour in every plot.
    """

    name: str
    display: str
    latex: str
    factory: Callable[..., GradientTransformation]
    hparams: tuple[HParam, ...]
    moments: Callable[[Any], dict[str, PyTree]] = field(default=lambda state: {})
    needs_hessian: bool = False
    color: str = "#636efa"

    def defaults(self) -> dict[str, float]:
        return {h.name: h.default for h in self.hparams}

    def hparam(self, name: str) -> HParam:
        for h in self.hparams:
            if h.name == name:
                return h
        raise KeyError(f"{self.display} has no hyperparameter {name!r}")

    def make(self, **overrides: Any) -> GradientTransformation:
        """The optimizer with defaults, overridden by ``overrides``."""
        unknown = set(overrides) - {h.name for h in self.hparams}
        if unknown:
            raise TypeError(f"{self.display} has no hyperparameter(s) {sorted(unknown)}")
        return self.factory(**{**self.defaults(), **overrides})


# ---------------------------------------------------------------------------------------------
# Small helpers shared by the optimizer modules.


def lr_at(learning_rate: ScalarOrSchedule, count: jax.Array) -> jax.Array:
    """The learning rate at step ``count`` (a constant or a schedule)."""
    return learning_rate(count) if callable(learning_rate) else learning_rate


def tree_zeros_like(tree: PyTree) -> PyTree:
    return jax.tree.map(jnp.zeros_like, tree)


def tree_full_like(tree: PyTree, value: float | jax.Array) -> PyTree:
    return jax.tree.map(lambda x: jnp.full_like(x, value), tree)


def tree_scale(tree: PyTree, scalar: float | jax.Array) -> PyTree:
    return jax.tree.map(lambda x: scalar * x, tree)


def tree_ema(new: PyTree, old: PyTree, decay: float | jax.Array, order: int = 1) -> PyTree:
    """Exponential moving average ``decay * old + (1 - decay) * new**order``."""
    return jax.tree.map(lambda g, m: decay * m + (1.0 - decay) * g**order, new, old)


def count_inc(count: jax.Array) -> jax.Array:
    """Increment a step counter, saturating instead of overflowing (as optax does)."""
    max_int = jnp.iinfo(jnp.int32).max
    return jnp.where(count < max_int, count + 1, max_int).astype(jnp.int32)
