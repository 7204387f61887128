"""Property-based robustness: random, extreme configurations never raise and always return
finite trajectories, or ones marked diverged at a step."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optlab.core.engine import OptimizerRun, Settings, run
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.schedules import SCHEDULES
from surfaces import SURFACES

STEPS = 20  # one compiled bucket (25) per surface


def _hparam_values(draw, spec):
    values = {}
    for h in spec.hparams:
        if h.kind == "bool":
            values[h.name] = float(draw(st.booleans()))
        else:  # the ends of the range are the extreme cases; anything outside is clipped
            values[h.name] = draw(
                st.one_of(
                    st.sampled_from([h.low, h.high, h.default]),
                    st.floats(h.low * 0.1 if h.low > 0 else -1.0, h.high * 10.0),
                )
            )
    return values


@st.composite
def configurations(draw, surface):
    runs = [OptimizerRun(name, _hparam_values(draw, spec)) for name, spec in OPTIMIZERS.items()]
    schedule = draw(st.sampled_from(list(SCHEDULES)))
    params = {p.name: draw(st.floats(p.low, p.high)) for p in SCHEDULES[schedule].params}
    (x0, x1), (y0, y1) = surface.bounds
    span = max(x1 - x0, y1 - y0)
    start = (
        draw(st.floats(x0 - span, x1 + span)),
        draw(st.floats(y0 - span, y1 + span)),
    )
    config = Settings(
        steps=draw(st.integers(1, STEPS)),
        schedule=schedule,
        schedule_params=params,
        clip_norm=draw(st.sampled_from([math.inf, 1e-3, 1.0, 1e3])),
        clip_value=draw(st.sampled_from([math.inf, 1e-2, 10.0])),
        l2=draw(st.sampled_from([0.0, 1e-3, 10.0])),
        weight_decay=draw(st.sampled_from([0.0, 0.1, 10.0])),
        grad_noise=draw(st.sampled_from([0.0, 1.0, 1e3])),
        seed=draw(st.integers(0, 2**31 - 1)),
    )
    theta = {p.name: draw(st.floats(p.low, p.high)) for p in surface.params}
    return runs, start, config, theta


@pytest.mark.parametrize("surface_name", list(SURFACES))
def test_random_configurations_never_break_the_engine(surface_name):
    surface = SURFACES[surface_name]

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(configurations(surface))
    def check(config):
        runs, start, settings_, theta = config
        trajs = run(surface, runs, start, settings_, theta=theta)
        assert len(trajs) == len(runs)
        for t in trajs:
            assert np.all(np.isfinite(t.params)), t.label
            assert np.all(np.isfinite(t.loss)), t.label
            assert len(t.params) == len(t.loss) == t.steps + 1
            if t.diverged_at is None:
                assert t.steps == settings_.steps
            else:
                assert 0 <= t.diverged_at < settings_.steps
                assert t.steps == t.diverged_at

    check()
