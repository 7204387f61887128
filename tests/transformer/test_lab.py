"""The Transformer page's compute layer (``optlab.transformer.lab`` / ``insight``) on a tiny run."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from optlab.config.transformer import TfConfig
from optlab.transformer import insight, lab
from optlab.transformer.corpus import CorpusError
from optlab.transformer.data import eval_batches, make_data
from optlab.transformer.model import flatten_params, init_params, loss_fn, param_count

SPEC = lab.TrainSpec(
    n_layer=1, d_model=16, n_head=2, ctx=16, runs=(("gd", 0.1), ("adam", 0.01)),
    steps=6, chunk=3, batch_size=4,
)  # fmt: skip


@pytest.fixture(scope="module")
def result() -> lab.Result:
    return lab.train_all(SPEC)


def test_page_defaults_are_the_spec_defaults():
    assert TfConfig().train_spec() == lab.TrainSpec()
    assert len(lab.TrainSpec().runs) == 4


def test_spec_builds_runs_and_loop_settings():
    spec = lab.TrainSpec(clip_norm=1.0, l2=0.01, schedule="cosine")
    runs = lab.optimizer_runs(spec)
    assert [r.label for r in runs] == ["GD", "Momentum", "RMSProp", "Adam"]
    assert all(r.clip_norm == 1.0 and r.l2 == 0.01 and r.weight_decay == 0.0 for r in runs)
    assert runs[3].hparams == {"learning_rate": 0.003}
    tcfg = lab.train_config(spec)
    assert not tcfg.keep_snapshots  # lab.Training keeps its own, bounded set
    assert (tcfg.steps, tcfg.chunk, tcfg.batch_size) == (1000, 50, 32)


def test_count_params_matches_the_initialised_model():
    c = lab.corpus("addition")
    cfg = lab.model_config(SPEC, c.tokenizer.vocab_size)
    assert lab.count_params(cfg) == param_count(init_params(jax.random.key(0), cfg))


def test_bad_pasted_text_raises_a_user_message():
    with pytest.raises(CorpusError, match="too short"):
        lab.corpus("pasted", "hello")
    assert lab.corpus("pasted", "abc " * 100).name == "pasted"


def test_result_summary_and_gap(result):
    assert result.done
    assert result.labels == ["GD", "Adam"]
    rows = lab.summary_rows(result)
    for row in rows:
        train = float(np.mean(result.report.metrics[row["optimizer"]]["loss"][-SPEC.chunk :]))
        assert row["train loss"] == pytest.approx(train)
        assert row["gap (val − train)"] == pytest.approx(row["val loss"] - row["train loss"])
        assert row["diverged at"] is None
    gaps = lab.gap_series(result)
    steps, train, val = gaps["Adam"]
    assert steps.tolist() == [3, 6]
    assert train[0] == pytest.approx(result.report.metrics["Adam"]["loss"][:3].mean())
    np.testing.assert_allclose(val, result.report.val_loss["Adam"][1:])


def test_checkpoints_and_params_at(result):
    idx = insight.checkpoints(result)
    assert idx[0] == 0
    assert idx[-1] == len(result.snap_steps) - 1
    p0 = insight.params_at(result, "GD", 0)
    init = init_params(jax.random.key(SPEC.seed), result.cfg)
    np.testing.assert_allclose(p0["wte"], init["wte"])
    last = insight.params_at(result, "Adam", idx[-1])
    np.testing.assert_allclose(last["wte"], result.report.params["Adam"]["wte"])


def test_samples_are_deterministic_text_per_checkpoint(result):
    kw = {"temperature": 0.8, "top_k": 3, "n_chars": 20}
    a = insight.samples(result, "Adam", "1", **kw)
    assert [s for s, _ in a] == [int(result.snap_steps[i]) for i in insight.checkpoints(result)]
    # addition is a line corpus: 4 lines per checkpoint, each within the window with "1"
    assert all(len(texts) == 4 for _, texts in a)
    assert all(isinstance(t, str) and len("1" + t) <= SPEC.ctx for _, ts in a for t in ts)
    assert all("\n" not in t for _, ts in a for t in ts)
    assert a == insight.samples(result, "Adam", "1", **kw)


def test_addition_scores(result):
    scores = insight.addition_scores(result, n=10)
    for acc, items in scores.values():
        assert 0.0 <= acc <= 1.0
        assert len(items) == 10
        prompt, answer, _ = items[0]
        a, b = prompt.rstrip("=").split("+")
        assert answer == str(int(a) + int(b))


def test_teacher_free_attention_and_pipeline(result):
    text = insight.sample_text(result)
    assert 0 < len(text) <= result.cfg.ctx
    assert text.endswith("\n")
    labels, tvf = insight.teacher_free(result, "Adam", text, 2)
    assert len(labels) == len(tvf.teacher_ids) == len(tvf.free_ids) == len(text) - 1
    labels, maps = insight.attention(result, "GD", "12+34=46")
    assert labels[0] == "<bos>"
    assert len(maps) == SPEC.n_layer
    np.testing.assert_allclose(maps[0].sum(-1), 1.0, atol=1e-5)
    p = insight.text_pipeline(
        result.report.params["GD"], result.cfg, result.corpus.tokenizer, "1+1"
    )
    assert p.labels == ["<bos>", "1", "+", "1"]
    np.testing.assert_allclose(p.token_emb, np.asarray(result.report.params["GD"]["wte"])[p.ids])
    assert (np.diff(p.top_probs, axis=1) <= 0).all()
    assert (p.top_probs.sum(1) <= 1 + 1e-6).all()


@pytest.mark.parametrize("method", ["pca", "random"])
def test_landscape_slice_centre_is_the_final_weights(result, method):
    seen = []
    land = insight.landscape_slice(result, "Adam", method, n=5, block=2, progress=seen.append)
    assert land.Z.shape == (5, 5)
    assert np.isfinite(land.Z).all()
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    assert len(seen) == 3
    # The last snapshot is the centre: it projects onto (0, 0), where the map agrees with it.
    np.testing.assert_allclose(land.paths["Adam"][-1], 0.0, atol=1e-4)
    assert land.Z[2, 2] == pytest.approx(land.path_loss["Adam"][-1], rel=1e-4)
    data = make_data(result.corpus.val_ids, result.cfg.ctx, result.corpus.line_starts("val"))
    seq = eval_batches(data, jax.random.key(SPEC.seed + 2), batch_size=4, ctx=16, n_batches=1)
    direct = float(loss_fn(result.report.params["Adam"], seq[0], result.cfg))
    assert land.Z[2, 2] == pytest.approx(direct, rel=1e-4)
    if method == "random":
        assert land.explained is None
        assert land.alphas[-1] >= 1.0
    else:
        assert 0 < land.explained[1] <= land.explained[0] <= 1


def test_timing_rows_with_progress(monkeypatch):
    monkeypatch.setattr(lab, "CTX_SWEEP", (8, 16))
    monkeypatch.setattr(lab, "WIDTH_SWEEP", (8,))
    seen = []
    rows = lab.timing_rows(12, batch_size=2, n_steps=1, progress=seen.append)
    assert [r["sweep"] for r in rows] == ["ctx", "ctx", "params"]
    assert [r["ctx"] for r in rows] == [8, 16, 32]
    assert rows[2]["d_model"] == 8
    assert all(r["ms_per_step"] > 0 and math.isfinite(r["ms_per_step"]) for r in rows)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_snapshots_are_thinned_and_bounded():
    spec = lab.TrainSpec(steps=2000, chunk=10)  # 200 rounds
    rounds = lab.snapshot_rounds(spec, 100_000)
    assert len(rounds) == lab.MAX_SNAPSHOTS
    assert {0, 200} <= rounds
    big = lab.snapshot_rounds(lab.TrainSpec(steps=2000, chunk=10, runs=lab.DEFAULT_RUNS * 2), 10**6)
    assert len(big) == 3  # the floor a PCA plane needs, however large the model
    assert lab.snapshot_rounds(lab.TrainSpec(steps=100, chunk=50), 10) == {0, 1, 2}


def test_training_keeps_snapshots_from_the_initial_weights(result):
    np.testing.assert_array_equal(result.snap_steps, [0, 3, 6])
    for name in result.labels:
        assert result.snapshots[name].shape == (3, param_count(result.report.params[name]))
    np.testing.assert_allclose(result.snapshots["GD"][0], result.snapshots["Adam"][0])
    np.testing.assert_allclose(result.snapshots["Adam"][-1],
                               flatten_params(result.report.params["Adam"]))  # fmt: skip
