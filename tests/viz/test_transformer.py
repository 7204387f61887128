"""Figure builders of the Transformer page: traces, axes and JSON-safe numbers."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from optlab.viz import transformer as pt

COLORS = {"GD": "#1f77b4", "Adam": "#e377c2"}
RNG = np.random.default_rng(0)


def spec(fig: go.Figure) -> dict:
    """The figure as plotly.js receives it; non-finite numbers would be invalid JSON."""
    text = fig.to_json()
    assert "NaN" not in text
    assert "Infinity" not in text
    return json.loads(text)


def names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def test_loss_curves_train_and_val_side_by_side():
    train = {"GD": np.linspace(3, 2, 20), "Adam": np.linspace(3, 1, 20)}
    val = {"GD": np.array([3.0, 2.5, 2.1]), "Adam": np.array([3.0, 2.0, 1.2])}
    fig = pt.loss_curves_figure(train, np.array([0, 10, 20, 30]), val, COLORS, total_steps=100)
    assert names(fig) == ["GD", "Adam", "GD · val", "Adam · val"]
    assert fig.data[0].x[0] == 1
    assert len(fig.data[0].x) == 20  # step 1 … 20
    assert fig.data[2].xaxis == "x2"
    assert list(fig.data[2].x) == [0, 10, 20]  # val arrays may be shorter (live)
    assert fig.data[1].line.color == COLORS["Adam"]
    assert list(fig.layout.xaxis.range) == [0, 100]  # the whole budget, so live updates hold
    spec(fig)


def test_loss_curves_survive_a_diverged_run():
    train = {"GD": np.array([3.0, np.inf, np.nan])}
    fig = pt.loss_curves_figure(train, np.array([0, 3]), {"GD": np.array([3.0, np.nan])},
                                COLORS, 3)  # fmt: skip
    assert fig.data[0].y[1] is None
    spec(fig)


def test_layer_norms_one_panel_per_optimizer_log_y():
    groups = {g: RNG.uniform(0.1, 5, 30) for g in ("embed", "block_0", "head")}
    fig = pt.layer_norms_figure({"GD": groups, "Adam": groups})
    assert len(fig.data) == 6
    assert [t.showlegend for t in fig.data].count(True) == 3  # one legend entry per group
    assert {t.xaxis for t in fig.data} == {"x", "x2"}
    assert fig.layout.yaxis.type == "log"
    assert [a.text for a in fig.layout.annotations] == ["GD", "Adam"]
    spec(fig)


def test_clip_figure_raw_clipped_and_threshold():
    raw = {"GD": np.array([0.5, 3.0, 2.0])}
    clipped = {"GD": np.minimum(raw["GD"], 1.0)}
    fig = pt.clip_figure(raw, clipped, COLORS, 1.0)
    assert names(fig) == ["GD · raw", "GD · clipped"]
    assert fig.data[1].line.dash == "dash"
    assert fig.layout.yaxis.type == "log"
    assert any(s.y0 == 1.0 for s in fig.layout.shapes)
    no_clip = pt.clip_figure(raw, raw, COLORS, float("inf"))
    assert not no_clip.layout.shapes
    spec(no_clip)


def test_gap_and_accuracy():
    fig = pt.gap_figure({"GD": (np.array([10, 20]), np.array([2.0, 1.5]), np.array([2.1, 1.8]))},
                        COLORS)  # fmt: skip
    np.testing.assert_allclose(fig.data[0].y, [0.1, 0.3])
    acc = pt.accuracy_figure({"GD": 0.1, "Adam": 0.75}, COLORS)
    assert list(acc.data[0].y) == [10.0, 75.0]
    assert list(acc.data[0].text) == ["10.0 %", "75.0 %"]
    spec(acc)


def test_attention_heatmap_with_token_labels():
    labels = ["<bos>", "1", "+", "1"]
    att = np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None]
    fig = pt.attention_figure(att, labels, "Adam · layer 1 · head 1")
    hm = fig.data[0]
    assert list(hm.x) == ["0:<bos>", "1:1", "2:+", "3:1"]
    assert list(hm.y) == list(hm.x)
    assert hm.z[0][1] == 0  # causal: position 0 cannot see position 1
    assert (hm.zmin, hm.zmax) == (0, 1)
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.xaxis.dtick == 1  # every token gets its tick


def test_embedding_figure_adds_token_and_position():
    tok, pos = RNG.normal(size=(3, 8)), RNG.normal(size=(3, 8))
    fig = pt.embedding_figure(["<bos>", "a", "b"], tok, pos)
    assert len(fig.data) == 3
    np.testing.assert_allclose(fig.data[2].z, (tok + pos).round(4))
    assert [t.showscale for t in fig.data] == [False, False, True]
    assert fig.data[0].zmid == 0


def test_teacher_free_rows_and_colours():
    fig = pt.teacher_free_figure(["a", "b"], ["a", "x"], ["y", "b"], np.array([True, False]),
                                 np.array([False, True]))  # fmt: skip
    hm = fig.data[0]
    assert list(hm.y) == ["truth", "teacher forcing", "free generation"]
    assert [list(r) for r in hm.z] == [[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]
    assert [list(r) for r in hm.text] == [["a", "b"], ["a", "x"], ["y", "b"]]


def test_teacher_free_with_prompt_probabilities_and_the_divergence_boxed():
    fig = pt.teacher_free_figure(
        ["6", "8", "⏎"], ["6", "9", "⏎"], ["5", "1", ""], np.array([True, False, True]),
        np.array([False, False, False]), prompt=["2", "+", "="],
        teacher_p=np.array([0.9, 0.4, 1.0]), free_p=np.array([0.5, 0.3, 0.0]), divergence=0,
    )  # fmt: skip
    hm = fig.data[0]
    z = np.array(hm.z, dtype=float)
    assert z[0].tolist() == [0.25] * 3 + [0.5] * 3  # given (blue), then the truth (grey)
    assert np.isnan(z[1:, :3]).all()  # nothing predicted for the given characters
    assert z[1, 3:].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(z[2, 5])  # free generation stopped at the end of the line
    assert list(hm.text[1][3:]) == ["6<br>90%", "9<br>40%", "⏎<br>100%"]
    assert list(hm.text[2][3:]) == ["5<br>50%", "1<br>30%", ""]
    (box,) = fig.layout.shapes
    assert (box.x0, box.x1) == (2.5, 3.5)  # position 0 of the continuation, after 3 given
    assert fig.layout.annotations[0].text == "first divergence"


def test_samples_html_shows_the_prompt_apart_and_escapes_everything():
    out = pt.samples_html("<b>2", ["3+4=7", "<script>x</script>", ""])
    assert out.count('class="tf-sample"') == 3
    assert '<span class="tf-prompt">&lt;b&gt;2</span>' in out
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "ended the line at once" in out
    assert 'class="tf-prompt"' not in pt.samples_html("", ["abc"])


def test_landscape_contours_and_projected_paths():
    a = np.linspace(-1, 1, 5)
    Z = (a[None, :] ** 2 + a[:, None] ** 2) + 1.0
    Z[0, 0] = np.inf  # a blown-up corner must not break the figure
    paths = {"GD": np.array([[0.9, 0.9], [0.3, 0.2], [0.0, 0.0]])}
    fig = pt.landscape_figure(a, a, Z, paths, {"GD": np.array([3.0, 2.0, 1.0])}, COLORS,
                              ("PC1", "PC2"))  # fmt: skip
    contour, path = fig.data
    assert contour.type == "contour"
    assert contour.zmax < np.inf
    assert path.name == "GD"
    assert list(path.marker.symbol) == ["circle", "circle", "star"]
    assert list(path.customdata) == [3.0, 2.0, 1.0]  # the true loss, shown on hover
    assert fig.layout.xaxis.title.text == "PC1"
    spec(fig)


def test_quadratic_fit_recovers_coefficients():
    x = np.array([16.0, 32, 64, 128, 256])
    np.testing.assert_allclose(pt.quadratic_fit(x, 0.002 * x**2 + 0.1 * x + 1), [0.002, 0.1, 1.0],
                               rtol=1e-6)  # fmt: skip


def test_timing_figure_fit_line_and_params_panel():
    rows = [{"sweep": "ctx", "ctx": c, "d_model": 32, "params": 1000 + c,
             "ms_per_step": 0.001 * c * c + 1} for c in (16, 32, 64, 128)]  # fmt: skip
    rows += [{"sweep": "params", "ctx": 32, "d_model": d, "params": 100 * d * d,
              "ms_per_step": d / 10} for d in (16, 32)]  # fmt: skip
    fig = pt.timing_figure(rows)
    assert names(fig)[0] == "measured"
    assert names(fig)[1].startswith("fit 0.001·L²")
    assert names(fig)[2] == "by width"
    np.testing.assert_allclose(fig.data[1].y[-1], 0.001 * 128**2 + 1, rtol=1e-3)
    assert fig.layout.xaxis2.type == "log"
    spec(fig)


@pytest.mark.parametrize("n_rows", [1, 2])
def test_timing_figure_without_enough_points_has_no_fit(n_rows):
    rows = [{"sweep": "ctx", "ctx": 16 * (i + 1), "d_model": 32, "params": 1,
             "ms_per_step": 1.0} for i in range(n_rows)]  # fmt: skip
    assert names(pt.timing_figure(rows)) == ["measured"]
