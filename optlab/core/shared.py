"""Shared programs: problems and optimizers that run through one compiled program.

A ``ProblemSet`` is one problem whose loss is one of its members' (``lax.switch`` on an index
that enters the program as an array); an ``OptimizerSet`` is one optimizer whose step is one of
its members' (the same, on the run's ``tp[WHICH]``; every member's state rides along). The
engine compiles per (problem, optimizer, step bucket, batch size), and a compile of one 2-D
surface with one optimizer takes about a second on two cores (measured: 1.1–1.5 s, 0.9 s of it
XLA's backend): a visitor who picked another surface waited for four of them (the default
race), one who added Nesterov for one. The program of ``SURFACE_SET`` (``surfaces``) with
``OPTIMIZER_SET`` serves every registry surface with every optimizer but Newton: dearer to
compile once, and then nothing compiles for a new surface or a new optimizer at that step
bucket. Its results equal the member's own program's, bit for bit in most cases and else to
float32 rounding, where a sum or a Hessian is fused differently (``tests/core/test_shared.py``).

A shared program is used only once it has been compiled on purpose (``engine.sweep(...,
share=True)``, what the server's warm-ups call): until then each problem and optimizer runs
its own program, which compiles faster, so a visitor never waits for the dearer compile.
Among those compiled, the engine takes the most shared (``program``).
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optlab.core.optimizers import OPTIMIZERS

Shape = tuple[Hashable, ...]  # (step bucket, batch rows, loss_every): what else a program fixes
WHICH = "optimizer"  # the transform parameter that picks an OptimizerSet's member
_SETS: dict[Any, ProblemSet] = {}  # member -> its set
_COMPILED: set[tuple] = set()  # (problem, impl, *shape) compiled on purpose


class ProblemSet:
    """Deterministic problems of one parameter size behind one loss:
    ``loss(params, {"which": i, "members": (θ₀, θ₁, …)}) = members[i].loss(params, θᵢ)``."""

    stochastic = False

    def __init__(self, members: Iterable[Any]) -> None:
        self.members = tuple(members)
        if any(getattr(m, "stochastic", False) for m in self.members):
            raise ValueError("only deterministic problems can share a program")
        # one function per member, made once: JAX then traces each branch once per program
        self._branches = tuple(partial(_branch, i, m) for i, m in enumerate(self.members))
        for m in self.members:
            _SETS[m] = self

    def loss(self, params: jax.Array, theta: Mapping[str, Any]) -> jax.Array:
        return self._loss(params, theta)

    @functools.cached_property
    def _loss(self):
        """The switch as a function of its own (a nested ``jit``, inlined by XLA): JAX traces
        and differentiates it once, and each optimizer's program reuses that (the trace of a
        set's program fell from ~2 s to 0.1 s for every optimizer after the first)."""

        def switch(params, theta):
            return jax.lax.switch(theta["which"], self._branches, params, theta["members"])

        return jax.jit(switch)

    def theta_of(self, member, **overrides: float) -> dict[str, Any]:
        """The set's parameters that select ``member`` with its parameters ``overrides`` (every
        other member's at their defaults: the program needs them all, and uses one)."""
        i = self.members.index(member)
        own = member.theta(**overrides) if hasattr(member, "theta") else {}
        thetas = (*self._defaults[:i], own, *self._defaults[i + 1 :])
        return {"which": np.int32(i), "members": thetas}

    @functools.cached_property
    def _defaults(self) -> tuple[Mapping[str, Any], ...]:
        """Every member's parameters at their defaults, made once (a run on the hot path of
        a released slider asks for them: 0.6 ms per optimizer when remade each time)."""
        return tuple(m.theta() if hasattr(m, "theta") else {} for m in self.members)


def _branch(i: int, member, params, thetas):
    return member.loss(params, thetas[i])


@dataclass(frozen=True)
class OptimizerSet:
    """Registry optimizers behind one step: ``tp[WHICH]`` (the member's index, one array for
    the whole batch, so the switch stays a branch and only that member computes) picks the one
    that steps; the others' states ride along unchanged. Each step records ``slots`` moments
    (``"slot j"``), the member's own ``j``-th, raveled, or zeros where it has fewer."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if any(OPTIMIZERS[n].needs_hessian for n in self.names):
            raise ValueError("an optimizer that needs the Hessian cannot share a program")

    def labels(self, name: str) -> tuple[str, ...]:
        """Member ``name``'s moment labels, in the order of its slots."""
        return _moment_labels(name)

    @functools.cached_property
    def slots(self) -> int:
        return max(len(self.labels(n)) for n in self.names)

    @functools.cached_property
    def defaults(self) -> dict[str, float]:
        """Every member's hyperparameters at their defaults (a run's batch needs them all)."""
        out: dict[str, float] = {}
        for n in reversed(self.names):
            out |= {h.name: h.default for h in OPTIMIZERS[n].hparams}
        return out


@functools.cache
def _moment_labels(name: str) -> tuple[str, ...]:
    spec = OPTIMIZERS[name]
    tx = spec.factory(**{h.name: h.default for h in spec.hparams})
    return tuple(spec.moments(jax.eval_shape(tx.init, jnp.zeros(2, jnp.float32))))


OPTIMIZER_SET = OptimizerSet(tuple(n for n, s in OPTIMIZERS.items() if not s.needs_hessian))


def set_of(problem) -> ProblemSet | None:
    """The set ``problem`` is a member of, if any."""
    try:
        return _SETS.get(problem)
    except TypeError:  # an unhashable problem belongs to no set
        return None


class Program(NamedTuple):
    """What one optimizer's run compiles and feeds: the problem and optimizer the program is
    for, the problem's parameters, and what the run adds to its transform parameters and its
    hyperparameters (an ``OptimizerSet``'s index and its other members' defaults)."""

    problem: Any
    impl: Any
    theta: Mapping[str, Any]
    tp: dict[str, np.ndarray]
    hp: dict[str, float]


def program(problem, impl, theta: Mapping[str, float], shape: Shape | None = None,
            share: bool = False) -> Program:  # fmt: skip
    """The program for one optimizer's run on ``problem``: the most shared one compiled for
    ``shape`` (or, with ``share``, the most shared one there is: it compiles now), of
    (``problem``'s set or ``problem``) × (``OPTIMIZER_SET`` or the optimizer); with no
    ``shape``, ``problem`` and the optimizer themselves."""
    owner = set_of(problem) if isinstance(impl, str) else None  # registry optimizers only
    member = isinstance(impl, str) and impl in OPTIMIZER_SET.names
    options = [
        (p, o)
        for p in (owner, problem)
        for o in (OPTIMIZER_SET if member else None, impl)
        if p is not None and o is not None
    ]
    p, o = problem, impl
    if shape is not None and len(options) > 1:
        if share:
            p, o = options[0]
        else:
            p, o = next(((p, o) for p, o in options if (p, o, *shape) in _COMPILED), (p, o))
    if p is owner:
        th = owner.theta_of(problem, **theta)
    else:
        th = problem.theta(**theta) if hasattr(problem, "theta") else dict(theta)
    if o is OPTIMIZER_SET:
        return Program(p, o, th, {WHICH: np.int32(o.names.index(impl))}, o.defaults)
    return Program(p, o, th, {}, {})


def mark_compiled(prog: Program, shape: Shape) -> None:
    _COMPILED.add((prog.problem, prog.impl, *shape))


def forget() -> None:
    """JAX's caches were cleared: no shared program is compiled any more."""
    _COMPILED.clear()
