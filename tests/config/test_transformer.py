"""The Transformer page's link: the schedule's parameters and the pasted text in the URL (pure
logic), and the page reading them back (AppTest, no training)."""

from __future__ import annotations

import base64
import zlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from optlab.config.surfaces import schedule_defaults
from optlab.config.transformer import (
    MAX_URL_TEXT,
    TEXT_KEY,
    TfConfig,
    decode_text,
    encode_text,
    link_text,
    parse_tf_query,
    text_note,
    to_tf_query,
)
from optlab.core.schedules import SCHEDULES
from optlab.transformer import lab
from optlab.transformer.corpus import MAX_CHARS, MIN_CHARS
from tests.support.apptest import open_page

UNICODE = (
    "Ünïcödé — naïve café, 日本語のテキスト, Ελληνικά, русский, עברית, 🎉🧪✓, "
    "e\u0301 (combining), tab\there, zero\u200bwidth.\nA second line, and a third:\n"
) * 3
TOO_LONG_FOR_A_LINK = "".join(
    np.random.default_rng(0).choice(list("abcdefghijklmnopqrstuvwxyz .,\n"), 6000)
)


def pack(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


def run_page(query: dict[str, str]) -> AppTest:
    return open_page("transformer", query, 300)


# ---------------------------------------------------------------------------------------------
# Pasted text.


@pytest.mark.parametrize("text", [UNICODE, "ab\r\ncd " * 60, "x" * MIN_CHARS, "🦀" * 300])
def test_pasted_text_round_trips_through_the_url(text):
    cfg = TfConfig(corpus="pasted", text=text)
    query = to_tf_query(cfg)
    assert query["corpus"] == "pasted"
    assert len(query[TEXT_KEY]) <= MAX_URL_TEXT
    assert set(query[TEXT_KEY]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert parse_tf_query(query) == (cfg, [])
    assert decode_text(query[TEXT_KEY]) == text
    assert parse_tf_query(query)[0].train_spec().text == text
    assert text_note(cfg) is None


BAD_TEXTS = [
    ("!!!not base64!!!", "not a text packed by this page"),
    ("abcde", "not a text packed by this page"),  # base64 of no zlib stream
    (pack(b"ok")[:-3], "not a complete packed text"),  # truncated
    (pack(b"\xff\xfe" * 200), "not a text packed by this page"),  # not UTF-8
    (pack(b"a" * 300) + "AAAA", "not a complete packed text"),  # data after the stream
    ("A" * (MAX_URL_TEXT + 1), "too long for a link"),
    (pack(b"a" * (4 * MAX_CHARS + 10)), f"longer than {MAX_CHARS:,} characters"),  # zip bomb
    (pack(b"a" * (MAX_CHARS + 1)), "too long"),  # fits in bytes, too many characters
    (pack(b"hi"), "too short"),
    (pack(b" \n" * 200), "empty"),
    ("", "not a complete packed text"),
]


@pytest.mark.parametrize(("value", "fragment"), BAD_TEXTS)
def test_bad_text_falls_back_to_the_default_corpus_with_a_notice(value, fragment):
    cfg, notices = parse_tf_query({"corpus": "pasted", TEXT_KEY: value, "steps": "50"})
    assert (cfg.corpus, cfg.text) == (TfConfig().corpus, "")
    assert cfg.steps == 50  # the rest of the link still counts
    assert len(notices) == 1, notices
    assert fragment in notices[0]
    assert "Two-digit addition" in notices[0]


def test_text_with_another_corpus_is_ignored_with_a_notice():
    value = to_tf_query(TfConfig(corpus="pasted", text=UNICODE))[TEXT_KEY]
    cfg, notices = parse_tf_query({"corpus": "rhymes", TEXT_KEY: value})
    assert (cfg.corpus, cfg.text) == ("rhymes", "")
    assert "only used with" in notices[0]
    # ... and the text of a configuration on another corpus stays out of the link
    assert TEXT_KEY not in to_tf_query(TfConfig(corpus="rhymes", text=UNICODE))


def test_text_too_long_for_a_link_is_left_out_and_said_so():
    assert len(encode_text(TOO_LONG_FOR_A_LINK)) > MAX_URL_TEXT
    cfg = TfConfig(corpus="pasted", text=TOO_LONG_FOR_A_LINK)
    assert link_text(cfg) is None
    assert to_tf_query(cfg) == {"corpus": "pasted"}
    assert "too long to travel in a link" in text_note(cfg)
    # a text the paste box refuses is not put in the link either (the box says why)
    assert to_tf_query(TfConfig(corpus="pasted", text="short")) == {"corpus": "pasted"}
    assert text_note(TfConfig(corpus="pasted", text="short")) is None


# ---------------------------------------------------------------------------------------------
# Schedule parameters.


def test_schedule_parameters_parse_round_trip_and_reach_training():
    query = {"sched": "warmup_cosine", "sched.warmup": "0.2", "sched.alpha": "0.1"}
    cfg, notices = parse_tf_query(query)
    assert notices == []
    assert cfg.schedule_params == (("warmup", 0.2), ("alpha", 0.1))
    assert to_tf_query(cfg) == query
    only_warmup = parse_tf_query({"sched": "warmup_cosine", "sched.warmup": "0.2"})[0]
    assert to_tf_query(only_warmup) == {"sched": "warmup_cosine", "sched.warmup": "0.2"}
    assert to_tf_query(parse_tf_query({"sched": "cosine"})[0]) == {"sched": "cosine"}

    spec = cfg.train_spec()
    assert spec.schedule_params == cfg.schedule_params
    mult = lab.trainer(spec).mult
    want = SCHEDULES["warmup_cosine"].multipliers(spec.steps, warmup=0.2, alpha=0.1)
    np.testing.assert_array_equal(mult, want)
    assert mult[0] == 0.0
    assert mult[-1] == pytest.approx(0.1, abs=1e-3)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"sched": "cosine", "sched.alpha": "2"}, "out of range"),
        ({"sched": "cosine", "sched.alpha": "abc"}, "not a number"),
        ({"sched": "cosine", "sched.warmup": "0.2"}, "has no such parameter"),
        ({"sched.alpha": "0.5"}, "has no such parameter"),  # the default schedule has none
        ({"sched": "nope", "sched.alpha": "0.5"}, "unknown value"),
        ({"sched": "exponential", "sched.final": "0.0123"}, "rounded to"),
    ],
)
def test_bad_schedule_parameters_give_notices(query, fragment):
    cfg, notices = parse_tf_query(query)
    assert any(fragment in n for n in notices), notices
    names = [k for k, _ in cfg.schedule_params]
    assert names == [k for k, _ in schedule_defaults(cfg.schedule)]


# ---------------------------------------------------------------------------------------------
# The page.


def test_the_page_draws_schedule_parameters_from_the_link_and_writes_them_back():
    at = run_page({"sched": "warmup_cosine", "sched.warmup": "0.2"})
    assert at.selectbox(key="t.sched").value == "warmup_cosine"
    assert at.select_slider(key="t.sched.warmup_cosine.warmup").value == 0.2
    assert at.select_slider(key="t.sched.warmup_cosine.alpha").value == 0.0
    assert any("t.lr_curve" in c.proto.id for c in at.get("plotly_chart"))
    at.select_slider(key="t.sched.warmup_cosine.alpha").set_value(0.1).run()
    assert at.query_params["sched.alpha"] == "0.1"
    assert at.query_params["sched.warmup"] == "0.2"
    at.selectbox(key="t.sched").set_value("step").run()
    assert at.select_slider(key="t.sched.step.gamma").value == 0.5
    assert "sched.alpha" not in at.query_params


def test_the_page_restores_pasted_text_from_the_link_and_shares_it():
    value = to_tf_query(TfConfig(corpus="pasted", text=UNICODE))[TEXT_KEY]
    at = run_page({"corpus": "pasted", TEXT_KEY: value})
    assert at.text_area(key="t.text").value == UNICODE
    assert not at.error
    assert not at.warning
    assert f"{TEXT_KEY}={value}" in at.sidebar.code[0].value
    at.text_area(key="t.text").input(TOO_LONG_FOR_A_LINK).run()
    assert TEXT_KEY not in at.query_params
    assert "too long to travel in a link" in "\n".join(c.value for c in at.caption)


def test_the_page_shows_a_notice_for_a_garbled_text():
    at = run_page({"corpus": "pasted", TEXT_KEY: "garbage"})
    assert at.selectbox(key="t.corpus").value == "addition"
    assert "not a text packed by this page" in at.warning[0].value
