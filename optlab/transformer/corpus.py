"""Built-in corpora and pasted text, as token ids ready for training.

Nothing is downloaded:

- ``addition``  two-digit sums ``23+45=68\\n`` generated from a seed. Pairs are split before the
  text is written, so the validation sums (and the exact-match prompts) were never seen in
  training. Windows start at line starts, so a prompt ``<bos>23+45=`` looks like training data.
- ``subtraction`` a small set of two-digit differences ``68-23=45\n`` (400 lines): the
  fine-tuning target after pretraining on addition (same format, another operation).
- ``rhymes``    ~5 KB of traditional (public-domain) English nursery rhymes typed into
  ``data/rhymes.txt``. Small on purpose: a 2-layer model memorises it and the validation loss
  turns up, which is a lesson in itself.
- ``proverbs``  ~260 traditional English proverbs, one per line (``data/proverbs.txt``, at most
  61 characters each, lower case): line-by-line samples turn from noise into words and
  proverb-like lines within a few hundred steps at a context of 64.
- ``sentences`` sentences from a tiny hand-written grammar, generated from a seed (grammatical
  nonsense such as ``the small cat sees a red ball near the river.``).
- ``pasted``    the user's own text, 200 to 200 000 characters, split 90/10 by position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from optlab.transformer.tokenizer import CharTokenizer

DATA_DIR = Path(__file__).parent / "data"
MIN_CHARS = 200
MAX_CHARS = 200_000
MAX_DISTINCT_CHARS = 1000
VAL_FRACTION = 0.1


class CorpusError(ValueError):
    """A corpus that cannot be used; the message is meant for the user."""


@dataclass(frozen=True, eq=False)
class Corpus:
    """Train and validation text plus the tokenizer built from the training text.

    Attributes:
        name: registry key it came from.
        train_text, val_text: the split (validation characters outside the training vocabulary
            encode to ``<unk>``).
        tokenizer: vocabulary fixed from ``train_text``.
        line_aligned: training windows start only at line starts (one item per line: sums,
            sentences, proverbs); samples are then generated line by line.
        train_ids, val_ids: the encoded splits, int32.
    """

    name: str
    train_text: str
    val_text: str
    tokenizer: CharTokenizer
    line_aligned: bool = False

    @cached_property
    def train_ids(self) -> np.ndarray:
        return self.tokenizer.encode(self.train_text)

    @cached_property
    def val_ids(self) -> np.ndarray:
        return self.tokenizer.encode(self.val_text)

    def line_starts(self, split: str = "train") -> np.ndarray | None:
        """Offsets of every line start in ``split`` if ``line_aligned``, else ``None``."""
        if not self.line_aligned:
            return None
        text = self.train_text if split == "train" else self.val_text
        ends = [m.end() for m in re.finditer("\n", text) if m.end() < len(text)]
        return np.asarray([0, *ends], dtype=np.int32)


def split_by_position(text: str, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """The first ``1 - val_fraction`` of the characters for training, the rest for validation."""
    cut = round(len(text) * (1.0 - val_fraction))
    return text[:cut], text[cut:]


# ---------------------------------------------------------------------------------------------
# addition


def _arithmetic(name: str, lines: list[str], seed: int) -> Corpus:
    lines = [lines[i] for i in np.random.default_rng(seed).permutation(len(lines))]
    n_val = int(len(lines) * VAL_FRACTION)
    train, val = "".join(lines[n_val:]), "".join(lines[:n_val])
    return Corpus(name, train, val, CharTokenizer.from_text(train), line_aligned=True)


def addition_corpus(text: str | None = None, seed: int = 0) -> Corpus:
    """All 90 x 90 sums of two-digit numbers, one per line, pairs split 90/10 with ``seed``."""
    del text
    lines = [f"{a}+{b}={a + b}\n" for a in range(10, 100) for b in range(10, 100)]
    return _arithmetic("addition", lines, seed)


SUBTRACTION_LINES = 400


def subtraction_corpus(text: str | None = None, seed: int = 0) -> Corpus:
    """``SUBTRACTION_LINES`` differences ``a-b=c`` of two-digit numbers with ``a >= b`` (drawn
    with ``seed`` from all 4095), one per line, split 90/10."""
    del text
    pairs = [(a, b) for a in range(10, 100) for b in range(10, a + 1)]
    pick = np.random.default_rng(seed + 1).choice(len(pairs), SUBTRACTION_LINES, replace=False)
    lines = [f"{a}-{b}={a - b}\n" for a, b in (pairs[i] for i in pick)]
    return _arithmetic("subtraction", lines, seed)


def addition_problems(corpus: Corpus, n: int | None = None) -> tuple[list[str], list[str]]:
    """Held-out prompts ``"23+45="`` (or ``"68-23="``) and their answers from the validation
    split."""
    lines = [ln for ln in corpus.val_text.split("\n") if "=" in ln][:n]
    prompts = [ln[: ln.index("=") + 1] for ln in lines]
    return prompts, [ln[ln.index("=") + 1 :] for ln in lines]


def addition_exact_match(prompts: list[str], completions: list[str]) -> float:
    """Fraction of completions whose text up to the first newline is exactly the sum (or the
    difference).

    The true answer is computed from the prompt (``"23+45="`` -> ``"68"``, ``"68-23="`` ->
    ``"45"``), so the metric does not trust the corpus. Anything after the first newline is
    ignored; a completion with no newline is taken whole.
    """
    if len(prompts) != len(completions):
        raise ValueError("one completion per prompt")
    if not prompts:
        return 0.0
    hits = 0
    for prompt, completion in zip(prompts, completions, strict=True):
        hits += completion.split("\n", 1)[0] == arithmetic_answer(prompt)
    return hits / len(prompts)


def arithmetic_answer(prompt: str) -> str:
    """The true answer to ``"23+45="`` or ``"68-23="``."""
    body = prompt.rstrip("=")
    op = "+" if "+" in body else "-"
    a, b = (int(x) for x in body.split(op))
    return str(a + b if op == "+" else a - b)


# ---------------------------------------------------------------------------------------------
# text


def rhymes_corpus(text: str | None = None, seed: int = 0) -> Corpus:
    """The nursery rhymes in ``data/rhymes.txt``, split 90/10 by position."""
    del text, seed
    train, val = split_by_position((DATA_DIR / "rhymes.txt").read_text(encoding="utf-8"))
    return Corpus("rhymes", train, val, CharTokenizer.from_text(train))


_GRAMMAR = {
    "S": [["NP", "VP", "."], ["NP", "VP", "PP", "."], ["NP", "VP", "and", "VP", "."]],
    "NP": [["Det", "N"], ["Det", "Adj", "N"]],
    "VP": [["V", "NP"], ["Vi"]],
    "PP": [["P", "NP"]],
    "Det": [["the"], ["a"], ["every"], ["my"]],
    "Adj": [["small"], ["red"], ["happy"], ["old"], ["quiet"], ["green"]],
    "N": [["cat"], ["dog"], ["bird"], ["ball"], ["tree"], ["river"], ["child"], ["house"]],
    "V": [["sees"], ["likes"], ["finds"], ["follows"], ["paints"]],
    "Vi": [["sleeps"], ["sings"], ["runs"], ["waits"]],
    "P": [["near"], ["under"], ["behind"], ["with"]],
}


def _expand(symbol: str, rng: np.random.Generator) -> list[str]:
    if symbol not in _GRAMMAR:
        return [symbol]
    rule = _GRAMMAR[symbol][rng.integers(len(_GRAMMAR[symbol]))]
    return [word for part in rule for word in _expand(part, rng)]


def sentences_corpus(text: str | None = None, seed: int = 0, n: int = 1500) -> Corpus:
    """``n`` sentences from a tiny grammar, one per line, split 90/10 by position."""
    del text
    rng = np.random.default_rng(seed)
    lines = [" ".join(_expand("S", rng)).replace(" .", ".") + "\n" for _ in range(n)]
    return _by_lines("sentences", lines)


def _by_lines(name: str, lines: list[str]) -> Corpus:
    """Whole lines, the first 90 % for training, line-aligned."""
    cut = round(len(lines) * (1.0 - VAL_FRACTION))
    train, val = "".join(lines[:cut]), "".join(lines[cut:])
    return Corpus(name, train, val, CharTokenizer.from_text(train), line_aligned=True)


def proverbs_corpus(text: str | None = None, seed: int = 0) -> Corpus:
    """The proverbs in ``data/proverbs.txt``, one per line, the first 90 % for training."""
    del text, seed
    raw = (DATA_DIR / "proverbs.txt").read_text(encoding="utf-8")
    return _by_lines("proverbs", [ln + "\n" for ln in raw.splitlines() if ln.strip()])


def check_text(text: str | None) -> str:
    """The user's text with ``\\r\\n`` normalised to ``\\n``, if it can be trained on.

    Raises:
        CorpusError: empty, shorter than ``MIN_CHARS``, longer than ``MAX_CHARS``, or with more
            than ``MAX_DISTINCT_CHARS`` distinct characters.
    """
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError("The pasted text is empty: paste at least 200 characters.")
    if len(text) < MIN_CHARS:
        raise CorpusError(
            f"The pasted text is too short ({len(text)} characters): "
            f"paste at least {MIN_CHARS} characters."
        )
    if len(text) > MAX_CHARS:
        raise CorpusError(
            f"The pasted text is too long ({len(text):,} characters): "
            f"the limit is {MAX_CHARS:,} characters."
        )
    if len(set(text)) > MAX_DISTINCT_CHARS:
        raise CorpusError(
            f"The pasted text has {len(set(text))} distinct characters: "
            f"the limit is {MAX_DISTINCT_CHARS}."
        )
    return text


def pasted_corpus(text: str | None = None, seed: int = 0) -> Corpus:
    """The user's text (checked by ``check_text``), split 90/10 by position.

    Raises:
        CorpusError: as ``check_text``.
    """
    del seed
    train, val = split_by_position(check_text(text))
    return Corpus("pasted", train, val, CharTokenizer.from_text(train))


@dataclass(frozen=True)
class CorpusSpec:
    """A registry entry. ``builder(text=None, seed=0) -> Corpus``; ``needs_text`` for pasted;
    ``arithmetic``: lines ``a+b=c`` / ``a-b=c`` (exact-match accuracy applies); ``pretrain``:
    offered as a corpus to pretrain on before fine-tuning."""

    name: str
    display: str
    description: str
    builder: Callable[..., Corpus]
    needs_text: bool = False
    arithmetic: bool = False
    pretrain: bool = True


CORPORA: dict[str, CorpusSpec] = {
    s.name: s
    for s in (
        CorpusSpec(
            "addition",
            "Two-digit addition",
            "Lines like 23+45=68, generated; held-out sums measure exact-match accuracy.",
            addition_corpus,
            arithmetic=True,
        ),
        CorpusSpec(
            "subtraction",
            "Two-digit subtraction (small)",
            f"{SUBTRACTION_LINES} lines like 68-23=45: little data, the place to fine-tune a "
            "model pretrained on addition.",
            subtraction_corpus,
            arithmetic=True,
            pretrain=False,
        ),
        CorpusSpec(
            "rhymes",
            "Nursery rhymes",
            "About 5 KB of traditional English nursery rhymes (public domain), in the repo.",
            rhymes_corpus,
        ),
        CorpusSpec(
            "sentences",
            "Toy-grammar sentences",
            "Simple sentences generated from a small hand-written grammar, one per line "
            "(a context of 64 holds a whole sentence).",
            sentences_corpus,
        ),
        CorpusSpec(
            "proverbs",
            "Proverbs",
            "About 260 traditional English proverbs, one per line (a context of 64 holds "
            "each): samples turn from noise into words as training goes on.",
            proverbs_corpus,
        ),
        CorpusSpec(
            "pasted",
            "Your own text",
            f"Paste {MIN_CHARS:,} to {MAX_CHARS:,} characters; 90% train, last 10% validation.",
            pasted_corpus,
            needs_text=True,
            pretrain=False,
        ),
    )
}
