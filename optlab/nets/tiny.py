r"""The 2-2-1 network whose backward pass is walked edge by edge (the chain rule made visible).

Forward, for one example :math:`(x_1, x_2)` with target :math:`t`::

    z_j = w_j1 x1 + w_j2 x2 + b_j,   h_j = f(z_j)        (j = 1, 2; f from ACTIVATIONS)
    y   = v1 h1 + v2 h2 + c,         L = (y - t)^2

Backward, one local derivative at a time: every step multiplies the gradient that arrived at a
node :math:`n` (its *upstream* :math:`\partial L/\partial n`) by the edge's local derivative,
:math:`\partial L/\partial u = \partial L/\partial n \cdot \partial n/\partial u`:

    ∂L/∂y = 2(y − t);  ∂L/∂v_j = ∂L/∂y · h_j;  ∂L/∂c = ∂L/∂y · 1;  ∂L/∂h_j = ∂L/∂y · v_j;
    ∂L/∂z_j = ∂L/∂h_j · f'(z_j);  ∂L/∂w_ji = ∂L/∂z_j · x_i;  ∂L/∂b_j = ∂L/∂z_j · 1

``walk`` returns those steps in order with their numbers (from the forward values, each
multiplication done in Python); ``jax_gradients`` is the independent reference (``jax.grad``
of ``loss``).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from optlab.nets.mlp import ACTIVATIONS

PARAMS = ("w11", "w12", "b1", "w21", "w22", "b2", "v1", "v2", "c")
NODES = ("x1", "x2", "h1", "h2", "y", "L")
PRETTY = {
    "w11": "w₁₁", "w12": "w₁₂", "w21": "w₂₁", "w22": "w₂₂", "b1": "b₁", "b2": "b₂",
    "v1": "v₁", "v2": "v₂", "c": "c", "x1": "x₁", "x2": "x₂", "z1": "z₁", "z2": "z₂",
    "h1": "h₁", "h2": "h₂", "y": "y", "L": "L",
}  # fmt: skip


def init_tiny(seed: int = 0) -> dict[str, float]:
    """Weights ~ N(0, 1) rounded to 2 decimals (readable on a slide), biases 0.1."""
    rng = np.random.default_rng(seed)
    p = {k: round(float(rng.normal()), 2) for k in PARAMS}
    return p | {"b1": 0.1, "b2": 0.1, "c": 0.1}


def _forward(p, x1, x2, t, activation: str):
    f = ACTIVATIONS[activation].fn
    z1 = p["w11"] * x1 + p["w12"] * x2 + p["b1"]
    z2 = p["w21"] * x1 + p["w22"] * x2 + p["b2"]
    h1, h2 = f(z1), f(z2)
    y = p["v1"] * h1 + p["v2"] * h2 + p["c"]
    return {"x1": x1, "x2": x2, "z1": z1, "z2": z2, "h1": h1, "h2": h2, "y": y,
            "L": (y - t) ** 2}  # fmt: skip


def forward(p: dict[str, float], x: tuple[float, float], target: float, activation: str):
    """Every node's value: ``x1, x2, z1, z2, h1, h2, y, L`` (as Python floats)."""
    vals = _forward(p, *x, target, activation)
    return {k: float(v) for k, v in vals.items()}


def loss(p, x, target, activation: str):
    """``L`` as a JAX function of the params dict (for ``jax.grad``)."""
    return _forward(p, x[0], x[1], target, activation)["L"]


def jax_gradients(p: dict[str, float], x, target: float, activation: str) -> dict[str, float]:
    """``jax.grad`` of the loss with respect to each parameter (the reference)."""
    params = {k: jnp.float32(v) for k, v in p.items()}
    g = jax.grad(loss)(params, (jnp.float32(x[0]), jnp.float32(x[1])), jnp.float32(target),
                       activation)  # fmt: skip
    return {k: float(g[k]) for k in PARAMS}


@dataclass(frozen=True)
class Step:
    """One step of the backward pass: ``∂L/∂target = upstream · local``.

    ``edge`` is the graph edge (``(from node, to node)``) the step walks, ``param`` whether
    ``target`` is a weight (its gradient is final) or a node (it is passed on)."""

    target: str
    edge: tuple[str, str]
    upstream_of: str  # the node whose gradient arrives
    upstream: float
    local_label: str  # e.g. "∂y/∂v₁ = h₁"
    local: float
    value: float
    param: bool

    def formula(self) -> str:
        t, u = PRETTY[self.target], PRETTY[self.upstream_of]
        return (f"∂L/∂{t} = ∂L/∂{u} · {self.local_label} = "
                f"{self.upstream:.4g} × {self.local:.4g} = {self.value:.4g}")  # fmt: skip


def walk(p: dict[str, float], x, target: float, activation: str) -> tuple[dict, list[Step]]:
    """The forward values and the backward pass as a list of ``Step`` s (output to input)."""
    v = forward(p, x, target, activation)
    dfn = ACTIVATIONS[activation].dfn
    grad = {"L": 1.0}
    steps: list[Step] = []

    def step(target_, edge, of, label, local, param):
        value = grad[of] * local
        grad[target_] = value
        steps.append(Step(target_, edge, of, grad[of], label, float(local), value, param))

    step("y", ("y", "L"), "L", "∂L/∂y = 2(y − t)", 2 * (v["y"] - target), False)
    for j in ("1", "2"):
        step(f"v{j}", (f"h{j}", "y"), "y", f"∂y/∂v{PRETTY['v' + j][1]} = h{PRETTY['h' + j][1]}",
             v[f"h{j}"], True)  # fmt: skip
    step("c", ("c", "y"), "y", "∂y/∂c = 1", 1.0, True)
    for j in ("1", "2"):
        sub = PRETTY["h" + j][1]
        step(f"h{j}", (f"h{j}", "y"), "y", f"∂y/∂h{sub} = v{sub}", p[f"v{j}"], False)
    for j in ("1", "2"):
        sub = PRETTY["h" + j][1]
        d = float(dfn(jnp.float32(v[f"z{j}"])))
        step(f"z{j}", (f"h{j}", f"h{j}"), f"h{j}", f"∂h{sub}/∂z{sub} = f′(z{sub})", d, False)
        for i in ("1", "2"):
            w = f"w{j}{i}"
            step(w, (f"x{i}", f"h{j}"), f"z{j}", f"∂z{sub}/∂{PRETTY[w]} = x{PRETTY['x' + i][1]}",
                 v[f"x{i}"], True)  # fmt: skip
        step(f"b{j}", (f"b{j}", f"h{j}"), f"z{j}", f"∂z{sub}/∂b{sub} = 1", 1.0, True)
    return v, steps


def gradients(steps: list[Step]) -> dict[str, float]:
    """Each parameter's gradient as the walk found it."""
    return {s.target: s.value for s in steps if s.param}


def gradient_step(p: dict[str, float], grads: dict[str, float], lr: float) -> dict[str, float]:
    """One step of gradient descent, ``θ ← θ − η ∂L/∂θ``."""
    return {k: p[k] - lr * grads[k] for k in PARAMS}


def descent(p0: dict[str, float], x, target: float, activation: str, lr: float, k: int):
    """The params after 0, 1, …, ``k`` gradient steps from ``p0`` (the walk's gradients)."""
    out = [dict(p0)]
    for _ in range(k):
        p = out[-1]
        out.append(gradient_step(p, gradients(walk(p, x, target, activation)[1]), lr))
    return out
