"""The tiny-transformer lab: model, training loop, sampling, landscape (the tokenizer and the
corpora are in ``test_transformer_text``).

Every test runs with ``jax_numpy_rank_promotion="raise"`` and tiny configs (the whole file is
meant to take well under a minute on two busy cores): most tests share one config so that they
share compiles.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab.core.optimizers import OPTIMIZERS
from optlab.transformer import generate as gen
from optlab.transformer import landscape, timing
from optlab.transformer.corpus import (
    Corpus,
)
from optlab.transformer.data import batch_key, make_data, sample_batch
from optlab.transformer.model import (
    ModelConfig,
    flatten_params,
    forward,
    init_params,
    loss_fn,
    param_count,
)
from optlab.transformer.tokenizer import BOS, CharTokenizer
from optlab.transformer.train import (
    Contestant,
    TrainConfig,
    Trainer,
    eval_loss,
    train,
    train_chunks,
)

ALPHABET = "abcdefghij .\n"
TOK = CharTokenizer.from_text(ALPHABET)
CFG = ModelConfig(vocab_size=TOK.vocab_size, n_layer=2, d_model=16, n_head=2, ctx=16)
TCFG = TrainConfig(steps=6, chunk=3, batch_size=4, eval_batches=2)
TCFG_SNAP = TrainConfig(steps=6, chunk=3, batch_size=4, eval_batches=2, keep_snapshots=True)
TEXT = "abc def ghij.\nhij gfe dcba.\naaa bbb ccc.\njihg fedc ba.\nab cd ef gh ij.\n"

# Jitted once here and called with the same shapes throughout, so tests share compiles. Every
# training run uses CFG, batch size 4 and chunks of 3 steps: one compile per optimizer.
fwd = jax.jit(forward, static_argnames=("cfg", "train", "return_attention"))
loss_jit = jax.jit(loss_fn, static_argnames=("cfg", "train"))
sample_jit = jax.jit(sample_batch, static_argnames=("batch_size", "ctx"))


@pytest.fixture(autouse=True)
def _strict_rank_promotion():
    with jax.numpy_rank_promotion("raise"):
        yield


@pytest.fixture(scope="module")
def params():
    return init_params(jax.random.key(0), CFG)


def _corpus(train_text: str = TEXT, val_text: str = TEXT[:30]) -> Corpus:
    return Corpus("test", train_text, val_text, TOK)


def _random_seq(key, batch: int = 4, length: int = CFG.ctx + 1) -> jax.Array:
    return jax.random.randint(key, (batch, length), 4, CFG.vocab_size, jnp.int32)


# ---------------------------------------------------------------------------------------------
# model


def test_causality(params):
    seq = _random_seq(jax.random.key(1), 4, CFG.ctx)
    changed = seq.at[:, 9].set((seq[:, 9] + 1 - 4) % (CFG.vocab_size - 4) + 4)
    a, b = fwd(params, seq, CFG), fwd(params, changed, CFG)
    np.testing.assert_array_equal(a[:, :9], b[:, :9])
    assert not np.allclose(a[:, 9:], b[:, 9:])


def test_initial_loss_is_log_vocab(params):
    loss = float(loss_jit(params, _random_seq(jax.random.key(2)), CFG))
    assert abs(loss - math.log(CFG.vocab_size)) < 0.3


def test_attention_weights_are_causal_distributions(params):
    ids = TOK.encode("abc de", bos=True)
    maps = gen.attention_maps(params, CFG, ids)
    assert len(maps) == CFG.n_layer
    for att in maps:
        assert att.shape == (CFG.n_head, 7, 7)
        assert att.dtype == np.float32
        np.testing.assert_allclose(att.sum(-1), 1.0, rtol=1e-5)
        assert np.abs(np.triu(att, 1)).max() == 0.0
    logits = fwd(params, _random_seq(jax.random.key(3), 4, CFG.ctx), CFG)
    assert logits.shape == (4, CFG.ctx, CFG.vocab_size)


def test_dropout_only_in_training_and_keyed(params):
    cfg = dataclasses.replace(CFG, n_layer=1, dropout=0.5)
    params = {**params, "blocks": params["blocks"][:1]}  # CFG's first layer

    @jax.jit
    def both(p, seq, key):
        return forward(p, seq, cfg, key=key, train=True), forward(p, seq, cfg, key=key)

    p = params
    seq = _random_seq(jax.random.key(4), 4, CFG.ctx)
    train_a, eval_a = both(p, seq, jax.random.key(5))
    train_b, _ = both(p, seq, jax.random.key(5))
    train_c, eval_c = both(p, seq, jax.random.key(6))
    np.testing.assert_array_equal(train_a, train_b)
    np.testing.assert_array_equal(eval_a, eval_c)
    assert not np.allclose(train_a, eval_a)
    assert not np.allclose(train_a, train_c)


def test_gradients_match_central_differences(params):
    """``jax.grad`` against central differences, in float64, at random coordinates."""
    seq = np.asarray(_random_seq(jax.random.key(8), 2, 9))
    with jax.enable_x64(True):
        # float64, with the matrices scaled up so that the loss is far from flat.
        p64 = jax.tree.map(
            lambda x: np.asarray(x, np.float64) * (10.0 if x.ndim == 2 else 1.0), params
        )
        value_and_grad = jax.jit(jax.value_and_grad(lambda p: loss_fn(p, seq, CFG)))
        grads = jax.tree.leaves(value_and_grad(p64)[1])
        with_path, treedef = jax.tree_util.tree_flatten_with_path(p64)
        names = [jax.tree_util.keystr(path) for path, _ in with_path]
        leaves = [leaf for _, leaf in with_path]

        def loss_with(i, index, delta):
            moved = [x.copy() if j == i else x for j, x in enumerate(leaves)]
            moved[i][index] += delta
            return float(value_and_grad(treedef.unflatten(moved))[0])

        rng = np.random.default_rng(0)
        eps = 1e-6
        picked = [
            "['wte']",
            "['attn']['qkv']['w']",
            "['mlp']['fc']['b']",
            "['ln1']['scale']",
            "['head']['w']",
        ]
        for pattern in picked:
            i = next(j for j, n in enumerate(names) if n.endswith(pattern))
            g = np.asarray(grads[i])
            assert np.abs(g).max() > 1e-4, names[i]
            for _ in range(3):
                index = tuple(int(rng.integers(n)) for n in leaves[i].shape)
                fd = (loss_with(i, index, eps) - loss_with(i, index, -eps)) / (2 * eps)
                assert abs(fd - g[index]) < 1e-8 + 1e-6 * abs(fd), (names[i], index, fd, g[index])


def test_param_count(params):
    D, V, F, C = CFG.d_model, CFG.vocab_size, 4 * CFG.d_model, CFG.ctx
    block = 2 * 2 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * F + F) + (F * D + D)
    assert param_count(params) == V * D + C * D + CFG.n_layer * block + 2 * D + D * V


# ---------------------------------------------------------------------------------------------
# data and training


def test_batches_depend_only_on_the_data_seed():
    data = make_data(TOK.encode(TEXT), CFG.ctx)
    a = sample_jit(data, batch_key(0, 5), batch_size=4, ctx=CFG.ctx)
    b = sample_jit(data, batch_key(0, 5), batch_size=4, ctx=CFG.ctx)
    c = sample_jit(data, batch_key(0, 6), batch_size=4, ctx=CFG.ctx)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (4, CFG.ctx + 1)
    assert (a[:, 0] == BOS).all()
    text = TOK.decode(a[0])
    assert text in TEXT


def test_short_split_pads_and_the_loss_ignores_padding(params):
    data = make_data(TOK.encode("abc"), CFG.ctx)
    seq = sample_jit(data, batch_key(0, 0), batch_size=4, ctx=CFG.ctx)
    assert TOK.decode(seq[0], keep_special=True).startswith("<bos>abc<pad>")
    logp = jax.nn.log_softmax(fwd(params, seq[:, :-1], CFG), axis=-1)
    expected = -np.mean([logp[0, i, seq[0, i + 1]] for i in range(3)])  # only real targets
    np.testing.assert_allclose(loss_jit(params, seq, CFG), expected, rtol=1e-5)


def test_optimizers_start_from_the_same_init_on_the_same_batches():
    runs = [
        Contestant("gd", "gd", {"learning_rate": 0.1}),
        Contestant("adam", "adam", {"learning_rate": 1e-2}),
        Contestant("gd_frozen", "gd", {"learning_rate": 0.0}),
        Contestant("adam_frozen", "adam", {"learning_rate": 0.0}),
    ]
    report = train(_corpus(), CFG, runs, TCFG)
    first = {lab: m["loss"][0] for lab, m in report.metrics.items()}
    assert len(set(first.values())) == 1, first  # same init, same first batch
    frozen = report.metrics["gd_frozen"]["loss"]  # params never move: the loss shows the batch
    np.testing.assert_array_equal(frozen, report.metrics["adam_frozen"]["loss"])
    assert len(set(frozen.tolist())) == TCFG.steps  # and the batches do change
    assert not np.array_equal(report.metrics["gd"]["loss"], frozen)


def test_every_optimizer_updates_transformer_params(params):
    """Each registry optimizer (but Newton) on the nested params dict, lr as a traced array."""
    # The transformer's pytree kinds (nested dicts, a list, 1-D and 2-D leaves), few leaves.
    params = {"wte": params["wte"], "blocks": [{"ln1": params["blocks"][0]["ln1"]}]}
    specs = [s for s in OPTIMIZERS.values() if not s.needs_hessian]
    grads = jax.tree.map(lambda x: jnp.full_like(x, 0.01), params)

    @jax.jit
    def steps(params, lrs):
        out = {}
        for spec, lr in zip(specs, lrs, strict=True):
            hp = {**{k: jnp.float32(v) for k, v in spec.defaults().items()}, "learning_rate": lr}
            tx = spec.factory(**hp)
            updates, _ = tx.update(grads, tx.init(params), params)
            out[spec.name] = jax.tree.map(lambda p, u: p + u, params, updates)
        return out

    new = steps(params, jnp.full(len(specs), 1e-3, jnp.float32))
    for spec in specs:
        moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), new[spec.name], params)
        assert all(jax.tree.leaves(moved)), spec.name
        assert all(bool(jnp.isfinite(x).all()) for x in jax.tree.leaves(new[spec.name]))


def test_same_optimizer_same_hparams_is_reproducible():
    lr = 1e-3
    runs = [Contestant("a", "adam", {"learning_rate": lr}),
            Contestant("b", "adam", {"learning_rate": lr}), Contestant("c", "gd")]  # fmt: skip
    r1 = train(_corpus(), CFG, runs, TCFG)
    r2 = train(_corpus(), CFG, runs[:1], TCFG)
    # Within one program, equal runs are equal to the bit; alone (a batch of one run instead of
    # three in the vmapped gradient) XLA may sum in another order: equal to float32 rounding.
    for key in ("loss", "grad_norm"):
        np.testing.assert_array_equal(r1.metrics["a"][key], r1.metrics["b"][key])
        np.testing.assert_allclose(r1.metrics["a"][key], r2.metrics["a"][key], rtol=1e-5)
    jax.tree.map(np.testing.assert_array_equal, r1.params["a"], r1.params["b"])
    # Adam turns rounding noise on a near-zero gradient into a step of up to ~lr (|m̂/√v̂| ≤ 1.02
    # in the first 6 steps with β₁ = 0.9, β₂ = 0.999, by Cauchy-Schwarz): two runs whose signs
    # part can drift apart by at most 2 · steps · 1.02 · lr.
    bound = 2 * TCFG.steps * 1.02 * lr
    jax.tree.map(partial(np.testing.assert_allclose, atol=bound), r1.params["a"], r2.params["a"])
    assert not np.array_equal(r1.metrics["a"]["loss"], r1.metrics["c"]["loss"])


def test_runs_cut_into_groups_stepped_side_by_side_train_as_in_one_group():
    """``workers`` only changes how the runs are grouped (and run at once), not what they
    compute: every run's losses and weights equal the one-group run's, to float32 rounding
    (a vmap over fewer runs may sum in another order; GD and momentum do not amplify it)."""
    runs = [Contestant("gd", "gd", {"learning_rate": 0.1}),
            Contestant("momentum", "momentum", {"learning_rate": 0.05}),
            Contestant("gd_slow", "gd", {"learning_rate": 0.01})]  # fmt: skip
    reports = {}
    for workers in (1, 2):
        trainer = Trainer(_corpus(), CFG, runs, TCFG, workers=workers)
        assert [len(g.runs) for g in trainer.groups] == {1: [3], 2: [2, 1]}[workers]
        reports[workers] = list(trainer.rounds())[-1]
    one, other = reports[1], reports[2]
    for run in runs:
        lab = run.label
        np.testing.assert_allclose(other.metrics[lab]["loss"], one.metrics[lab]["loss"],
                                   rtol=1e-5)  # fmt: skip
        np.testing.assert_allclose(other.val_loss[lab], one.val_loss[lab], rtol=1e-5)
        jax.tree.map(partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-6),
                     other.params[lab], one.params[lab])  # fmt: skip


def test_chunks_report_progress_metrics_and_validation():
    runs = [Contestant("adam", "adam", clip_norm=0.1, weight_decay=0.1, l2=0.01)]
    reports = list(train_chunks(_corpus(), CFG, runs, TCFG_SNAP))
    assert [r.step for r in reports] == [3, 6]
    assert reports[-1].done
    assert not reports[0].done
    last = reports[-1]
    m = last.metrics["adam"]
    assert m["loss"].shape == (6,)
    np.testing.assert_allclose(m["clipped_norm"], np.minimum(m["grad_norm"], 0.1), rtol=1e-4)
    layers = np.stack(list(m["layer_grad_norms"].values()))
    assert set(m["layer_grad_norms"]) == {"embed", "block_0", "block_1", "head"}
    np.testing.assert_allclose(np.sqrt((layers**2).sum(0)), m["grad_norm"], rtol=1e-4)
    assert list(last.val_steps) == [0, 3, 6]
    assert last.val_loss["adam"].shape == (3,)
    assert last.snapshots["adam"].shape == (3, param_count(last.params["adam"]))
    assert last.elapsed_s > 0
    assert last.eta_s == 0


def test_overfits_a_tiny_batch_with_adam():
    """A split shorter than the context gives the same window every step: memorise it."""
    corpus = _corpus(train_text="abc def ghij.", val_text="abc def ghij.")
    runs = [Contestant("adam", "adam", {"learning_rate": 3e-2})]
    report = train(corpus, CFG, runs, TrainConfig(steps=120, chunk=3, batch_size=4))
    assert report.metrics["adam"]["loss"][-1] < 0.05
    assert report.val_loss["adam"][-1] < 0.05


def test_changing_lr_or_schedule_does_not_recompile(compile_counter):
    runs = [Contestant("adam", "adam", {"learning_rate": 1e-3}, clip_norm=1.0)]
    train(_corpus(), CFG, runs, TCFG)
    before = compile_counter.count
    runs = [Contestant("adam", "adam", {"learning_rate": 2e-3}, clip_norm=0.5, l2=0.1)]
    mult = np.linspace(1.0, 0.0, TCFG.steps).astype(np.float32)
    report = train(_corpus(), CFG, runs, TCFG, lr_multipliers=mult)
    assert compile_counter.count == before
    np.testing.assert_allclose(report.metrics["adam"]["lr"], 2e-3 * mult, rtol=1e-6)


def test_training_rejects_bad_runs():
    with pytest.raises(ValueError, match="unique"):
        train(_corpus(), CFG, [Contestant("a", "gd"), Contestant("a", "adam")], TCFG)
    with pytest.raises(TypeError, match="no hyperparameter"):
        train(_corpus(), CFG, [Contestant("a", "gd", {"beta": 0.9})], TCFG)
    hessian = [n for n, s in OPTIMIZERS.items() if s.needs_hessian]
    if hessian:
        with pytest.raises(ValueError, match="Hessian"):
            train(_corpus(), CFG, [Contestant("n", hessian[0])], TCFG)


# ---------------------------------------------------------------------------------------------
# landscape and timing


def test_landscape_center_equals_loss_and_pca_is_orthonormal(params):
    report = train(_corpus(), CFG, [Contestant("adam", "adam")], TCFG_SNAP)
    final = report.params["adam"]
    seq = _random_seq(jax.random.key(9))
    d1, d2, explained = landscape.pca_directions(report.snapshots["adam"])
    np.testing.assert_allclose([d1 @ d1, d2 @ d2, d1 @ d2], [1.0, 1.0, 0.0], atol=1e-5)
    assert 0 < explained[1] <= explained[0] <= 1
    alphas = betas = np.linspace(-1.0, 1.0, 5)
    Z = landscape.loss_grid(final, d1, d2, seq, CFG, alphas=alphas, betas=betas)
    assert Z.shape == (5, 5)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z[2, 2], float(loss_jit(final, seq, CFG)), rtol=1e-5)
    center = flatten_params(final)
    coef = landscape.project(report.snapshots["adam"], center, d1, d2)
    assert coef.shape == (3, 2)
    np.testing.assert_allclose(coef[-1], 0.0, atol=1e-6)


def test_filter_normalized_directions(params):
    d1, d2 = landscape.filter_normalized_directions(params, seed=0)
    w, u = params["blocks"][0]["mlp"]["fc"]["w"], d1["blocks"][0]["mlp"]["fc"]["w"]
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), np.linalg.norm(w, axis=0), rtol=1e-4)
    w, u = params["wte"], d2["wte"]
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), np.linalg.norm(w, axis=1), rtol=1e-4)
    assert np.abs(d1["ln_f"]["scale"]).max() == 0.0
    flat, u1, u2 = flatten_params(params), flatten_params(d1), flatten_params(d2)
    coef = landscape.project((flat + 2.0 * u1 - 3.0 * u2)[None, :], flat, u1, u2)
    np.testing.assert_allclose(coef[0], [2.0, -3.0], rtol=1e-4)


def test_timing_rows():
    rows = timing.step_time_rows(ctxs=(16,), d_models=(16,), batch_size=4, n_steps=1, base=CFG)
    assert [r["sweep"] for r in rows] == ["ctx", "d_model"]  # CFG twice: one compile
    n_params = param_count(init_params(jax.random.key(0), CFG))
    assert rows[0]["params"] == rows[1]["params"] == n_params
    assert all(r["ms_per_step"] > 0 and r["compile_s"] > 0 for r in rows)


def test_eval_loss_matches_mean_of_batches(params):
    seqs = jnp.stack([_random_seq(jax.random.key(i)) for i in range(2)])  # as TCFG's val set
    expected = np.mean([float(loss_jit(params, s, CFG)) for s in seqs])
    np.testing.assert_allclose(float(eval_loss(params, seqs, CFG)), expected, rtol=1e-5)
