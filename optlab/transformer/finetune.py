"""Pretrain on one corpus, fine-tune on another: one vocabulary for both, and new rows for
characters the pretrained model never saw.

A character model's vocabulary is usually the set of its training text's characters, so two
corpora disagree (addition has no ``-``; pasted text has letters the sums lack). Here the
pretrained model always uses ``BASE_CHARS`` (newline and printable ASCII), whatever it will be
fine-tuned on, so one pretrained model serves every target and is cached. A target corpus is
re-encoded with ``BASE_CHARS`` followed by its own extra characters (sorted); ``extend_vocab``
gives the pretrained weights fresh embedding rows and output columns for those (drawn as at
initialisation, N(0, 0.02)). Ids of the base characters are the same in both vocabularies.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from optlab.transformer.corpus import Corpus
from optlab.transformer.model import Params
from optlab.transformer.tokenizer import CharTokenizer

BASE_CHARS = ("\n", *(chr(c) for c in range(32, 127)))
INIT_STD = 0.02


def base_tokenizer() -> CharTokenizer:
    """Newline and printable ASCII (what every pretrained model reads and writes)."""
    return CharTokenizer(BASE_CHARS)


def target_tokenizer(corpus: Corpus) -> CharTokenizer:
    """``BASE_CHARS`` then the characters of ``corpus``' training text outside them."""
    extra = sorted(set(corpus.train_text) - set(BASE_CHARS))
    return CharTokenizer((*BASE_CHARS, *extra))


def retokenized(corpus: Corpus, tok: CharTokenizer) -> Corpus:
    """``corpus`` encoded with ``tok`` (a new object: its cached ids are recomputed)."""
    return dataclasses.replace(corpus, tokenizer=tok)


def extend_vocab(params: Params, vocab_size: int, seed: int = 0) -> Params:
    """``params`` with ``wte`` grown to ``vocab_size`` rows and ``head.w`` to as many columns;
    the new entries are N(0, ``INIT_STD``) (numpy, from ``seed``), the old ones unchanged."""
    wte = np.asarray(params["wte"])
    head = np.asarray(params["head"]["w"])
    extra = vocab_size - wte.shape[0]
    if extra < 0:
        raise ValueError(f"cannot shrink a vocabulary of {wte.shape[0]} to {vocab_size}")
    if extra == 0:
        return params
    rng = np.random.default_rng(seed)
    d = wte.shape[1]
    new_wte = np.concatenate([wte, INIT_STD * rng.standard_normal((extra, d))]).astype(wte.dtype)
    new_head = np.concatenate([head, INIT_STD * rng.standard_normal((d, extra))], axis=1)
    return {**params, "wte": new_wte, "head": {**params["head"], "w": new_head.astype(head.dtype)}}
