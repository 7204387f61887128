"""The Transformer-page scenarios (Adam vs SGD, overfitting and dropout) and their checks, each
link in the page's own scheme (``optlab.config.transformer``)."""

from __future__ import annotations

import functools

import numpy as np

from optlab.scenarios.base import Scenario, read_link
from optlab.scenarios.base import scenario as _s

_TINY = {"corpus": "rhymes", "layers": "1", "d": "32", "heads": "2", "ctx": "32",
         "steps": "150", "adam.lr": "0.01"}  # fmt: skip
# What the checks set that the Transformer page has no control for (yet): a shorter training
# text for the overfitting scenario (0: the whole corpus), the batch size and the seed.
_CHECK_ONLY = {"train_chars": 0, "batch": 16, "seed": 0}


@functools.lru_cache(maxsize=16)
def _train(cfg, opt: str, train_chars: int):
    """One run of ``opt`` on the Transformer-page configuration ``cfg`` (a ``TfConfig``;
    cached: a second ``check()`` call costs nothing)."""
    from optlab.transformer import train as tr
    from optlab.transformer.corpus import CORPORA, Corpus
    from optlab.transformer.model import ModelConfig
    from optlab.transformer.tokenizer import CharTokenizer

    corpus = CORPORA[cfg.corpus].builder()
    if train_chars:
        text = corpus.train_text[:train_chars]
        corpus = Corpus(corpus.name, text, corpus.val_text, CharTokenizer.from_text(text))
    model = ModelConfig(
        corpus.tokenizer.vocab_size, cfg.n_layer, cfg.d_model, cfg.n_head, cfg.ctx, cfg.dropout
    )
    tcfg = tr.TrainConfig(steps=cfg.steps, chunk=25, batch_size=_CHECK_ONLY["batch"],
                          init_seed=_CHECK_ONLY["seed"])  # fmt: skip
    run = tr.Contestant(opt, opt, {"learning_rate": cfg.lr(opt)})
    return tr.train(corpus, model, [run], tcfg)


def _tail(report, opt: str) -> float:
    return float(np.mean(report.metrics[opt]["loss"][-20:]))


def _adam_vs_sgd(q):
    cfg = read_link("transformer", q)
    opts = cfg.optimizers
    a, s = (_train(cfg, o, _CHECK_ONLY["train_chars"]) for o in opts)
    la, ls = _tail(a, opts[0]), _tail(s, opts[1])
    va, vs = a.val_loss[opts[0]][-1], s.val_loss[opts[1]][-1]
    return la < ls - 0.15 and va < vs, (
        f"training loss (last 20 steps): {opts[0]} {la:.2f}, {opts[1]} {ls:.2f}; validation "
        f"{va:.2f} vs {vs:.2f}"
    )


def _dropout(queries):
    cfgs = [read_link("transformer", q) for q in queries]
    o = cfgs[0].optimizers[0]
    plain, drop = (_train(c, o, _OVERFIT_CHARS) for c in cfgs)
    d0, d1 = (c.dropout for c in cfgs)
    vp, vd = plain.val_loss[o], drop.val_loss[o]
    rise = vp[-1] - vp.min()
    ok = rise > 0.1 and vd[-1] < vp[-1] and vd[-1] - vd.min() < rise
    return ok, (
        f"validation loss, best → final: dropout {d0:g} {vp.min():.2f} → {vp[-1]:.2f} (train "
        f"{_tail(plain, o):.2f}); dropout {d1:g} {vd.min():.2f} → {vd[-1]:.2f} (train "
        f"{_tail(drop, o):.2f})"
    )


_OVERFIT_CHARS = 1500  # the dropout check trains on this much text, so that it overfits

_FINETUNE = {"corpus": "rhymes", "pretrain": "proverbs", "pretrain_steps": "500",
             "layers": "1", "d": "32", "heads": "2", "ctx": "32", "steps": "50", "chunk": "25",
             "opt": "adam"}  # fmt: skip


def _finetune(q):
    """The fine-tuned run against the same optimizer from scratch, as the page trains them."""
    from optlab.transformer import lab

    cfg = read_link("transformer", q)
    result = lab.train_all(cfg.train_spec())
    name = lab.label(cfg.optimizers[0])
    fine, scratch = (result.report.val_loss[n] for n in (name, f"{name} · scratch"))
    ok = fine[-1] < scratch[-1] - 0.05
    return ok, (
        f"validation loss after {cfg.steps} steps: fine-tuned {fine[-1]:.2f} (from "
        f"{fine[0]:.2f}), from scratch {scratch[-1]:.2f} (from {scratch[0]:.2f})"
    )


SCENARIOS: tuple[Scenario, ...] = (
    _s("transformer-adam-vs-sgd", "Adam vs SGD on a transformer", "transformer",
       {**_TINY, "opt": "adam,gd", "gd.lr": "0.1"},
       "The same tiny transformer, init and batches. Adam adapts the step of every weight to "
       "its own gradient scale (embeddings, attention and MLP differ by orders of magnitude); "
       "plain SGD with one global step is far slower.",
       "Which layers' gradients are largest, and what does that do to SGD?", _adam_vs_sgd),
    _s("transformer-dropout", "Overfitting and dropout", "transformer",
       (("Open · dropout 0", {**_TINY, "opt": "adam"}),
        ("Open · dropout 0.3", {**_TINY, "opt": "adam", "dropout": "0.3"})),
       "Trained on only 1500 characters, the model memorises them: training loss keeps falling "
       "while validation loss turns up. Dropout randomly silences units while training, so the "
       "model cannot rely on memorised paths, and the validation loss stays near its best.",
       "Why is the training loss with dropout higher — and why is that fine?", _dropout),
    _s("transformer-finetune", "Fine-tuning: from proverbs to nursery rhymes", "transformer",
       _FINETUNE,
       "A small model pretrained on proverbs (Adam, 500 steps) is fine-tuned on nursery rhymes "
       "for 50 steps, beside the same optimizer trained from scratch for the same 50 steps on "
       "the same batches. The pretrained model already knows English letters, spaces and short "
       "words, so its validation loss on the rhymes starts lower and stays lower; from scratch "
       "the model spends its budget rediscovering them. The samples at step 0 are proverbs.",
       "Give the scratch run more steps: how many does it need to catch up — and what does "
       "that say about what pretraining buys you with a small budget?",
       _finetune),
)  # fmt: skip
