"""Sampling from the model, teacher forcing vs free generation, addition accuracy.

Generation runs in one jitted ``lax.scan``: a fixed buffer of ``cfg.ctx`` tokens per row (or a
shorter power of two when prompt and continuation fit) holds ``<bos>`` + prompt (left-aligned);
each step runs the model on the whole buffer (causality makes the unused tail irrelevant), picks
the next token from the logits at the row's last position and writes it behind. A full buffer
slides left by one, as nanoGPT crops its context. Static: the config, the buffer width, the
batch size and the number of new tokens (all rounded up to powers of two);
temperature and top-k are traced, so neither recompiles. The same key gives the same text.

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


@partial(jax.jit, static_argnames=("cfg", "n_new"))
def _sample(params, buf_BxC, len_B, key, *, temperature, top_k, cfg, n_new):
    B, C = buf_BxC.shape
    rows_B = jnp.arange(B)

    def step(carry, i):
        buf_BxC, len_B = carry
        logits_BxCxV = forward(params, buf_BxC, cfg)
        last_BxV = _mask_specials(logits_BxCxV[rows_B, len_B - 1])
        tok_B = sample_logits(last_BxV, jax.random.fold_in(key, i), temperature, top_k)
        full_B = len_B >= C
        buf_BxC = jnp.where(full_B[:, None], jnp.roll(buf_BxC, -1, axis=1), buf_BxC)
        len_B = jnp.where(full_B, C - 1, len_B)
        buf_BxC = buf_BxC.at[rows_B, len_B].set(tok_B)
        return (buf_BxC, len_B + 1), tok_B

    _, toks_NxB = jax.lax.scan(step, (buf_BxC, len_B), jnp.arange(n_new))
    return toks_NxB.T


def _pow2(n: int, minimum: int = 8) -> int:
    return max(minimum, 1 << max(n - 1, 0).bit_length())


def generate_ids(
    params: Params,
    cfg: ModelConfig,
    prompts: Sequence[np.ndarray],
    max_new_tokens: int,
    *,
    key: jax.Array,
    temperature: float = 1.0,
    top_k: int = 0,
) -> np.ndarray:
    """Continue each prompt (id arrays, ``<bos>`` included by the caller; only the last
    ``cfg.ctx`` ids are kept) by ``max_new_tokens`` ids: int32 ``[len(prompts), max_new]``.

    The batch is padded to a power of two (at least 2) and the length rounded up to one (at
    least 8), so similar calls share a compile. The key fixes the result for a given bucket.
    """
    rows = [np.asarray(p, np.int32)[-cfg.ctx :] for p in prompts]
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
    toks = _sample(
        params,
        jnp.asarray(buf_BxC),
        jnp.asarray(len_B),
        key,
        temperature=jnp.float32(temperature),
        top_k=jnp.int32(top_k),
        cfg=cfg,
        n_new=n_new,
    )
    return np.asarray(toks)[: len(prompts), :max_new_tokens]


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
    """Text continuing ``<bos> + prompt`` (the prompt itself not included), cut before the first
    ``stop`` string or ``<eos>``. ``temperature=0`` is greedy."""
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
    return jnp.asarray(buf)


def attention_maps(params: Params, cfg: ModelConfig, ids: np.ndarray) -> list[np.ndarray]:
    """Attention weights ``[H, L, L]`` per layer for one sequence of ``L <= ctx`` ids."""
    ids = np.asarray(ids)[: cfg.ctx]
    _, atts = _forward_full(params, _padded(ids, cfg.ctx), cfg)
    return [np.asarray(a[0, :, : len(ids), : len(ids)]) for a in atts]


class TeacherVsFree(NamedTuple):
    """The continuation of a true sequence after its first ``n_prompt`` ids, three ways.

    ``true_ids``: the real continuation; ``teacher_ids``: argmax predictions, each given the
    *true* prefix; ``free_ids``: greedy generation fed its *own* outputs (both never pick
    ``<pad>``, ``<bos>`` or ``<unk>``). The ``*_correct``
    arrays mark positions that equal the truth.
    """

    true_ids: np.ndarray
    teacher_ids: np.ndarray
    free_ids: np.ndarray

    @property
    def teacher_correct(self) -> np.ndarray:
        return self.teacher_ids == self.true_ids

    @property
    def free_correct(self) -> np.ndarray:
        return self.free_ids == self.true_ids


def teacher_vs_free(
    params: Params, cfg: ModelConfig, tok: CharTokenizer, text: str, n_prompt: int = 1
) -> TeacherVsFree:
    """Teacher forcing beside free (greedy) generation on ``<bos> + text`` (cut to ``ctx + 1``
    ids), both starting from its first ``n_prompt`` ids (default: just ``<bos>``)."""
    seq = tok.encode(text, bos=True)[: cfg.ctx + 1]
    if not 1 <= n_prompt < len(seq):
        raise ValueError(f"n_prompt must be in [1, {len(seq) - 1}]")
    logits_1xCxV, _ = _forward_full(params, _padded(seq[:-1], cfg.ctx), cfg)
    pred = np.asarray(jnp.argmax(_mask_specials(logits_1xCxV[0]), axis=-1))
    n = len(seq) - n_prompt
    free = generate_ids(params, cfg, [seq[:n_prompt]], n, key=jax.random.key(0), temperature=0.0)[0]
    return TeacherVsFree(seq[n_prompt:], pred[n_prompt - 1 : len(seq) - 1], free)


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
