"""Sampling from the model, teacher forcing vs free generation, addition accuracy.

Generation runs in one jitted ``lax.scan``: a fixed buffer of ``cfg.ctx`` tokens per row (or a
shorter power of two when prompt and continuation fit) holds ``<bos>`` + prompt (left-aligned);
each step runs the model on the whole buffer (causality makes the unused tail irrelevant), picks
the next token from the logits at the row's last position and writes it behind. Generation
follows the training windows: for a corpus trained on windows that start at line starts, each
line comes from a fresh window and stops at the newline or when the window is full (the
model never saw a position past it); otherwise a full buffer slides left by one behind
``<bos>``, which stays in front as in every training window. Static: the config, the buffer
width, the batch size, the number of new tokens (all rounded up to powers of two) and the mode;
temperature, top-k and the stop id are traced, so none recompiles. The same key gives the
same text.

``<pad>``, ``<bos>`` and ``<unk>`` are never sampled (their logits are masked).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optlab.transformer.corpus import addition_exact_match
from optlab.transformer.model import ModelConfig, Params, forward
from optlab.transformer.tokenizer import BOS, EOS, PAD, UNK, CharTokenizer


def sample_logits(
    logits_BxV: jax.Array, key: jax.Array, temperature: jax.Array, top_k: jax.Array
) -> jax.Array:
    """One token per row: argmax if ``temperature <= 0``, else a sample from
    ``softmax(logits / temperature)`` restricted to the ``top_k`` largest logits (``top_k <= 0``:
    no restriction). Ties with the k-th logit are kept. Returns int32 ``[B]``."""
    logits_BxV = logits_BxV.astype(jnp.float32)
    V = logits_BxV.shape[-1]
    desc_BxV = -jnp.sort(-logits_BxV, axis=-1)
    kth_Bx1 = jax.lax.dynamic_slice_in_dim(desc_BxV, jnp.clip(top_k, 1, V) - 1, 1, axis=1)
    kth_Bx1 = jnp.where(top_k > 0, kth_Bx1, -jnp.inf)
    kept_BxV = jnp.where(logits_BxV >= kth_Bx1, logits_BxV, -jnp.inf)
    sampled_B = jax.random.categorical(key, kept_BxV / jnp.maximum(temperature, 1e-6), axis=-1)
    greedy_B = jnp.argmax(logits_BxV, axis=-1)
    return jnp.where(temperature <= 0, greedy_B, sampled_B).astype(jnp.int32)


def _mask_specials(logits_BxV: jax.Array) -> jax.Array:
    banned_V = jnp.zeros(logits_BxV.shape[-1], bool).at[jnp.array([PAD, BOS, UNK])].set(True)
    return jnp.where(banned_V[None, :], -jnp.inf, logits_BxV)


@partial(jax.jit, static_argnames=("cfg", "n_new", "slide"))
def _sample(params, buf_BxC, len_B, key, temperature, top_k, stop_id, *, cfg, n_new, slide):
    """``n_new`` tokens per row and the probability the model gave each (softmax of the
    logits, specials masked, temperature 1). Without ``slide`` a row ends once its buffer is
    full or it wrote ``stop_id`` (or ``<eos>``); later entries are ``<pad>`` with p = 0."""
    B, C = buf_BxC.shape
    rows_B = jnp.arange(B)

    def step(carry, i):
        buf_BxC, len_B, done_B = carry
        logits_BxCxV = forward(params, buf_BxC, cfg)
        last_BxV = _mask_specials(logits_BxCxV[rows_B, len_B - 1])
        tok_B = sample_logits(last_BxV, jax.random.fold_in(key, i), temperature, top_k)
        p_B = jnp.take_along_axis(jax.nn.softmax(last_BxV, axis=-1), tok_B[:, None], axis=1)[:, 0]
        full_B = len_B >= C
        if slide:  # <bos> stays at position 0, as in every training window
            shifted_BxC = jnp.concatenate([buf_BxC[:, :1], jnp.roll(buf_BxC[:, 1:], -1, 1)], 1)
            buf_BxC = jnp.where(full_B[:, None], shifted_BxC, buf_BxC)
            len_B = jnp.where(full_B, C - 1, len_B)
        tok_B = jnp.where(done_B, PAD, tok_B)
        p_B = jnp.where(done_B, 0.0, p_B)
        write_B = ~done_B & (len_B < C)
        buf_BxC = buf_BxC.at[rows_B, jnp.minimum(len_B, C - 1)].set(
            jnp.where(write_B, tok_B, buf_BxC[rows_B, jnp.minimum(len_B, C - 1)])
        )
        if not slide:
            done_B = done_B | full_B | (tok_B == stop_id) | (tok_B == EOS)
        return (buf_BxC, len_B + write_B, done_B), (tok_B, p_B)

    done_B = jnp.zeros(B, bool)
    _, (toks_NxB, p_NxB) = jax.lax.scan(step, (buf_BxC, len_B, done_B), jnp.arange(n_new))
    return toks_NxB.T, p_NxB.T


def _pow2(n: int, minimum: int = 8) -> int:
    return max(minimum, 1 << max(n - 1, 0).bit_length())


def sample_rows(
    params: Params,
    cfg: ModelConfig,
    prompts: Sequence[np.ndarray],
    max_new_tokens: int,
    *,
    key: jax.Array,
    temperature: float = 1.0,
    top_k: int = 0,
    line_id: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Continue each prompt (id arrays, ``<bos>`` included by the caller) by up to
    ``max_new_tokens`` ids: int32 ``[len(prompts), max_new]`` and each token's probability.

    Two ways, as the model was trained:

    - ``line_id is None`` (training windows start anywhere): the window slides once full,
      keeping ``<bos>`` in front (only the last ``cfg.ctx - 1`` ids of a prompt are kept).
    - ``line_id`` given (windows start at line starts): a fresh window per line; a row stops
      after writing ``line_id`` (the newline; or ``<eos>``) or when ``<bos>`` + prompt +
      continuation fill the ``cfg.ctx + 1`` tokens of a training window. Ids after the end
      are ``<pad>`` (probability 0).

    The batch is padded to a power of two (at least 2) and the length rounded up to one (at
    least 8), so similar calls share a compile. The key fixes the result for a given bucket.
    """
    slide = line_id is None
    rows = [np.asarray(p, np.int32) for p in prompts]
    rows = [r if len(r) <= cfg.ctx else np.concatenate([r[:1], r[-(cfg.ctx - 1) :]]) for r in rows]
    if any(len(p) == 0 for p in rows):
        raise ValueError("a prompt needs at least one token (<bos>)")
    n_new = _pow2(max_new_tokens)
    # A buffer shorter than ctx when prompt + continuation fit (it never fills, so never
    # slides): same tokens, less work. Batch and width are bucketed: fewer compiles.
    need = _pow2(max(len(p) for p in rows) + n_new)
    width = need if need < cfg.ctx else cfg.ctx
    n_rows = _pow2(len(rows), minimum=2)
    buf_BxC = np.full((n_rows, width), PAD, np.int32)
    buf_BxC[:, 0] = BOS
    len_B = np.ones(n_rows, np.int32)
    for b, p in enumerate(rows):
        buf_BxC[b, : len(p)], len_B[b] = p, len(p)
    args = (buf_BxC, len_B, np.float32(temperature), np.int32(top_k),
            np.int32(-1 if line_id is None else line_id))  # fmt: skip
    buf, lens, temp, k, stop = jax.device_put(args)  # plain transfers: nothing to compile
    toks, probs = _sample(
        params,
        buf,
        lens,
        key,
        temp,
        k,
        stop,
        cfg=cfg,
        n_new=n_new,
        slide=slide,
    )
    keep = (slice(0, len(prompts)), slice(0, max_new_tokens))
    return np.asarray(toks)[keep], np.asarray(probs)[keep]


def generate_ids(params, cfg, prompts, max_new_tokens, *, key, temperature=1.0, top_k=0,
                 line_id=None) -> np.ndarray:  # fmt: skip
    """The ids of ``sample_rows`` (same arguments)."""
    return sample_rows(params, cfg, prompts, max_new_tokens, key=key, temperature=temperature,
                       top_k=top_k, line_id=line_id)[0]  # fmt: skip


def sample_lines(
    params: Params,
    cfg: ModelConfig,
    tok: CharTokenizer,
    prompt: str,
    n_lines: int,
    *,
    seed: int = 0,
    temperature: float = 1.0,
    top_k: int = 0,
) -> list[str]:
    """``n_lines`` lines, each from a fresh window ``<bos> + prompt`` (the prompt not included
    in the text), read up to the newline; at most ``cfg.ctx`` characters with the prompt."""
    ids = tok.encode(prompt, bos=True)[: cfg.ctx]
    n = cfg.ctx + 1 - len(ids)
    if n <= 0:
        return [""] * n_lines
    out = generate_ids(params, cfg, [ids] * n_lines, n, key=jax.random.key(seed),
                       temperature=temperature, top_k=top_k, line_id=line_id(tok))  # fmt: skip
    return [tok.decode(row).split("\n", 1)[0] for row in out]


def line_id(tok: CharTokenizer) -> int:
    """The newline's id (``<eos>`` if the vocabulary has no newline)."""
    ids = tok.encode("\n")
    return int(ids[0]) if ids[0] != UNK else EOS


def generate(
    params: Params,
    cfg: ModelConfig,
    tok: CharTokenizer,
    prompt: str = "",
    max_new_tokens: int = 200,
    *,
    seed: int = 0,
    temperature: float = 1.0,
    top_k: int = 0,
    stop: str | None = None,
) -> str:
    """Text continuing ``<bos> + prompt`` (the prompt itself not included), sliding the window
    once it is full, cut before the first ``stop`` string or ``<eos>``. ``temperature=0`` is
    greedy. (``sample_lines`` for line-by-line corpora.)"""
    ids = generate_ids(
        params,
        cfg,
        [tok.encode(prompt, bos=True)],
        max_new_tokens,
        key=jax.random.key(seed),
        temperature=temperature,
        top_k=top_k,
    )[0]
    eos = np.flatnonzero(ids == EOS)
    text = tok.decode(ids[: eos[0]] if len(eos) else ids)
    return text.split(stop, 1)[0] if stop else text


@partial(jax.jit, static_argnames="cfg")
def _forward_full(params, tokens_1xC, cfg):
    return forward(params, tokens_1xC, cfg, return_attention=True)


def _padded(ids: np.ndarray, ctx: int) -> jax.Array:
    buf = np.full((1, ctx), PAD, np.int32)
    buf[0, : len(ids)] = ids
    return jax.device_put(buf)


def attention_maps(params: Params, cfg: ModelConfig, ids: np.ndarray) -> list[np.ndarray]:
    """Attention weights ``[H, L, L]`` per layer for one sequence of ``L <= ctx`` ids."""
    ids = np.asarray(ids)[: cfg.ctx]
    _, atts = _forward_full(params, _padded(ids, cfg.ctx), cfg)
    return [np.asarray(a[0, :, : len(ids), : len(ids)]) for a in atts]


class TeacherVsFree(NamedTuple):
    """The continuation of a true sequence after its first ``n_prompt`` ids, three ways.

    ``true_ids``: the real continuation; ``teacher_ids``: argmax predictions, each given the
    *true* prefix; ``free_ids``: greedy generation fed its *own* outputs (both never pick
    ``<pad>``, ``<bos>`` or ``<unk>``; on a line corpus free generation stops at the newline,
    ``<pad>`` after it). ``teacher_p``: the probability of each teacher-forced prediction,
    ``true_p``: of the true token, given the true prefix; ``free_p``: of each free token, given
    the model's own prefix. The ``*_correct`` arrays mark positions that equal the truth.
    """

    true_ids: np.ndarray
    teacher_ids: np.ndarray
    free_ids: np.ndarray
    teacher_p: np.ndarray
    true_p: np.ndarray
    free_p: np.ndarray

    @property
    def teacher_correct(self) -> np.ndarray:
        return self.teacher_ids == self.true_ids

    @property
    def free_correct(self) -> np.ndarray:
        return self.free_ids == self.true_ids

    @property
    def divergence(self) -> int | None:
        """The first position where free generation leaves the true text (``None``: never)."""
        wrong = np.flatnonzero(~self.free_correct)
        return int(wrong[0]) if len(wrong) else None


def _softmax_np(logits_LxV: np.ndarray) -> np.ndarray:
    """Softmax over the vocabulary with ``<pad>``, ``<bos>``, ``<unk>`` masked (on the host:
    no small programs to compile)."""
    z = logits_LxV.copy()
    z[:, [PAD, BOS, UNK]] = -np.inf
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def teacher_vs_free(
    params: Params,
    cfg: ModelConfig,
    tok: CharTokenizer,
    text: str,
    n_prompt: int = 1,
    *,
    lines: bool = False,
) -> TeacherVsFree:
    """Teacher forcing beside free (greedy) generation on ``<bos> + text`` (cut to ``ctx + 1``
    ids), both starting from its first ``n_prompt`` ids (``<bos>`` + ``n_prompt - 1``
    characters); ``lines``: free generation as on a line corpus (stops at the newline)."""
    seq = tok.encode(text, bos=True)[: cfg.ctx + 1]
    if not 1 <= n_prompt < len(seq):
        raise ValueError(f"n_prompt must be in [1, {len(seq) - 1}]")
    logits_1xCxV, _ = _forward_full(params, _padded(seq[:-1], cfg.ctx), cfg)
    probs_CxV = _softmax_np(np.asarray(logits_1xCxV[0], np.float64))
    pred = np.argmax(probs_CxV, axis=-1)
    n = len(seq) - n_prompt
    at = np.arange(n_prompt - 1, len(seq) - 1)
    stop = line_id(tok) if lines else None
    free, free_p = sample_rows(params, cfg, [seq[:n_prompt]], n, key=jax.random.key(0),
                               temperature=0.0, line_id=stop)  # fmt: skip
    true = seq[n_prompt:]
    return TeacherVsFree(true, pred[at], free[0], probs_CxV[at, pred[at]], probs_CxV[at, true],
                         free_p[0])  # fmt: skip


def addition_accuracy(
    params: Params,
    cfg: ModelConfig,
    tok: CharTokenizer,
    prompts: Sequence[str],
    batch_size: int = 256,
) -> tuple[float, list[str]]:
    """Exact-match accuracy of greedy answers to ``prompts`` (``"23+45="``) and the answers.

    Prompts go through in padded batches of ``batch_size`` (one compile); each completion is
    read up to its first newline.
    """
    completions: list[str] = []
    batch_size = min(batch_size, _pow2(len(prompts)))
    for i in range(0, len(prompts), batch_size):
        chunk = [tok.encode(p, bos=True) for p in prompts[i : i + batch_size]]
        padded = chunk + [chunk[-1]] * (batch_size - len(chunk))
        ids = generate_ids(params, cfg, padded, 5, key=jax.random.key(0), temperature=0.0)
        completions += [tok.decode(row).split("\n", 1)[0] for row in ids[: len(chunk)]]
    return addition_exact_match(list(prompts), completions), completions
