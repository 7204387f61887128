"""The Transformer page in a real browser (Playwright + Chromium against ``streamlit run
app.py``; the server and browser fixtures come from ``test_browser``).

Marked ``browser``: skipped locally without Chromium/Playwright, required in CI.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support.browser import (
    IDLE,
    shot,
)

pytestmark = pytest.mark.browser

SMALL = "layers=2&d=32&heads=2&ctx=32&opt=gd,adam&chunk=10"  # seconds, not minutes
TRAIN, STOP = ".st-key-t-train button", ".st-key-t-stop button"  # (the toolbar has a "Stop")
JS_CURVES = "Array.from(document.querySelectorAll('.js-plotly-plot'))" \
            ".find(el => (el.data || []).some(t => t.name === 'Adam · val'))"  # fmt: skip
JS_POINTS = f"""() => {{
    const el = {JS_CURVES};
    return el ? JSON.stringify(el.data.map(t => [t.name, t.x.length])) : null;
}}"""
JS_PROGRESS = "() => { const el = document.querySelector('[data-testid=stProgress]');" \
              " return el ? el.innerText : ''; }"  # fmt: skip


def points_when(pg, condition: str, timeout: int = 60_000) -> dict[str, int]:
    """Points per trace of the loss curves, once ``condition`` (JS, on that dict) holds."""
    handle = pg.wait_for_function(
        f"""() => {{ const s = ({JS_POINTS})();
                     const p = s ? Object.fromEntries(JSON.parse(s)) : null;
                     return p && ({condition})(p) ? s : null; }}""",
        timeout=timeout,
    )
    return dict(json.loads(handle.json_value()))


def test_train_shows_progress_and_live_curves_and_stop_keeps_them(page, server, tmp_path):
    # A small budget runs to the end: progress with an estimate, curves growing chunk by chunk.
    page.goto(f"{server}transformer?{SMALL}&steps=500")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator(TRAIN).click()
    page.wait_for_function(
        "() => /Step \\d+ of 500/.test(document.body.innerText)", timeout=120_000
    )
    live = points_when(page, "p => p.GD > 0 && p.GD < 500")  # curves drawn mid-training
    assert live["Adam · val"] >= 2  # step 0 and at least one chunk end
    shot(page, tmp_path, "transformer-training")
    page.wait_for_function(
        "() => document.body.innerText.includes('Done: 500 steps')", timeout=180_000
    )
    page.wait_for_selector(IDLE, timeout=60_000)
    done = points_when(page, "p => p.GD === 500")
    assert done["Adam"] == 500
    assert done["Adam · val"] == 51
    page.get_by_role("heading", name="Results").wait_for(timeout=60_000)  # after a rerun
    assert page.get_by_test_id("stException").count() == 0
    shot(page, tmp_path, "transformer-done")

    # A long budget, stopped while it runs: the partial curves and results stay.
    page.goto(f"{server}transformer?{SMALL}&steps=2000")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator(TRAIN).click()
    page.wait_for_function(
        "() => /Step \\d+ of 2000/.test(document.body.innerText)", timeout=120_000
    )
    page.locator(STOP).click(force=True)  # no wait for "stable": the page redraws meanwhile
    page.wait_for_function(
        "() => document.body.innerText.includes('Stopped at step')", timeout=60_000
    )
    page.wait_for_selector(IDLE, timeout=60_000)
    stopped = int(re.search(r"Stopped at step (\d+) of 2000", page.evaluate(JS_PROGRESS))[1])
    assert 0 < stopped < 2000
    assert points_when(page, f"p => p.GD === {stopped}")["Adam"] == stopped
    page.get_by_text("(partial: stopped early)").wait_for(timeout=60_000)
    page.wait_for_selector(f"{STOP}[disabled]", timeout=30_000)
    shot(page, tmp_path, "transformer-stopped")


def test_train_is_disabled_while_training_then_samples_and_teacher_forcing_read_well(
    page, server, tmp_path
):
    """Train cannot restart a running training; afterwards the samples are lines (a fresh
    window each) and teacher forcing starts from a held-out sum with its divergence boxed."""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server}transformer?{SMALL}&steps=300")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator(TRAIN).click()
    page.wait_for_function(
        "() => /Stage \\d of \\d|Step \\d+ of 300/.test(document.body.innerText)", timeout=120_000
    )
    page.wait_for_selector(f"{TRAIN}[disabled]", timeout=30_000)  # no second, silent restart
    page.wait_for_function(
        "() => document.body.innerText.includes('Done: 300 steps')", timeout=240_000
    )
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Results").wait_for(timeout=60_000)
    assert page.locator(f"{TRAIN}[disabled]").count() == 0
    page.wait_for_function("() => document.querySelectorAll('.tf-sample').length >= 8")
    lines = page.evaluate(
        "() => Array.from(document.querySelectorAll('.tf-sample')).map(e => e.innerText)"
    )
    assert all("\n" not in line.strip() for line in lines)  # one line per box
    assert any(re.fullmatch(r"\d+\+\d+=\d+", line.strip()) for line in lines[-4:]), lines
    page.locator(".tf-sample").last.scroll_into_view_if_needed()
    shot(page, tmp_path, "transformer-samples-1280")
    page.get_by_text("Teacher forcing vs generation", exact=True).click()
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_text("Teacher forcing", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_function(  # the tab's panel is drawn once it is open (a rerun after the click)
        "() => /first leaves the true text|never left the true text/.test(document.body.innerText)",
        timeout=60_000,
    )
    page.wait_for_function(  # the true text is a held-out sum (the box fills in after the rerun)
        "() => /\\d+\\+\\d+=/.test(document.querySelector('.st-key-t-tf-text textarea')?.value)",
        timeout=30_000,
    )
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    shot(page, tmp_path, "transformer-teacher-1280")
    assert page.get_by_test_id("stException").count() == 0


TEACHER_TEXT = (
    "the cat sat on the mat and the dog sat on the log.\n"
    "the sun is hot and the sea is cold and the wind is wild.\n"
    "a bird in a tree sings to the sun and the moon.\n"
    "the old man and the sea went out to fish at dawn.\n"
) * 3


def test_fine_tuning_a_pretrained_model_on_pasted_text(page, server, tmp_path):
    """The teacher's pasted text, fine-tuned from a model pretrained on proverbs: the
    pretraining shows as a labelled stage, then the runs and the from-scratch baseline."""
    from optlab.config.transformer import encode_text

    page.set_viewport_size({"width": 1280, "height": 720})
    query = ("corpus=pasted&pretrain=proverbs&pretrain_steps=200&layers=1&d=32&heads=2&ctx=32"
             f"&steps=50&chunk=25&opt=adam&text={encode_text(TEACHER_TEXT)}")  # fmt: skip
    page.goto(f"{server}transformer?{query}")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator(TRAIN).click()
    page.wait_for_function(
        "() => document.body.innerText.includes('pretraining a model on Proverbs')",
        timeout=120_000,
    )
    shot(page, tmp_path, "transformer-pretraining-1280")
    page.wait_for_function(
        "() => document.body.innerText.includes('Done: 50 steps × 2 runs')", timeout=300_000
    )
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Results").wait_for(timeout=60_000)
    assert page.get_by_text("Adam · scratch", exact=True).count() >= 1  # the samples' column
    page.wait_for_function("() => document.querySelectorAll('.tf-sample').length >= 4")
    page.get_by_role("heading", name="Results").scroll_into_view_if_needed()
    shot(page, tmp_path, "transformer-finetuned-1280")
    assert page.get_by_test_id("stException").count() == 0
