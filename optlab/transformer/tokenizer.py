"""A character tokenizer with a handful of special tokens.

The vocabulary is fixed from the training text: one id per distinct character (a Python ``str``
element, i.e. one Unicode code point), sorted by code point, after four special tokens:

====  =========  =====================================================================
id    token      meaning
====  =========  =====================================================================
0     ``<pad>``  padding (never produced by the corpora; there for batching helpers)
1     ``<bos>``  start of sequence: every training window and every prompt begins with it
2     ``<eos>``  end of sequence (a stop token for generation)
3     ``<unk>``  any character not seen when the vocabulary was built
====  =========  =====================================================================

``decode(encode(t)) == t`` whenever every character of ``t`` is in the vocabulary. A character
outside it encodes to ``<unk>``, which ``decode`` renders as U+FFFD (``"\ufffd"``): the round trip
is then lossy, by design, since the model has no embedding for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
UNK_CHAR = "\ufffd"

# How a few invisible characters are shown on plot axes (heatmap tick labels).
_VISIBLE = {"\n": "⏎", " ": "␣", "\t": "⇥"}


@dataclass(frozen=True)
class CharTokenizer:
    """Characters <-> int ids. Build it with :meth:`from_text`.

    Attributes:
        chars: the non-special vocabulary, sorted; ``chars[i]`` has id ``i + 4``.
    """

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        if len(set(self.chars)) != len(self.chars) or any(len(c) != 1 for c in self.chars):
            raise ValueError("chars must be distinct single characters")
        index = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose vocabulary is the set of characters of ``text``."""
        return cls(tuple(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> np.ndarray:
        """``text`` as an int32 id array, optionally wrapped in ``<bos>`` / ``<eos>``."""
        ids = [self._index.get(c, UNK) for c in text]
        if bos:
            ids.insert(0, BOS)
        if eos:
            ids.append(EOS)
        return np.asarray(ids, dtype=np.int32)

    def decode(self, ids: Iterable[int], *, keep_special: bool = False) -> str:
        """Ids back to text.

        ``<pad>``, ``<bos>`` and ``<eos>`` are dropped (written out as ``<bos>`` etc. when
        ``keep_special``); ``<unk>`` becomes U+FFFD (or ``<unk>``).
        """
        out = []
        for i in np.asarray(ids, dtype=np.int64).ravel().tolist():
            if i >= len(SPECIALS):
                out.append(self.chars[i - len(SPECIALS)])
            elif keep_special:
                out.append(SPECIALS[i])
            elif i == UNK:
                out.append(UNK_CHAR)
        return "".join(out)

    def token_label(self, i: int) -> str:
        """A printable label for one id (``⏎`` for newline, ``␣`` for space) for plot axes."""
        if i < len(SPECIALS):
            return SPECIALS[i]
        c = self.chars[i - len(SPECIALS)]
        return _VISIBLE.get(c, c if c.isprintable() else f"U+{ord(c):04X}")
