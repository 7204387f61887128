"""The backprop walk of the 2-2-1 network: every weight's gradient equals ``jax.grad`` of the
same loss, the walk goes output to input one local derivative at a time, and a gradient step
lowers the loss."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optlab.config.deepnets import BP_STEPS
from optlab.nets import tiny
from optlab.nets.mlp import ACTIVATIONS


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_walk_equals_jax_grad(activation, seed):
    p, x, t = tiny.init_tiny(seed), (0.7, -1.3), 0.4
    values, steps = tiny.walk(p, x, t, activation)
    walked = tiny.gradients(steps)
    reference = tiny.jax_gradients(p, x, t, activation)
    assert set(walked) == set(tiny.PARAMS)
    for k in tiny.PARAMS:
        assert walked[k] == pytest.approx(reference[k], rel=1e-5, abs=1e-7), k
    assert values["L"] == pytest.approx((values["y"] - t) ** 2)


def test_each_step_is_upstream_times_local_in_backward_order():
    p, x, t = tiny.init_tiny(0), (1.0, -0.5), 0.8
    values, steps = tiny.walk(p, x, t, "sigmoid")
    assert len(steps) == BP_STEPS
    known = {"L": 1.0}
    for s in steps:
        assert s.upstream_of in known  # a step only uses gradients already found
        assert s.upstream == known[s.upstream_of]
        assert s.value == pytest.approx(s.upstream * s.local)
        known[s.target] = s.value
    first = steps[0]
    assert first.target == "y"
    assert first.local == pytest.approx(2 * (values["y"] - t))
    z1 = next(s for s in steps if s.target == "z1")
    assert z1.local == pytest.approx(values["h1"] * (1 - values["h1"]), rel=1e-5)  # σ' = σ(1-σ)
    w12 = next(s for s in steps if s.target == "w12")
    assert w12.edge == ("x2", "h1")
    assert w12.local == x[1]
    assert w12.param
    assert "∂L/∂w₁₂ = ∂L/∂z₁ · ∂z₁/∂w₁₂ = x₂" in w12.formula()


def test_gradient_steps_lower_the_loss():
    p0, x, t = tiny.init_tiny(0), (1.0, -0.5), 0.8
    path = tiny.descent(p0, x, t, "tanh", 0.1, 5)
    losses = [tiny.forward(p, x, t, "tanh")["L"] for p in path]
    assert len(path) == 6
    assert path[0] == p0
    assert all(b < a for a, b in itertools.pairwise(losses))
    g = tiny.jax_gradients(p0, x, t, "tanh")
    np.testing.assert_allclose([path[1][k] for k in tiny.PARAMS],
                               [p0[k] - 0.1 * g[k] for k in tiny.PARAMS], rtol=1e-5)  # fmt: skip
