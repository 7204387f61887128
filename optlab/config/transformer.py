"""The Transformer page's configuration as a value, and its URL form (pure logic, no Streamlit).

``parse_tf_query(query) -> (TfConfig, notices)`` never raises: unknown, malformed or
out-of-range values fall back to their defaults with a notice; off-grid numbers snap to the
control's grid (with a notice). ``to_tf_query(cfg)`` writes only what differs from the
defaults, so ``parse_tf_query(to_tf_query(c))[0] == c`` — except for pasted text too long for a
link (``text_fits``): such a link opens the *Your own text* corpus with an empty text box.

URL scheme (all optional)::

    corpus=addition|rhymes|sentences|pasted
    text=eJzL…      the pasted text (corpus=pasted only): zlib + urlsafe base64, ≤ 2000 chars
    layers=2  d=64  heads=4  ctx=16  dropout=0.1                  (the model)
    opt=gd,adam (opt=none)  adam.lr=0.01                      (optimizers, learning rates)
    steps=1000  chunk=50  clip=1  wd=l2|decoupled  wd_at=0.01
    sched=warmup_cosine  sched.warmup=0.2  sched.alpha=0.1      (schedule and its parameters)
    batch=32 | batch=8,full                     (batch size(s); several are compared)
    pretrain=addition  pretrain_steps=1000  scratch=0             (fine-tuning)
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from optlab.config.links import (
    NO_OPTIMIZERS,
    BadValue,
    Reader,
    fmt_num,
    parse_bool,
    parse_choice,
)
from optlab.config.surfaces import Pairs, schedule_defaults
from optlab.config.surfaces_link import parse_params
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap_grid
from optlab.core.schedules import SCHEDULES
from optlab.transformer.corpus import CORPORA, MAX_CHARS, CorpusError, check_text
from optlab.transformer.data import FULL_BATCH
from optlab.transformer.lab import TrainSpec

LAYERS = (1, 2, 3, 4)
D_MODELS = (16, 32, 64, 128)
HEADS = (1, 2, 4, 8)
CTXS = (16, 32, 64, 128)
DROPOUTS = (0.0, 0.1, 0.2, 0.3)
STEPS_OPTIONS = (50, 100, 150, 200, 300, 500, 1000, 2000)
CHUNKS = (10, 25, 50, 100)
CLIPS = (0.0, 0.25, 0.5, 1.0, 2.0, 5.0)  # 0: no clipping
WD_MODES = ("off", "l2", "decoupled")
WD_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1)
LR_GRID = (1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 0.01, 0.02, 0.03, 0.05)
LR_GRID += (0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0)
MAX_OPTIMIZERS = 6
BATCHES = (8, 16, 32, 64, 128, FULL_BATCH)  # FULL_BATCH (0): every window, every step
MAX_BATCHES = 3
PRETRAIN_STEPS = (200, 500, 1000, 2000)
MAX_RUNS = 12  # optimizers x batch sizes (+ the from-scratch runs when fine-tuning)
DEFAULT_OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")
DEFAULT_LRS = {"gd": 0.1, "momentum": 0.1, "rmsprop": 0.001, "adam": 0.003, "adamw": 0.003}
FALLBACK_LR = 0.01
DEFAULT_SCHEDULE = "constant"
DEFAULT_SCHEDULE_PARAMS = schedule_defaults(DEFAULT_SCHEDULE)
TEXT_KEY = "text"
MAX_URL_TEXT = 2000  # characters of the encoded text in a link


def transformer_optimizers() -> tuple[str, ...]:
    """Every registry optimizer that can train the transformer (no Hessian needed)."""
    return tuple(n for n, s in OPTIMIZERS.items() if not s.needs_hessian)


def default_lr(opt: str) -> float:
    return DEFAULT_LRS.get(opt, snap_grid(LR_GRID, OPTIMIZERS[opt].defaults()["learning_rate"]))


@dataclass(frozen=True)
class TfConfig:
    """Everything the Transformer page's controls hold (hashable; ``lrs`` aligned with
    ``optimizers``; ``schedule_params`` every parameter of ``schedule``). ``clip == 0`` means
    no clipping; ``text`` is the pasted text (kept while another corpus is chosen)."""

    corpus: str = "addition"
    text: str = ""
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    ctx: int = 16
    dropout: float = 0.0
    optimizers: tuple[str, ...] = DEFAULT_OPTIMIZERS
    lrs: tuple[tuple[str, float], ...] = tuple((o, default_lr(o)) for o in DEFAULT_OPTIMIZERS)
    steps: int = 1000
    chunk: int = 50
    schedule: str = DEFAULT_SCHEDULE
    schedule_params: Pairs = DEFAULT_SCHEDULE_PARAMS
    clip: float = 0.0
    wd: str = "off"
    wd_at: float = 0.01
    batches: tuple[int, ...] = (32,)
    pretrain: str = ""  # "" = train from scratch; else fine-tune a model pretrained on it
    pretrain_steps: int = 1000
    scratch: bool = True

    def lr(self, opt: str) -> float:
        return dict(self.lrs).get(opt, default_lr(opt))

    def with_optimizers(self, opts: Sequence[str]) -> TfConfig:
        """This configuration with the selection ``opts``; known learning rates are kept."""
        opts = tuple(opts)
        return replace(self, optimizers=opts, lrs=tuple((o, self.lr(o)) for o in opts))

    def train_spec(self, text: str | None = None) -> TrainSpec:
        """What the numbers depend on (``text``, default ``self.text``: the pasted text, used
        only for ``pasted``)."""
        text = self.text if text is None else text
        return TrainSpec(
            corpus=self.corpus,
            text=text if CORPORA[self.corpus].needs_text else "",
            n_layer=self.n_layer,
            d_model=self.d_model,
            n_head=self.n_head,
            ctx=self.ctx,
            dropout=self.dropout,
            runs=self.lrs,
            schedule=self.schedule,
            schedule_params=self.schedule_params,
            clip_norm=self.clip if self.clip > 0 else math.inf,
            l2=self.wd_at if self.wd == "l2" else 0.0,
            weight_decay=self.wd_at if self.wd == "decoupled" else 0.0,
            steps=self.steps,
            chunk=min(self.chunk, self.steps),
            batches=() if self.batches == (32,) else self.batches,
            pretrain=self.pretrain,
            pretrain_steps=self.pretrain_steps,
            scratch=self.scratch,
        )

    @property
    def n_runs(self) -> int:
        extra = len(self.optimizers) if self.pretrain and self.scratch else 0
        return len(self.optimizers) * len(self.batches) + extra


# ---------------------------------------------------------------------------------------------
# Pasted text <-> URL value.


@functools.lru_cache(maxsize=8)
def encode_text(text: str) -> str:
    """``text`` as a URL value: UTF-8, zlib (level 9), URL-safe base64 without padding."""
    packed = zlib.compress(text.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def text_fits(text: str) -> bool:
    """Whether ``text`` is short enough (encoded) to travel in a link."""
    return len(encode_text(text)) <= MAX_URL_TEXT


def _inflate(packed: bytes) -> bytes:
    """zlib-decompressed ``packed``, at most what ``MAX_CHARS`` characters take in UTF-8 (a
    small value cannot inflate into a huge one); one complete stream, nothing after it."""
    limit = 4 * MAX_CHARS
    inflate = zlib.decompressobj()
    raw = inflate.decompress(packed, limit + 1)
    if len(raw) > limit:
        raise BadValue(f"longer than {MAX_CHARS:,} characters once unpacked")
    if not inflate.eof or inflate.unused_data:
        raise BadValue("not a complete packed text")
    return raw


def decode_text(value: str) -> str:
    """The text a URL value holds, checked as the paste box checks it (``check_text``).

    Raises:
        BadValue: over ``MAX_URL_TEXT`` characters, not URL-safe base64 of zlib-packed UTF-8, or a
            text the paste box refuses (empty, too short, too long, too many characters).
    """
    value = value.strip()
    if len(value) > MAX_URL_TEXT:
        raise BadValue(f"too long for a link ({len(value):,} characters; at most {MAX_URL_TEXT:,})")
    try:
        padded = value + "=" * (-len(value) % 4)
        text = _inflate(base64.b64decode(padded, altchars=b"-_", validate=True)).decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError) as e:
        raise BadValue("not a text packed by this page") from e
    try:
        check_text(text)
    except CorpusError as e:
        raise BadValue(str(e).rstrip(".")) from e
    return text


def link_text(cfg: TfConfig) -> str | None:
    """The URL value of ``cfg``'s pasted text, or ``None`` when none goes into the link (another
    corpus, a text the paste box refuses, or one too long for a link)."""
    if not CORPORA[cfg.corpus].needs_text:
        return None
    try:
        check_text(cfg.text)
    except CorpusError:
        return None
    value = encode_text(cfg.text)
    return value if len(value) <= MAX_URL_TEXT else None


def text_note(cfg: TfConfig) -> str | None:
    """Why a usable pasted text is not in the link (``None``: it is, or there is none)."""
    if not CORPORA[cfg.corpus].needs_text or link_text(cfg) is not None:
        return None
    try:
        check_text(cfg.text)
    except CorpusError:
        return None  # the paste box shows what is wrong with it
    return (
        f"Your text is too long to travel in a link ({len(encode_text(cfg.text)):,} characters "
        f"packed; a link holds {MAX_URL_TEXT:,}): whoever opens this link gets an empty text "
        "box and has to paste the text themselves."
    )


# ---------------------------------------------------------------------------------------------
# Query <-> TfConfig.


def _lrs(r: Reader, opts: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    lrs = tuple((o, r.grid(f"{o}.lr", LR_GRID, default_lr(o), log=True)) for o in opts)
    r.other_optimizer_keys(opts)
    return lrs


def _corpus_text(r: Reader, corpus: str, value: str | None) -> tuple[str, str]:
    """The corpus and pasted text a link asks for; a text that cannot be used falls back to
    the default corpus."""
    if value is None:
        return corpus, ""
    if not CORPORA[corpus].needs_text:
        r.note(TEXT_KEY, value, f"only used with the {CORPORA['pasted'].display!r} corpus; ignored")
        return corpus, ""
    try:
        return corpus, decode_text(value)
    except BadValue as e:
        default = TfConfig().corpus
        r.note(TEXT_KEY, value, f"{e}; using the {CORPORA[default].display!r} corpus instead")
        return default, ""


def _last(value: str | Sequence[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value[-1]) if len(value) else None


def parse_tf_query(query: Mapping[str, str | Sequence[str]]) -> tuple[TfConfig, list[str]]:
    """The configuration a URL asks for, and a notice for every value that was ignored."""
    query = dict(query)
    text = _last(query.pop(TEXT_KEY, None))  # longer than ``Reader`` takes: checked here
    r = Reader(query)
    base = TfConfig()
    corpus = r.get("corpus", lambda t: parse_choice(t, list(CORPORA)), base.corpus)
    corpus, text = _corpus_text(r, corpus, text)
    schedule = r.get("sched", lambda t: parse_choice(t, list(SCHEDULES)), base.schedule)
    spec = SCHEDULES[schedule]
    sched_params = parse_params(r, "sched", spec.params, f"The {spec.display} schedule")
    opts = r.optimizers(
        base.optimizers,
        allowed=transformer_optimizers(),
        most=MAX_OPTIMIZERS,
        none_known="no optimizer that can train the transformer; using the default",
        dropped="unknown or Hessian-based optimizer(s) ignored",
    )
    d_model = r.grid("d", D_MODELS, base.d_model, log=True)
    n_head = r.grid("heads", HEADS, base.n_head, log=True)
    if d_model % n_head:
        r.note("heads", str(n_head), f"does not divide d={d_model}; using {base.n_head}")
        n_head = base.n_head
    cfg = TfConfig(
        corpus=corpus,
        text=text,
        n_layer=r.grid("layers", LAYERS, base.n_layer),
        d_model=d_model,
        n_head=n_head,
        ctx=r.grid("ctx", CTXS, base.ctx, log=True),
        dropout=r.grid("dropout", DROPOUTS, base.dropout),
        optimizers=opts,
        lrs=_lrs(r, opts),
        steps=r.grid("steps", STEPS_OPTIONS, base.steps, log=True),
        chunk=r.grid("chunk", CHUNKS, base.chunk, log=True),
        schedule=schedule,
        schedule_params=sched_params,
        clip=r.grid("clip", CLIPS, base.clip),
        wd=r.get("wd", lambda t: parse_choice(t, WD_MODES), base.wd),
        wd_at=r.grid("wd_at", WD_GRID, base.wd_at, log=True),
        batches=_batches(r, base.batches),
        pretrain=_pretrain(r, corpus),
        pretrain_steps=r.grid("pretrain_steps", PRETRAIN_STEPS, base.pretrain_steps, log=True),
        scratch=r.get("scratch", parse_bool, base.scratch),
    )
    cfg = _cap_runs(r, cfg)
    notices = r.finish()
    return cfg, notices


def batch_text(b: int) -> str:
    return "full" if b == FULL_BATCH else str(b)


def _parse_batches(text: str) -> tuple[int, ...]:
    names = {batch_text(b): b for b in BATCHES}
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or any(p not in names for p in parts):
        raise BadValue(f"batch sizes are among {', '.join(names)}")
    out = tuple(dict.fromkeys(names[p] for p in parts))
    if len(out) > MAX_BATCHES:
        raise BadValue(f"at most {MAX_BATCHES} batch sizes")
    return out


def _batches(r: Reader, default: tuple[int, ...]) -> tuple[int, ...]:
    return r.get("batch", _parse_batches, default)


def _pretrain(r: Reader, corpus: str) -> str:
    allowed = [n for n, c in CORPORA.items() if c.pretrain]
    name = r.get("pretrain", lambda t: parse_choice(t, allowed), "", shown_default="none")
    if name and name == corpus:
        r.note("pretrain", name, "is the corpus being trained on; training from scratch")
        return ""
    return name


def fit_batches(cfg: TfConfig) -> TfConfig:
    """``cfg`` with only as many batch sizes as keep the runs within ``MAX_RUNS``."""
    n = max(1, len(cfg.optimizers))
    extra = n if cfg.pretrain and cfg.scratch else 0
    return replace(cfg, batches=cfg.batches[: max(1, (MAX_RUNS - extra) // n)])


def _cap_runs(r: Reader, cfg: TfConfig) -> TfConfig:
    fitted = fit_batches(cfg)
    if fitted.batches != cfg.batches:
        r.note("batch", ",".join(map(batch_text, cfg.batches)),
               f"too many runs with {len(cfg.optimizers)} optimizers (at most {MAX_RUNS}); "
               f"using {','.join(map(batch_text, fitted.batches))}")  # fmt: skip
    return fitted


_KEYS = (
    ("corpus", "corpus"),
    ("layers", "n_layer"),
    ("d", "d_model"),
    ("heads", "n_head"),
    ("ctx", "ctx"),
    ("dropout", "dropout"),
    ("steps", "steps"),
    ("chunk", "chunk"),
    ("sched", "schedule"),
    ("clip", "clip"),
    ("wd", "wd"),
    ("wd_at", "wd_at"),
    ("pretrain", "pretrain"),
)


def to_tf_query(cfg: TfConfig) -> dict[str, str]:
    """The URL parameters for ``cfg``: only what differs from the defaults."""
    base = TfConfig()
    q: dict[str, str] = {}
    for key, attr in _KEYS:
        value = getattr(cfg, attr)
        if value != getattr(base, attr):
            q[key] = value if isinstance(value, str) else fmt_num(float(value))
    if cfg.optimizers != base.optimizers:
        q["opt"] = ",".join(cfg.optimizers) or NO_OPTIMIZERS
    for o, lr in cfg.lrs:
        if lr != default_lr(o):
            q[f"{o}.lr"] = fmt_num(lr)
    for (k, v), (_, d) in zip(cfg.schedule_params, schedule_defaults(cfg.schedule), strict=True):
        if v != d:
            q[f"sched.{k}"] = fmt_num(v)
    if cfg.batches != base.batches:
        q["batch"] = ",".join(map(batch_text, cfg.batches))
    if cfg.pretrain:
        if cfg.pretrain_steps != base.pretrain_steps:
            q["pretrain_steps"] = str(cfg.pretrain_steps)
        if cfg.scratch != base.scratch:
            q["scratch"] = "1" if cfg.scratch else "0"
    if (text := link_text(cfg)) is not None:
        q[TEXT_KEY] = text
    return q
