"""The Deep nets page: its URL scheme (pure) and every control driven headless with AppTest.

The tours keep the networks tiny (a few layers of 8 units, 100 steps) so each new shape
compiles in a second or two; hyperparameter changes compile nothing.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config import deepnets as dn
from optlab.nets import tiny
from optlab.pages.deepnets import view
from tests.support.apptest import chart_spec, open_page

TIMEOUT = 180
EXAMPLE = ((1.0, -0.5), 0.8, "sigmoid")  # the backprop section's default example


def run_page(query: dict[str, str] | None = None) -> AppTest:
    return open_page("deepnets", query, TIMEOUT)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def spec(at: AppTest, key: str) -> dict:
    found = chart_spec(at, key)
    assert found is not None, f"chart {key} is missing"
    return found


def names(at: AppTest, key: str) -> list[str]:
    return [t.get("name") for t in spec(at, key)["data"]]


def text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.code]
    return "\n".join(parts + [str(m.value) for m in at.metric])


def infos(at: AppTest) -> str:
    return "\n".join(i.value for i in at.info)


# ---------------------------------------------------------------------------------------------
# The link scheme.


def test_defaults_make_an_empty_link_and_back():
    cfg, notices = dn.parse_deepnets_query({})
    assert (cfg, notices) == (dn.DeepNetsConfig(), [])
    assert dn.to_deepnets_query(cfg) == {}


def test_a_changed_config_round_trips():
    net = dn.with_optimizers(dn.DepthConfig(), ("momentum", "adam", "lion"))
    net = replace(
        net, depth=37, width=64, activation="gelu", init="he", norm="layer", residual=True,
        seed=5, steps=500, batch=32, schedule="cosine", clip=2.0, at=120,
        lrs=(("momentum", 0.02), ("adam", 0.001), ("lion", 0.0003)),
    )  # fmt: skip
    bp = dn.BackpropConfig(activation="relu", x1=-1.5, x2=0.3, target=-0.2, seed=9, lr=0.1,
                           walked=5, taken=3)  # fmt: skip
    of = dn.OverfitConfig(n=24, noise=0.5, width=64, depth=2, activation="relu",
                          optimizer="gd", lr=0.05, steps=500, wd="l2", lam=0.001,
                          dropout=0.3)  # fmt: skip
    cfg = dn.DeepNetsConfig(section="depth", bp=bp, net=net, of=of)
    query = dn.to_deepnets_query(cfg)
    assert dn.parse_deepnets_query(query) == (cfg, [])
    assert query["clip"] == "2"
    assert dn.parse_deepnets_query({**query, "clip": "off"})[0].net.clip == math.inf


BAD = [
    ({"section": "nope"}, "unknown value"),
    ({"depth": "51"}, "out of range"),
    ({"depth": "2.5"}, "not a whole number"),
    ({"width": "30"}, "rounded to 32"),
    ({"act": "swish"}, "unknown value"),
    ({"init": "zeros"}, "unknown value"),
    ({"opt": "newton"}, "no known optimizer"),
    ({"opt": "gd,adam,zzz"}, "unknown optimizer"),
    ({"adam.lr": "abc"}, "not a number"),
    ({"gd.b1": "0.9"}, "has no setting"),
    ({"momentum.lr": "0.1"}, "is not selected"),
    ({"batch": "7"}, "unknown value"),
    ({"clip": "-1"}, "out of range"),
    ({"at": "400"}, "out of range"),
    ({"bp.walk": "99"}, "out of range"),
    ({"bp.x1": "nan"}, "not a finite number"),
    ({"of.wd": "strong"}, "unknown value"),
    ({"of.drop": "0.9"}, "out of range"),
    ({"of.opt": "newton"}, "unknown value"),
    ({"what": "1"}, "unknown parameter"),
]


@pytest.mark.parametrize(("query", "why"), BAD)
def test_bad_link_values_fall_back_with_a_notice(query, why):
    cfg, notices = dn.parse_deepnets_query(query)
    assert len(notices) == 1, notices
    assert why in notices[0]
    if "rounded" not in why:  # everything else keeps its default
        assert cfg.net.depth == dn.DepthConfig().depth
        assert cfg.section == dn.DeepNetsConfig().section


def test_the_shells_keys_are_not_the_pages():
    parsed = dn.parse_deepnets_query({"present": "1", "hide": "network,clip"})
    assert parsed == (dn.DeepNetsConfig(), [])


# ---------------------------------------------------------------------------------------------
# The backprop walk.


def test_backprop_walk_buttons_and_a_gradient_step():
    at = run_page()
    assert spec(at, "dn.graph")
    assert "step 0 of 14" in text(at)
    ok(at.button(key="dn.bp.next").click().run())
    assert at.query_params["bp.walk"] == "1"
    assert "∂L/∂y = ∂L/∂L · ∂L/∂y = 2(y − t)" in text(at)
    ok(at.button(key="dn.bp.next").click().run())
    ok(at.button(key="dn.bp.back").click().run())
    assert at.query_params["bp.walk"] == "1"
    ok(at.button(key="dn.bp.all").click().run())
    assert "step 14 of 14" in text(at)
    table = at.dataframe[0].value
    walked, reference = table["∂L/∂θ by the walk"], table["∂L/∂θ by jax.grad"]
    assert walked.tolist() == pytest.approx(reference.tolist(), rel=1e-5, abs=1e-7)
    loss0 = tiny.forward(tiny.init_tiny(0), *EXAMPLE)["L"]
    assert f"{loss0:.4f}" in text(at)
    ok(at.button(key="dn.bp.step").click().run())
    assert at.query_params["bp.k"] == "1"
    assert "step 0 of 14" in text(at)  # the walk starts again at the new weights
    p1 = tiny.descent(tiny.init_tiny(0), *EXAMPLE, 0.5, 1)[1]
    loss1 = tiny.forward(p1, *EXAMPLE)["L"]
    assert loss1 < loss0
    assert f"{loss1:.4f}" in text(at)
    ok(at.button(key="dn.bp.undo").click().run())
    assert "bp.k" not in at.query_params
    ok(at.button(key="dn.bp.all").click().run())
    ok(at.button(key="dn.bp.reset").click().run())
    assert "step 0 of 14" in text(at)


def test_backprop_sidebar_controls():
    at = run_page({"bp.walk": "3", "bp.k": "2"})
    before = spec(at, "dn.graph")
    ok(at.select_slider(key="dn.bp.x1").set_value(-1.0).run())
    assert "bp.walk" not in at.query_params  # a new example starts the walk again
    assert "bp.k" not in at.query_params
    for key, value in [("dn.bp.x2", 0.5), ("dn.bp.t", -0.3), ("dn.bp.lr", 0.1)]:
        ok(at.select_slider(key=key).set_value(value).run())
    ok(at.selectbox(key="dn.bp.act").set_value("relu").run())
    ok(at.number_input(key="dn.bp.seed").set_value(4).run())
    assert at.query_params["bp.act"] == "relu"
    assert at.query_params["bp.seed"] == "4"
    assert at.query_params["bp.lr"] == "0.1"
    assert spec(at, "dn.graph") != before


# ---------------------------------------------------------------------------------------------
# Depth and gradient flow.

SMALL = {"section": "depth", "depth": "3", "width": "8", "steps": "100", "opt": "gd"}


def layer_count(at: AppTest) -> int:
    return len(spec(at, "dn.layers")["data"][0]["x"])


def test_depth_section_every_control():
    at = run_page(SMALL)
    assert layer_count(at) == 4  # 3 hidden layers + the output layer
    for key in ("dn.acts", "dn.loss", "dn.clipfig"):
        assert spec(at, key)
    ok(at.slider(key="dn.depth").set_value(5).run())
    assert layer_count(at) == 6
    ok(at.select_slider(key="dn.width").set_value(16).run())
    ok(at.selectbox(key="dn.act").set_value("relu").run())
    ok(at.selectbox(key="dn.init").set_value("he").run())
    ok(at.selectbox(key="dn.norm").set_value("batch").run())
    ok(at.toggle(key="dn.res").set_value(True).run())
    ok(at.number_input(key="dn.seed").set_value(2).run())
    ok(at.selectbox(key="dn.data").set_value("circles").run())
    loss = spec(at, "dn.loss")
    ok(at.select_slider(key="dn.gd.lr").set_value(0.1).run())
    assert spec(at, "dn.loss") != loss
    ok(at.multiselect(key="dn.opt").set_value(["gd", "momentum"]).run())
    assert len(names(at, "dn.loss")) == 4  # train + validation per optimizer
    ok(at.select_slider(key="dn.batch").set_value(32).run())
    ok(at.selectbox(key="dn.sched").set_value("cosine").run())
    ok(at.toggle(key="dn.clip.on").set_value(True).run())
    ok(at.select_slider(key="dn.clip").set_value(0.1).run())
    clipped = [t for t in spec(at, "dn.clipfig")["data"] if "clipped" in t["name"]]
    assert max(max(v for v in t["y"] if v is not None) for t in clipped) <= 0.1 * 1.001
    ok(at.slider(key="dn.at").set_value(0).run())
    assert at.query_params["at"] == "0"
    ok(at.select_slider(key="dn.steps").set_value(200).run())
    q = at.query_params
    got = [q[k] for k in ("depth", "width", "act", "init", "norm", "res", "opt", "batch",
                          "sched", "clip", "steps")]  # fmt: skip
    assert got == ["5", "16", "relu", "he", "batch", "1", "gd,momentum", "32", "cosine", "0.1",
                   "200"]  # fmt: skip
    assert "at" not in q  # a new run length shows its last step
    assert "What to notice" in text(at)
    ok(at.multiselect(key="dn.opt").set_value([]).run())
    assert "No optimizer selected" in infos(at)


def test_a_vanishing_link_says_so():
    at = run_page({**SMALL, "depth": "20", "act": "sigmoid"})
    assert "It **vanishes**" in text(at)
    g = spec(at, "dn.layers")["data"][0]["y"]
    assert g[0] < 1e-6 * g[-2]


def test_bad_link_values_show_a_notice_and_the_page_still_draws():
    at = run_page({**SMALL, "depth": "500", "act": "swish", "bogus": "1"})
    warning = "\n".join(w.value for w in at.warning)
    assert "`depth=500`" in warning
    assert "`act=swish`" in warning
    assert "`bogus=1`" in warning
    assert layer_count(at) == dn.DepthConfig().depth + 1


def test_hidden_groups_are_not_drawn():
    at = run_page({**SMALL, "hide": "network,clip"})
    keys = {w.key for w in at.slider} | {w.key for w in at.toggle}
    assert "dn.depth" not in keys
    assert "dn.clip.on" not in keys
    assert "dn.steps" in {w.key for w in at.select_slider}
    assert layer_count(at) == 4  # the link's values still apply


# ---------------------------------------------------------------------------------------------
# Overfitting and regularisation.


def test_overfit_section_every_control():
    at = run_page({"section": "overfit", "of.steps": "200", "of.width": "16"})
    assert dn.PLAIN in names(at, "dn.fit")
    assert dn.REGULARISED in names(at, "dn.fit")
    assert len(at.metric) == 2
    ok(at.selectbox(key="dn.of.wd").set_value("off").run())
    assert dn.REGULARISED not in names(at, "dn.fit")
    assert "Regularisation is off" in infos(at)
    ok(at.select_slider(key="dn.of.drop").set_value(0.2).run())
    assert dn.REGULARISED in names(at, "dn.fit")
    ok(at.selectbox(key="dn.of.wd").set_value("l2").run())
    ok(at.select_slider(key="dn.of.lam").set_value(0.01).run())
    for key, value in [("dn.of.n", 16), ("dn.of.noise", 0.1), ("dn.of.width", 32),
                       ("dn.of.steps", 500)]:  # fmt: skip
        ok(at.select_slider(key=key).set_value(value).run())
    ok(at.slider(key="dn.of.depth").set_value(2).run())
    ok(at.selectbox(key="dn.of.act").set_value("relu").run())
    ok(at.selectbox(key="dn.of.opt").set_value("momentum").run())
    ok(at.select_slider(key="dn.of.momentum.lr").set_value(0.05).run())
    q = at.query_params
    got = [q[k] for k in ("of.wd", "of.lam", "of.drop", "of.n", "of.opt", "of.lr")]
    assert got == ["l2", "0.01", "0.2", "16", "momentum", "0.05"]
    points = next(t for t in spec(at, "dn.fit")["data"] if t["name"] == "training points")
    assert len(points["x"]) == 16
    assert spec(at, "dn.ofloss")


# ---------------------------------------------------------------------------------------------
# Projector mode.


@pytest.mark.parametrize(
    ("query", "labels", "chart"),
    [
        ({}, ["How backprop works"], "dn.graph"),
        ({**SMALL, "section": "depth"}, ["About this network", "What to notice"], "dn.layers"),
        ({"section": "overfit", "of.steps": "200", "of.width": "16"},
         ["About this experiment", "What to notice"], "dn.fit"),
    ],
)  # fmt: skip
def test_projector_mode_folds_the_words_and_sizes_the_charts(query, labels, chart):
    """``present=1``: each section's explanations sit in collapsed expanders and its main
    chart takes the projector's height; without it the page is as it was (no expanders)."""
    shown = run_page({**query, "present": "1"})
    assert [e.label for e in shown.main.expander] == labels
    assert chart_spec(shown, chart)["layout"]["height"] == view.PRESENT_HEIGHTS[chart[3:]]
    plain = run_page(query)
    assert not plain.main.expander
    assert chart_spec(plain, chart)["layout"]["height"] != view.PRESENT_HEIGHTS[chart[3:]]
