"""The Deep nets figures: the backprop graph highlights exactly the step being taken and shows
each gradient once found; the per-layer figures put one point per layer; non-finite numbers
(a diverged run) go in as gaps."""

from __future__ import annotations

import numpy as np

from optlab.nets import tiny
from optlab.viz import nets, nets_train

P, X, T = tiny.init_tiny(0), (1.0, -0.5), 0.8


def graph(shown: int) -> dict:
    values, steps = tiny.walk(P, X, T, "tanh")
    fig = nets.backprop_figure(P, values, steps, shown, T, tiny.PRETTY)
    return fig.to_plotly_json()


def red_lines(fig: dict) -> list:
    return [t for t in fig["data"] if t["mode"] == "lines" and t["line"]["color"] == nets.CURRENT]


def test_the_forward_pass_shows_values_and_no_gradient():
    fig = graph(0)
    texts = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert "y = " in texts
    assert "∂L/∂" not in texts
    assert red_lines(fig) == []


def test_each_step_highlights_its_edge_and_shows_its_gradient():
    _, steps = tiny.walk(P, X, T, "tanh")
    for shown, step in enumerate(steps, start=1):
        fig = graph(shown)
        texts = " ".join(a["text"] for a in fig["layout"]["annotations"])
        assert f"∂L/∂{tiny.PRETTY[step.target]} = {step.value:.3g}" in texts, step.target
        edge_steps = step.edge[0] != step.edge[1] and step.target not in nets.BIAS
        assert len(red_lines(fig)) == (1 if edge_steps else 0), step.target
        if not edge_steps:  # a node-local or bias step rings its node instead
            assert nets.CURRENT in fig["data"][-1]["marker"]["line"]["color"]


def test_layer_figures_have_one_point_per_layer_and_gaps_for_non_finite():
    g = np.array([1e-9, 1e-6, np.inf, 1e-2, 0.1])  # 4 hidden layers + the output layer
    fig = nets_train.layer_grad_figure(g, {"Adam": g * 2}, {"Adam": "#f00"}, 3).to_plotly_json()
    assert [len(t["x"]) for t in fig["data"]] == [5, 5]
    assert fig["data"][0]["y"][2] is None
    assert fig["layout"]["xaxis"]["ticktext"][-1] == "out"
    act = np.column_stack([np.zeros(4), np.geomspace(1, 1e-4, 4), np.linspace(0, 1, 4)])
    fig = nets_train.activation_figure(act, {}, {}, 0, "dead").to_plotly_json()
    assert len(fig["data"]) == 2
    assert fig["data"][1]["y"] == [0.0, 0.3333, 0.6667, 1.0]
