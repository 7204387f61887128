"""Reading a page's link (pure logic, no Streamlit): single values parsed and formatted, and
``Reader``, which hands out a query's values once each, snaps numbers to their grids, parses the
optimizer list and collects a human-readable notice for everything it could not use. Every page's
link scheme (``surfaces_link``, ``data``, ``sweeps``, ``transformer``, ``deepnets``,
``classroom`` in this package) builds on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import HParam, snap, snap_grid

NO_OPTIMIZERS = "none"
# Keys no page reads or writes: Streamlit's own, and the scenario whose explanation the shell
# shows above the page (``optlab.shell.arrival``; it stays in the link so a reload keeps it).
IGNORED_KEYS = frozenset({"embed", "embed_options", "scenario"})
# Keys of widgets bound to the URL by Streamlit itself (``bind="query-params"``; the key is the
# parameter's name): Streamlit reads and writes them, so the readers skip them and the pages'
# own URL writers leave them alone.
BOUND_PREFIXES = ("swt.",)
# Keys every page accepts and the shell reads (``optlab.shell.setup``): projector mode and the
# control groups to hide. A page's reader skips them unless the page keeps them in its own
# configuration (``Reader(..., shell_keys=True)``: the Surfaces page).
SHELL_KEYS = frozenset({"present", "hide"})


def is_bound(key: str) -> bool:
    """Whether URL parameter ``key`` belongs to a widget bound with ``bind="query-params"``."""
    return key.startswith(BOUND_PREFIXES)


def is_kept(key: str) -> bool:
    """Whether a page's URL writer must leave parameter ``key`` alone (ignored or bound)."""
    return key in IGNORED_KEYS or is_bound(key)


MAX_VALUE_LEN = 200
MAX_NOTICES = 25


def put_changed(query: dict[str, str], rows) -> None:
    """Write each ``(key, value, default)`` of ``rows`` whose value is not its default into
    ``query`` (strings as they are, numbers through ``fmt_num``)."""
    for key, value, default in rows:
        if value != default:
            query[key] = value if isinstance(value, str) else fmt_num(float(value))


def fmt_num(v: float) -> str:
    """Shortest exact text for a float (``0.01``, ``1e-08``, ``2``)."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def show(text: str, limit: int = 40) -> str:
    """A user-supplied string made safe to show inside Markdown code spans."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return "".join(c if c.isprintable() else "?" for c in text).replace("`", "'")


MARKDOWN_SPECIALS = "\\`*_[]<>#|~$"


def plain(text: str, limit: int = 200) -> str:
    """A string shown as plain text inside Markdown: every character Markdown would read as
    markup is escaped (``x**2`` stays ``x**2`` instead of turning bold)."""
    text = show(text, limit)
    return "".join("\\" + c if c in MARKDOWN_SPECIALS else c for c in text)


class BadValue(ValueError):
    pass


def lr_spec(opt: str) -> HParam:
    """``opt``'s learning-rate hyperparameter (its slider's range and scale)."""
    return OPTIMIZERS[opt].hparam("learning_rate")


def default_lr(opt: str, defaults: Mapping[str, float]) -> float:
    """``opt``'s default learning rate on a page whose own defaults are ``defaults`` (else the
    registry's), on the slider's grid."""
    h = lr_spec(opt)
    return snap(h, defaults.get(opt, h.default))


def parse_float(text: str) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise BadValue("not a number") from None
    if not math.isfinite(v):
        raise BadValue("not a finite number")
    return v


def parse_int(text: str) -> int:
    v = parse_float(text)
    if not v.is_integer():
        raise BadValue("not a whole number")
    return int(v)


def parse_bool(text: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (raises ``ValueError`` otherwise)."""
    t = text.strip().lower()
    if t in {"1", "true", "yes", "on"}:
        return True
    if t in {"0", "false", "no", "off"}:
        return False
    raise BadValue("expected 0 or 1")


def in_range(v: float, lo: float, hi: float) -> float:
    if not lo <= v <= hi:
        raise BadValue(f"out of range [{fmt_num(lo)}, {fmt_num(hi)}]")
    return v


def hparam_value(h: HParam, text: str) -> tuple[float, str | None]:
    """A URL value for ``h`` snapped to its grid, and a note when snapping moved it."""
    if h.kind == "bool":
        return (1.0 if parse_bool(text) else 0.0), None
    v = in_range(parse_float(text), h.low, h.high)
    s = snap(h, v)
    note = None if math.isclose(s, v, rel_tol=1e-6, abs_tol=1e-12) else f"rounded to {fmt_num(s)}"
    return s, note


def parse_choice(text: str, options: Sequence[str]) -> str:
    t = text.strip()
    if t not in options:
        shown = ", ".join(options[:8]) + (", …" if len(options) > 8 else "")
        raise BadValue(f"unknown value; expected one of {shown}")
    return t


def parse_list(text: str) -> list[str]:
    out: list[str] = []
    for item in text.split(","):
        item = item.strip()  # noqa: PLW2901
        if item and item not in out:
            out.append(item)
    return out


class Reader:
    """Hands out the query's values once each and collects notices."""

    def __init__(self, query: Mapping[str, str | Sequence[str]], shell_keys: bool = False) -> None:
        self.notices: list[str] = []
        self.raw: dict[str, str] = {}
        self.used: set[str] = set()
        skip = IGNORED_KEYS if shell_keys else IGNORED_KEYS | SHELL_KEYS
        for key, value in query.items():
            key = str(key)  # noqa: PLW2901
            values = [value] if isinstance(value, str) else [str(v) for v in value]
            if not values or key in skip or is_bound(key):
                continue
            if len(key) > 64 or len(values[-1]) > MAX_VALUE_LEN:
                self.note(key, values[-1], "too long; ignored")
                continue
            if len(values) > 1:
                self.note(key, values[-1], f"given {len(values)} times; used the last one")
            self.raw[key] = values[-1]

    def note(self, key: str, text: str | None, why: str) -> None:
        shown = f"{show(key)}={show(text)}" if text is not None else show(key)
        self.notices.append(f"`{shown}`: {why}")

    def take(self, key: str) -> str | None:
        self.used.add(key)
        return self.raw.get(key)

    def get(self, key: str, parse, default, shown_default=None):
        """``parse(text)`` for ``key``, or ``default`` (with a notice when the value is bad)."""
        text = self.take(key)
        if text is None:
            return default
        try:
            return parse(text)
        except BadValue as e:
            dflt = shown_default if shown_default is not None else default
            self.note(key, text, f"{e}; using the default {dflt}")
            return default

    def hparam(self, key: str, h: HParam, default: float) -> float:
        text = self.take(key)
        if text is None:
            return default
        try:
            value, note = hparam_value(h, text)
        except BadValue as e:
            self.note(key, text, f"{e}; using the default {fmt_num(default)}")
            return default
        if note:
            self.note(key, text, note)
        return value

    def grid(self, key: str, grid: Sequence[float], default, log: bool = False):
        """``key``'s number snapped to the nearest ``grid`` value (a notice when it moved, or
        the default with a notice when it is no number or out of the grid's range)."""
        text = self.take(key)
        if text is None:
            return default
        try:
            v = in_range(parse_float(text), min(grid), max(grid))
        except BadValue as e:
            self.note(key, text, f"{e}; using the default {fmt_num(default)}")
            return default
        s = snap_grid(grid, v, log)
        if not math.isclose(s, v, rel_tol=1e-6, abs_tol=1e-12):
            self.note(key, text, f"rounded to {fmt_num(s)}")
        return type(default)(s)

    def optimizers(
        self,
        default: tuple[str, ...],
        allowed: Sequence[str] | None = None,
        most: int | None = None,
        none_known: str = "no known optimizer; using the default selection",
        dropped: str = "unknown optimizer(s) ignored",
    ) -> tuple[str, ...]:
        """The ``opt`` list (``none`` for none): names outside ``allowed`` (default: the whole
        registry) are dropped with a notice, and at most ``most`` are kept."""
        text = self.take("opt")
        if text is None:
            return default
        if text.strip().lower() == NO_OPTIMIZERS:
            return ()
        allowed = tuple(OPTIMIZERS) if allowed is None else tuple(allowed)
        names = parse_list(text)
        known = tuple(n for n in names if n in allowed)
        if not known:
            self.note("opt", text, none_known)
            return default
        if unknown := [n for n in names if n not in allowed]:
            self.note("opt", ",".join(unknown), dropped)
        if most is not None and len(known) > most:
            self.note("opt", text, f"at most {most} optimizers; kept the first ones")
        return known[:most]

    def other_optimizer_keys(
        self, opts: Sequence[str], lacks: str = "has no setting {!r} here"
    ) -> None:
        """Note every unread ``<optimizer>.<setting>`` key: that optimizer is not selected, or
        it ``lacks`` that setting here (a template for the setting's name)."""
        for key in self.unused():
            prefix, _, name = key.partition(".")
            if prefix in OPTIMIZERS:
                self.used.add(key)
                why = "is not selected" if prefix not in opts else lacks.format(show(name))
                self.note(key, self.raw[key], f"{OPTIMIZERS[prefix].display} {why}; ignored")

    def unused(self) -> list[str]:
        return [k for k in self.raw if k not in self.used]

    def finish(self) -> list[str]:
        """Note every parameter nobody asked for; the notices, capped at ``MAX_NOTICES``."""
        for key in self.unused():
            self.note(key, self.raw[key], "unknown parameter; ignored")
        notices = self.notices
        if len(notices) > MAX_NOTICES:
            more = len(notices) - MAX_NOTICES + 1
            notices = [*notices[: MAX_NOTICES - 1], f"… and {more} more"]
        return notices
