"""Hostile share links: random and malicious query strings through the real app (AppTest).

Whatever the URL holds (unknown keys and values, huge numbers, nan/inf, negative steps,
repeated keys, script tags, very long or odd unicode values) the page must render without a
traceback, and every invalid parameter must produce the "adjusted or ignored" notice.
Each example is a fresh AppTest session (about a second), so the example count is modest.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from optlab.config.surfaces_link import parse_query
from surfaces import SURFACES

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NOTICE = "Some link parameters were adjusted or ignored"

KNOWN_KEYS = (
    "surface", "opt", "adam.lr", "gd.lr", "momentum.lr", "adam.b1", "adam.eps", "steps",
    "start", "sched", "sched.alpha", "clip", "clip_at", "wd", "wd_at", "log", "frame_ms",
    "view3d", "inspect", "at", "present", "hide", "s.kappa",
)  # fmt: skip
HOSTILE = (
    "nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e-400", "-5", "-0", "0",
    "99999999999999999999999999", "0x10", "1_000", "١٢٣", "", " ", "abc", "none", "None",
    "<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>", "`rm -rf /`", "%00",
    "\x00", "\u202e\u0644", "💣", "1,2,3", ",", "1,,", "-1e9,1e9", "gd,adam,gd,bogus",
    "{{7*7}}", "${jndi:ldap://x}", "../../etc/passwd", "x" * 201, "9" * 5000,
)  # fmt: skip
# Pairs that are invalid whatever else the link holds.
INVALID = (
    ("steps", "-5"), ("steps", "nan"), ("adam.lr", "inf"), ("adam.lr", "abc"),
    ("surface", "<script>alert(1)</script>"), ("opt", "bogus"), ("start", "1,2,3"),
    ("frobnicate", "1"), ("<script>", "x"), ("clip", "sometimes"), ("hide", "everything"),
    ("frame_ms", "1e309"), ("s.nope", "1"), ("adam.nope", "1"), ("present", "maybe"),
    ("💣" * 3, "💣"), ("adam.lr", "9" * 5000),
)  # fmt: skip

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
values = st.one_of(
    st.sampled_from(HOSTILE),
    text,
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(list(SURFACES)),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), text.filter(bool), st.just("k" * 100))
queries = st.dictionaries(
    keys, st.one_of(values, st.lists(values, min_size=2, max_size=3)), max_size=6
)


def run_with(query: dict[str, str | list[str]]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    return at


def notice_text(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning if NOTICE in w.value)


def check(query: dict[str, str | list[str]], surely_invalid: bool) -> None:
    at = run_with(query)
    assert not at.exception, (query, [e.value for e in at.exception])
    _, notices = parse_query(query)
    shown = notice_text(at)
    if surely_invalid or notices:
        assert shown, f"no notice for an invalid link: {query!r}"
        for n in notices:
            assert n in shown, (n, shown)
    else:
        assert not shown, f"a notice for a valid link: {query!r}: {shown}"


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@given(query=queries, bad=st.sampled_from(INVALID), repeat=st.booleans())
@example(query={"steps": ["10", "-5", "2000"], "adam.lr": ["0.01", "0.01"]},
         bad=("steps", "-5"), repeat=True)  # fmt: skip
@example(query={"surface": "x" * 5000, "opt": "<b>gd</b>"}, bad=("opt", "bogus"), repeat=False)
@example(query={"start": "nan,inf", "sched": "\x00"}, bad=("start", "1,2,3"), repeat=False)
def test_hostile_links_render_with_a_notice(query, bad, repeat):
    """Random parameters plus one surely-invalid pair (also as a repeated key)."""
    query = dict(query)
    key, value = bad
    query[key] = [value, value] if repeat else value
    check(query, surely_invalid=True)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(query=queries)
@example(query={})
@example(query={"adam.lr": "0.05", "steps": "150", "opt": "gd,adam"})
def test_random_links_never_raise_and_notice_exactly_when_invalid(query):
    check(query, surely_invalid=False)
