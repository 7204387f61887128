"""Generation: sampling, the sliding window (``<bos>`` kept in front), line-by-line generation
in a fresh window, and teacher forcing beside free generation, against plain loops."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab.transformer import generate as gen
from optlab.transformer.model import init_params
from optlab.transformer.tokenizer import BOS, EOS, UNK
from tests.transformer.test_model import CFG, TOK, fwd


@pytest.fixture(scope="module")
def params():
    return init_params(jax.random.key(0), CFG)


def test_sample_logits_top_k_and_greedy():
    logits = jax.random.normal(jax.random.key(0), (8, 20))
    keys = jax.random.split(jax.random.key(1), 200)
    draw = jax.jit(jax.vmap(gen.sample_logits, in_axes=(None, 0, None, None)))
    for k in (1, 3):
        samples = np.asarray(draw(logits, keys, jnp.float32(2.0), jnp.int32(k)))
        top = np.argsort(-np.asarray(logits), axis=-1)[:, :k]
        assert all(np.isin(samples[:, b], top[b]).all() for b in range(8))
        assert len(np.unique(samples)) > (1 if k == 1 else 8)
    greedy = np.asarray(draw(logits, keys[:2], jnp.float32(0.0), jnp.int32(0)))
    np.testing.assert_array_equal(greedy[0], np.argmax(logits, axis=-1))
    free = np.asarray(draw(logits, keys, jnp.float32(1.0), jnp.int32(0)))
    assert len(np.unique(free[:, 0])) > 3


def test_generation_is_deterministic_and_top1_is_greedy(params):
    prompts = [TOK.encode("ab", bos=True), TOK.encode("", bos=True)]
    k = jax.random.key(3)
    a = gen.generate_ids(params, CFG, prompts, 16, key=k, temperature=1.0, top_k=5)
    b = gen.generate_ids(params, CFG, prompts, 16, key=k, temperature=1.0, top_k=5)
    c = gen.generate_ids(params, CFG, prompts, 16, key=jax.random.key(4), temperature=1.0)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 16)
    assert not np.array_equal(a, c)
    assert (a != BOS).all()
    assert (a != UNK).all()
    top1 = gen.generate_ids(params, CFG, prompts, 16, key=k, temperature=1.0, top_k=1)
    greedy = gen.generate_ids(params, CFG, prompts, 16, key=k, temperature=0.0)
    np.testing.assert_array_equal(top1, greedy)
    text = gen.generate(params, CFG, TOK, "ab", 16, seed=3, temperature=0.0)
    assert text == TOK.decode(greedy[0])


def _greedy_loop(params, prompt, n, window_of):
    """Greedy continuation by a plain loop: one forward pass per token on ``window_of(seq)``."""
    seq = list(prompt)
    for _ in range(n):
        window = window_of(seq)
        buf = np.zeros((4, CFG.ctx), np.int32)
        buf[:, : len(window)] = window
        logits = np.array(fwd(params, jnp.asarray(buf), CFG)[0, len(window) - 1])
        logits[[0, 1, 3]] = -np.inf  # <pad>, <bos>, <unk> are never sampled
        seq.append(int(np.argmax(logits)))
    return seq[len(prompt) :]


def _sharp(params):
    """Init params with large embeddings and positions: outputs that depend on the window."""
    return {**params, "wte": 40 * params["wte"], "wpe": 40 * params["wpe"],
            "head": {"w": 40 * params["head"]["w"]}}  # fmt: skip


def test_greedy_generation_matches_a_python_loop(params):
    """The jitted scan with its sliding buffer against argmax, one forward pass per token: past
    the context the window slides with ``<bos>`` kept in front, as in every training window."""
    p = _sharp(params)
    prompt = TOK.encode("abc de", bos=True)
    out = gen.generate_ids(p, CFG, [prompt], 32, key=jax.random.key(0), temperature=0.0)
    pinned = _greedy_loop(p, prompt, 32, lambda s: [BOS, *s[1:][-(CFG.ctx - 1) :]])
    np.testing.assert_array_equal(out[0], pinned)


def test_line_generation_uses_a_fresh_window_and_stops_at_the_line_end(params):
    """Line mode: the same greedy loop, but it never slides: it stops after the newline (or
    <eos>) or once <bos> + prompt + continuation fill a training window (ctx + 1 tokens)."""
    p = _sharp(params)
    nl = gen.line_id(TOK)
    prompts = [TOK.encode(t, bos=True) for t in ("abc de", "", "h", "abcdefghij ab")]
    out = gen.generate_ids(p, CFG, prompts, 40, key=jax.random.key(1), temperature=0.0,
                           line_id=nl)  # fmt: skip
    for prompt, row in zip(prompts, out, strict=True):
        n_max = CFG.ctx + 1 - len(prompt)
        want = _greedy_loop(p, prompt, n_max, lambda s: s)[:n_max]
        ends = [i for i, t in enumerate(want) if t in (nl, EOS)]  # the newline, or <eos>
        want = want[: ends[0] + 1] if ends else want
        n = len(want)
        np.testing.assert_array_equal(row[:n], want)
        assert (row[n:] == 0).all()  # <pad> after the end
        assert len(prompt) - 1 + n <= CFG.ctx  # never past the trained window


def test_sampled_lines_never_exceed_the_window_and_end_at_the_newline(params):
    """At temperature 1 on a random model, many sampled lines: each fits the window with its
    prompt, and none runs on past a newline."""
    lines = gen.sample_lines(params, CFG, TOK, "ab", 64, seed=3, temperature=1.0)
    assert len(lines) == 64
    assert all(len("ab") + len(line) <= CFG.ctx and "\n" not in line for line in lines)
    nl = gen.line_id(TOK)
    ids = gen.generate_ids(params, CFG, [TOK.encode("ab", bos=True)] * 64, 40,
                           key=jax.random.key(3), temperature=1.0, line_id=nl)  # fmt: skip
    for row in ids:
        real = row[row != 0]
        assert len(real) <= CFG.ctx + 1 - 3
        assert nl not in real[:-1]  # a newline only as the last token
    assert any(nl in row for row in ids)  # some lines end at a newline,
    assert any(nl not in row for row in ids)  # others at the window's end


def test_teacher_forcing_beside_free_generation(params):
    out = gen.teacher_vs_free(params, CFG, TOK, "abc def ghij. abcdef")
    n = CFG.ctx  # <bos> + text cut to ctx + 1 ids, minus the one-id prompt
    assert out.true_ids.shape == out.teacher_ids.shape == out.free_ids.shape == (n,)
    assert out.teacher_ids[0] == out.free_ids[0]  # same prefix, same greedy choice
    np.testing.assert_array_equal(out.true_ids, TOK.encode("abc def ghij. abcdef")[:n])
    seq = np.tile(TOK.encode("abc def ghij. abcdef", bos=True)[: CFG.ctx], (4, 1))
    logits = fwd(params, jnp.asarray(seq), CFG)
    allowed = np.array(logits[0], np.float64)
    allowed[:, [0, 1, 3]] = -np.inf  # <pad>, <bos>, <unk> are never predicted
    np.testing.assert_array_equal(out.teacher_ids, np.argmax(allowed, axis=-1))
    assert out.teacher_correct.dtype == bool
    probs = np.exp(allowed - allowed.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    rows = np.arange(n)
    np.testing.assert_allclose(out.teacher_p, probs[rows, out.teacher_ids], rtol=1e-5)
    np.testing.assert_allclose(out.true_p, probs[rows, out.true_ids], rtol=1e-5)
    assert (out.teacher_p >= out.true_p - 1e-7).all()  # the argmax is the likeliest


def test_teacher_forcing_from_a_real_prompt_marks_the_first_divergence(params):
    """Given <bos> + "abc " the teacher-forced predictions equal the argmax of one forward pass
    on the true prefix; free generation equals the greedy loop; the divergence is the first
    position where free generation leaves the text."""
    p = _sharp(params)
    text = "abc defghij."
    out = gen.teacher_vs_free(p, CFG, TOK, text, n_prompt=5)
    seq = TOK.encode(text, bos=True)
    buf = np.tile(seq[:-1], (4, 1))
    logits = np.array(fwd(p, jnp.asarray(buf), CFG)[0])
    logits[:, [0, 1, 3]] = -np.inf
    np.testing.assert_array_equal(out.teacher_ids, np.argmax(logits, -1)[4:])
    np.testing.assert_array_equal(out.true_ids, seq[5:])
    free = _greedy_loop(p, seq[:5], len(seq) - 5, lambda s: s)
    np.testing.assert_array_equal(out.free_ids, free)
    wrong = np.flatnonzero(np.asarray(free) != seq[5:])
    assert out.divergence == (int(wrong[0]) if len(wrong) else None)
    assert out.teacher_ids[0] == out.free_ids[0]  # the same prefix: the same first guess
