"""Problems that share compiled programs: a ``ProblemSet`` is one problem whose loss is one of
its members' (``lax.switch`` on an index that enters the program as an array), so every member
runs through one compiled program per (optimizer, step bucket, batch size).

Why: the engine compiles per (problem, optimizer), and a compile of one 2-D surface takes about
a second on two cores (measured: 1.1–1.5 s, 0.9 s of it XLA's backend), so a visitor who
picks another surface waited for four of them (the default race). The set's program is
dearer to compile once (all 15 surfaces: ~6 s for the first optimizer, ~4 s for each
next, which reuses the first one's trace of the surfaces) and a little dearer to run
(+0.3 ms on the default race of 64 rows × 200 steps), and then serves every surface with no
compile at all. Its results equal the member's own program's, bit for bit in most cases and
else to float32 rounding, where a sum or a Hessian is fused differently (measured over 25 steps:
≤ 4.4e-6 relative, Newton on Beale; ``tests/core/test_shared.py``).

A set's program is used only once it has been compiled on purpose (``engine.sweep(...,
share=True)``, what the server's warm-ups call): until then each member runs its own program,
which compiles six times faster, so a visitor never waits for the dearer compile.

Only deterministic problems and registry optimizers (their name is the static part) share.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

Key = tuple[Hashable, ...]  # (optimizer impl, step bucket, batch rows, loss_every)
_SETS: dict[Any, ProblemSet] = {}  # member -> its set


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
        self._compiled: set[Key] = set()
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
        thetas = tuple(
            m.theta(**overrides) if m is member else m.theta() if hasattr(m, "theta") else {}
            for m in self.members
        )
        return {"which": jnp.int32(self.members.index(member)), "members": thetas}

    def compiled(self, key: Key) -> bool:
        return key in self._compiled

    def mark_compiled(self, key: Key) -> None:
        self._compiled.add(key)

    def forget(self) -> None:
        """JAX's caches were cleared: no program of this set is compiled any more."""
        self._compiled.clear()


def _branch(i: int, member, params, thetas):
    return member.loss(params, thetas[i])


def set_of(problem) -> ProblemSet | None:
    """The set ``problem`` is a member of, if any."""
    try:
        return _SETS.get(problem)
    except TypeError:  # an unhashable problem belongs to no set
        return None


def sets() -> tuple[ProblemSet, ...]:
    return tuple(dict.fromkeys(_SETS.values()))


def program(problem, theta: Mapping[str, float], key: Key | None = None, share: bool = False):
    """``(the problem to compile, its parameters)`` for one optimizer's run: ``problem``'s set
    where the set's program for ``key`` is compiled (or ``share`` asks for it), else
    ``problem`` itself (always, with no ``key``, or for an optimizer not in the registry)."""
    owner = set_of(problem) if key is not None and isinstance(key[0], str) else None
    if owner is not None and (share or owner.compiled(key)):
        return owner, owner.theta_of(problem, **theta)
    return problem, problem.theta(**theta) if hasattr(problem, "theta") else dict(theta)
