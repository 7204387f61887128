"""The tiny-transformer lab's text side: the character tokenizer, the built-in and pasted
corpora, and the addition corpus's exact-match metric."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab.transformer import generate as gen
from optlab.transformer.corpus import (
    CORPORA,
    MAX_CHARS,
    MIN_CHARS,
    CorpusError,
    addition_corpus,
    addition_exact_match,
    addition_problems,
    pasted_corpus,
)
from optlab.transformer.model import ModelConfig
from optlab.transformer.tokenizer import BOS, EOS, UNK, CharTokenizer

TOK = CharTokenizer.from_text("abcdefghij .\n")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_tokenizer_round_trip_on_any_unicode(text):
    tok = CharTokenizer.from_text(text)
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode(text, bos=True, eos=True)) == text
    assert tok.vocab_size == 4 + len(set(text))


def test_tokenizer_specials_and_unknown_characters():
    ids = TOK.encode("ab€", bos=True, eos=True)
    assert ids[0] == BOS
    assert ids[-1] == EOS
    assert ids[-2] == UNK
    assert TOK.decode(ids) == "ab\ufffd"
    assert TOK.decode(ids, keep_special=True) == "<bos>ab<unk><eos>"
    assert TOK.token_label(int(TOK.encode("\n")[0])) == "⏎"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * (MIN_CHARS - 1), "too short"),
        ("x" * (MAX_CHARS + 1), "too long"),
    ],
)
def test_pasted_text_limits(text, message):
    with pytest.raises(CorpusError, match=message):
        pasted_corpus(text)
    assert issubclass(CorpusError, ValueError)


def test_pasted_text_split_and_vocab():
    text = "Ünïcödé text, 漢字 too.\r\n" * 20
    corpus = CORPORA["pasted"].builder(text=text)
    assert CORPORA["pasted"].needs_text
    assert corpus.train_text + corpus.val_text == text.replace("\r\n", "\n")
    assert len(corpus.train_text) == round(0.9 * len(corpus.train_text + corpus.val_text))
    assert corpus.tokenizer.decode(corpus.train_ids) == corpus.train_text


@pytest.mark.parametrize("name", [n for n, s in CORPORA.items() if not s.needs_text])
def test_builtin_corpora(name):
    corpus = CORPORA[name].builder(seed=0)
    assert len(corpus.train_text) > 1000
    assert len(corpus.val_text) > 100
    assert corpus.tokenizer.decode(corpus.train_ids) == corpus.train_text
    assert (corpus.train_ids >= 4).all()
    starts = corpus.line_starts()
    if starts is not None:
        assert all(corpus.train_text[s - 1] == "\n" for s in starts[1:])


def test_addition_corpus_is_correct_and_held_out():
    corpus = addition_corpus(seed=3)
    train_lines = corpus.train_text.splitlines()
    prompts, answers = addition_problems(corpus)
    assert len(prompts) == 810
    assert len(train_lines) == 8100 - 810
    for line in train_lines[:100]:
        a, rest = line.split("+")
        b, c = rest.split("=")
        assert int(a) + int(b) == int(c)
        assert 10 <= int(a) <= 99
    assert not set(prompts) & {ln[: ln.index("=") + 1] for ln in train_lines}
    assert addition_exact_match(prompts, [a + "\n" for a in answers]) == 1.0


def test_addition_exact_match_hand_made():
    prompts = ["23+45=", "10+10=", "99+99=", "50+50="]
    completions = ["68\n12+", "21\n", "198", "10\n0"]
    assert addition_exact_match(prompts, completions) == 0.5
    assert addition_exact_match([], []) == 0.0


def test_addition_accuracy_plumbing(monkeypatch):
    """Batching, padding and decoding, with the generator replaced by an oracle."""
    corpus = addition_corpus()
    tok = corpus.tokenizer
    prompts = addition_problems(corpus, 11)[0]
    truth = {tuple(tok.encode(p, bos=True)): str(sum(map(int, p[:-1].split("+")))) for p in prompts}

    def oracle(params, cfg, batch, n, **kw):
        rows = [tok.encode(truth[tuple(p)] + "\n7+", bos=False)[:n] for p in batch]
        return np.stack([np.pad(r, (0, n - len(r))) for r in rows])

    monkeypatch.setattr(gen, "generate_ids", oracle)
    cfg = ModelConfig(vocab_size=tok.vocab_size, n_layer=1, d_model=8, n_head=1, ctx=16)
    acc, completions = gen.addition_accuracy(None, cfg, tok, prompts, batch_size=4)
    assert acc == 1.0
    assert completions == [truth[tuple(tok.encode(p, bos=True))] for p in prompts]
