"""What the Transformer page shows about a trained (or stopped) run, from a ``lab.Result``.

Samples at checkpoints (the snapshots ``lab.Training`` keeps), exact-match accuracy on the
addition corpus, teacher forcing beside free generation, attention maps, a string's way through
the model (tokens -> ids -> embeddings -> next-token probabilities) and the 2-D loss-landscape
slice with every run's trajectory projected on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from optlab.transformer import generate, landscape
from optlab.transformer.corpus import CORPORA, addition_problems
from optlab.transformer.data import eval_batches, make_data
from optlab.transformer.lab import Progress, Result
from optlab.transformer.model import ModelConfig, Params, flatten_params, forward, unflatten_params
from optlab.transformer.tokenizer import PAD
from optlab.transformer.train import eval_loss


def checkpoints(result: Result, n: int = 4) -> list[int]:
    """Up to ``n`` snapshot indices spread from the init (0) to the latest."""
    last = len(result.snap_steps) - 1
    return sorted({round(x) for x in np.linspace(0, last, min(n, last + 1))})


def params_at(result: Result, name: str, index: int = -1) -> Params:
    """Params of run ``name`` at snapshot ``index`` (``-1``: the latest)."""
    if index == -1:
        return result.report.params[name]
    return unflatten_params(result.snapshots[name][index], result.report.params[name])


def samples(
    result: Result,
    name: str,
    prompt: str,
    *,
    temperature: float,
    top_k: int,
    n_chars: int = 120,
    n_lines: int = 4,
    seed: int = 0,
) -> list[tuple[int, list[str]]]:
    """``(step, continuations)`` from ``<bos> + prompt`` at every checkpoint of run ``name``
    (the prompt not included), generated as the model was trained: on a line corpus
    ``n_lines`` lines, each from a fresh window, up to its newline; otherwise one text of
    ``n_chars`` characters from a sliding window."""
    tok, cfg = result.corpus.tokenizer, result.cfg
    out = []
    for i in checkpoints(result):
        p = params_at(result, name, i)
        kw = {"seed": seed, "temperature": temperature, "top_k": top_k}
        if result.corpus.line_aligned:
            texts = generate.sample_lines(p, cfg, tok, prompt, n_lines, **kw)
        else:
            texts = [generate.generate(p, cfg, tok, prompt, n_chars, **kw)]
        out.append((int(result.snap_steps[i]), texts))
    return out


def addition_scores(result: Result, n: int | None = None) -> dict[str, tuple[float, list]]:
    """Exact-match accuracy per run on ``n`` held-out sums, with ``(prompt, answer, got)``."""
    prompts, answers = addition_problems(result.corpus, n)
    out = {}
    for name in result.labels:
        acc, got = generate.addition_accuracy(
            result.report.params[name], result.cfg, result.corpus.tokenizer, prompts
        )
        out[name] = (acc, list(zip(prompts, answers, got, strict=True)))
    return out


def sample_text(result: Result) -> str:
    """A piece of validation text that fits the context (whole lines where possible)."""
    text = result.corpus.val_text[: result.cfg.ctx]
    cut = text.rfind("\n")
    return text[: cut + 1] if cut > 0 else text


def teacher_free(result: Result, name: str, text: str, n_prompt: int = 1):
    """``(labels of the true continuation, TeacherVsFree)`` for ``<bos> + text`` (free
    generation line by line on a line corpus)."""
    tok = result.corpus.tokenizer
    tvf = generate.teacher_vs_free(result.report.params[name], result.cfg, tok, text, n_prompt,
                                   lines=result.corpus.line_aligned)  # fmt: skip
    return [tok.token_label(int(i)) for i in tvf.true_ids], tvf


def teacher_prompt(result: Result, name: str, n_candidates: int = 64) -> tuple[str, int]:
    """A real prompt for teacher forcing: ``(held-out line, characters given)``.

    Arithmetic: among the first ``n_candidates`` held-out problems, given up to ``=``, the
    first that run ``name`` gets wrong *and* where teacher forcing and free generation then
    predict differently (the point of the panel), else the first it gets wrong, else the first.
    Other corpora: the first held-out line of 8 characters or more that fits the context, its
    first half given.
    """
    if CORPORA[result.corpus.name].arithmetic:
        prompts, answers = addition_problems(result.corpus, n_candidates)
        if prompts:
            params, tok = result.report.params[name], result.corpus.tokenizer
            _, got = generate.addition_accuracy(params, result.cfg, tok, prompts)
            wrong = [i for i, (g, a) in enumerate(zip(got, answers, strict=True)) if g != a]
            for i in wrong[:16]:
                text = f"{prompts[i]}{answers[i]}\n"
                _, tvf = teacher_free(result, name, text, len(prompts[i]) + 1)
                if (tvf.teacher_ids != tvf.free_ids).any():
                    return text, len(prompts[i])
            i = wrong[0] if wrong else 0
            return f"{prompts[i]}{answers[i]}\n", len(prompts[i])
    ctx = result.cfg.ctx
    lines = [ln + "\n" for ln in result.corpus.val_text.split("\n")]
    fits = [ln for ln in lines if 8 <= len(ln) <= ctx] or [sample_text(result) or "ab"]
    return fits[0], max(1, (len(fits[0]) - 1) // 2)


def attention(result: Result, name: str, text: str) -> tuple[list[str], list[np.ndarray]]:
    """Token labels and the attention weights ``[H, L, L]`` per layer for ``<bos> + text``."""
    tok = result.corpus.tokenizer
    ids = tok.encode(text, bos=True)[: result.cfg.ctx]
    maps = generate.attention_maps(result.report.params[name], result.cfg, ids)
    return [tok.token_label(int(i)) for i in ids], maps


@partial(jax.jit, static_argnames="cfg")
def _next_token_probs(params, tokens_1xC, cfg):
    return jax.nn.softmax(forward(params, tokens_1xC, cfg).astype(jnp.float32), axis=-1)


@dataclass(frozen=True)
class TextPipeline:
    """A string on its way through the model: tokens, ids, the embedding rows added up at
    the input, and the ``k`` likeliest next tokens read back from the output logits."""

    labels: list[str]
    ids: np.ndarray  # [L]
    token_emb: np.ndarray  # [L, D] rows of wte
    pos_emb: np.ndarray  # [L, D] rows of wpe
    top_labels: list[list[str]]  # [L][k]
    top_probs: np.ndarray  # [L, k]


def text_pipeline(params: Params, cfg: ModelConfig, tok, text: str, k: int = 3) -> TextPipeline:
    ids = tok.encode(text, bos=True)[: cfg.ctx]
    buf = np.full((1, cfg.ctx), PAD, np.int32)
    buf[0, : len(ids)] = ids
    probs_LxV = np.asarray(_next_token_probs(params, jnp.asarray(buf), cfg))[0, : len(ids)]
    top_LxK = np.argsort(-probs_LxV, axis=-1)[:, :k]
    return TextPipeline(
        labels=[tok.token_label(int(i)) for i in ids],
        ids=ids,
        token_emb=np.asarray(params["wte"])[ids],
        pos_emb=np.asarray(params["wpe"])[: len(ids)],
        top_labels=[[tok.token_label(int(i)) for i in row] for row in top_LxK],
        top_probs=np.take_along_axis(probs_LxV, top_LxK, axis=-1),
    )


# ---------------------------------------------------------------------------------------------
# Landscape slice.


@dataclass(frozen=True)
class Landscape:
    """``Z[j, i]``: loss at ``center + alphas[i] d1 + betas[j] d2`` on one validation batch;
    each run's snapshots projected on the plane (``paths``) and their true loss there."""

    alphas: np.ndarray
    betas: np.ndarray
    Z: np.ndarray
    paths: dict[str, np.ndarray]
    path_loss: dict[str, np.ndarray]
    center: str
    method: str
    explained: tuple[float, float] | None = None


def landscape_slice(
    result: Result,
    name: str,
    method: str = "pca",
    n: int = 15,
    block: int = 3,
    progress: Progress = None,
) -> Landscape:
    """The slice around run ``name``'s latest params: ``method`` ``"pca"`` (its trajectory's top
    two directions) or ``"random"`` (filter-normalised). Rows go ``block`` at a time (one
    compile), calling ``progress(fraction)`` after each."""
    r, cfg = result.report, result.cfg
    center = r.params[name]
    center_P = flatten_params(center)
    explained = None
    if method == "pca":
        d1, d2, ev = landscape.pca_directions(result.snapshots[name])
        explained = (float(ev[0]), float(ev[1]))
    else:
        t1, t2 = landscape.filter_normalized_directions(center, seed=result.spec.seed)
        d1, d2 = flatten_params(t1), flatten_params(t2)
    paths = {k: landscape.project(result.snapshots[k], center_P, d1, d2) for k in result.labels}
    reach = max(float(np.abs(p).max()) for p in paths.values())
    half = max(1.0, 1.25 * reach) if method == "random" else max(1.25 * reach, 1e-3)
    alphas = betas = np.linspace(-half, half, n, dtype=np.float32)
    data = make_data(result.corpus.val_ids, cfg.ctx, result.corpus.line_starts("val"))
    key = jax.random.key(result.spec.seed + 2)
    seq = eval_batches(data, key, batch_size=result.spec.batch_size, ctx=cfg.ctx, n_batches=1)
    rows = []
    for j in range(0, n, block):
        idx = np.minimum(np.arange(j, j + block), n - 1)  # equal blocks: one compile
        z = landscape.loss_grid(center, d1, d2, seq[0], cfg, alphas=alphas, betas=betas[idx])
        rows.append(z[: min(block, n - j)])
        if progress:
            progress(min(j + block, n) / n)
    path_loss = {
        k: np.array(
            [float(eval_loss(unflatten_params(s, center), seq, cfg)) for s in result.snapshots[k]]
        )
        for k in result.labels
    }
    return Landscape(alphas, betas, np.concatenate(rows), paths, path_loss, name, method, explained)
