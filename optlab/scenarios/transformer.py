"""The transformer-page scenarios (Adam vs SGD, overfitting and dropout) and their checks."""

from __future__ import annotations

import functools

import numpy as np

from optlab.scenarios.base import PAGE_KEYS, Scenario, page_values
from optlab.scenarios.base import scenario as _s

_TINY = {"corpus": "rhymes", "train_chars": "1500", "steps": "150", "layers": "1", "d": "32",
         "heads": "2", "ctx": "32", "batch": "16", "adam.lr": "0.01"}  # fmt: skip


@functools.lru_cache(maxsize=16)
def _train(v_items: tuple, opt: str, hp: tuple, dropout: float):
    """One transformer run (cached: a second ``check()`` call costs nothing)."""
    from optlab.transformer import train as tr
    from optlab.transformer.corpus import CORPORA, Corpus
    from optlab.transformer.model import ModelConfig
    from optlab.transformer.tokenizer import CharTokenizer

    v = dict(v_items)
    corpus = CORPORA[v["corpus"]].builder()
    if v["train_chars"]:
        text = corpus.train_text[: v["train_chars"]]
        corpus = Corpus(corpus.name, text, corpus.val_text, CharTokenizer.from_text(text))
    cfg = ModelConfig(
        corpus.tokenizer.vocab_size, v["layers"], v["d"], v["heads"], v["ctx"], dropout
    )
    tcfg = tr.TrainConfig(steps=v["steps"], chunk=25, batch_size=v["batch"], init_seed=v["seed"])
    return tr.train(corpus, cfg, [tr.Contestant(opt, opt, dict(hp))], tcfg)


def _transformer_runs(q, pairs):
    v = page_values("transformer", q)
    items = tuple((k, v[k]) for k in PAGE_KEYS["transformer"] if k not in {"opt", "dropout"})
    return [_train(items, o, tuple(sorted(v["hparams"][o].items())), d) for o, d in pairs]


def _tail(report, opt: str) -> float:
    return float(np.mean(report.metrics[opt]["loss"][-20:]))


def _adam_vs_sgd(q):
    opts = page_values("transformer", q)["opt"]
    a, s = _transformer_runs(q, [(o, 0.0) for o in opts])
    la, ls = _tail(a, opts[0]), _tail(s, opts[1])
    va, vs = a.val_loss[opts[0]][-1], s.val_loss[opts[1]][-1]
    return la < ls - 0.15 and va < vs, (
        f"training loss (last 20 steps): {opts[0]} {la:.2f}, {opts[1]} {ls:.2f}; validation "
        f"{va:.2f} vs {vs:.2f}"
    )


def _dropout(q):
    v = page_values("transformer", q)
    o = v["opt"][0]
    (plain, drop), (d0, d1) = _transformer_runs(q, [(o, d) for d in v["dropout"]]), v["dropout"]
    vp, vd = plain.val_loss[o], drop.val_loss[o]
    rise = vp[-1] - vp.min()
    ok = rise > 0.1 and vd[-1] < vp[-1] and vd[-1] - vd.min() < rise
    return ok, (
        f"validation loss, best → final: dropout {d0:g} {vp.min():.2f} → {vp[-1]:.2f} (train "
        f"{_tail(plain, o):.2f}); dropout {d1:g} {vd.min():.2f} → {vd[-1]:.2f} (train "
        f"{_tail(drop, o):.2f})"
    )


SCENARIOS: tuple[Scenario, ...] = (
    _s("transformer-adam-vs-sgd", "Adam vs SGD on a transformer", "transformer",
       {**_TINY, "train_chars": "0", "opt": "adam,gd", "gd.lr": "0.1"},
       "The same tiny transformer, init and batches. Adam adapts the step of every weight to "
       "its own gradient scale (embeddings, attention and MLP differ by orders of magnitude); "
       "plain SGD with one global step is far slower.",
       "Which layers' gradients are largest, and what does that do to SGD?", _adam_vs_sgd),
    _s("transformer-dropout", "Overfitting and dropout", "transformer",
       {**_TINY, "opt": "adam", "dropout": "0,0.3"},
       "Trained on only 1500 characters, the model memorises them: training loss keeps falling "
       "while validation loss turns up. Dropout randomly silences units while training, so the "
       "model cannot rely on memorised paths, and the validation loss stays near its best.",
       "Why is the training loss with dropout higher — and why is that fine?", _dropout),
)  # fmt: skip
