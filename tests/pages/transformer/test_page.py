"""The Transformer page: its URL state (pure logic) and the page driven headless by AppTest
with a tiny budget (one layer, d = 16, 2 optimizers, 50 steps)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config.transformer import (
    TfConfig,
    parse_tf_query,
    to_tf_query,
    transformer_optimizers,
)
from optlab.pages.transformer import controls, page
from optlab.pages.transformer.view import PANELS
from optlab.shell import navigation
from optlab.transformer import lab
from optlab.transformer.corpus import MIN_CHARS
from tests.support.apptest import chart_spec, open_page

TIMEOUT = 300
TINY = {"layers": "1", "d": "16", "heads": "2", "ctx": "16", "steps": "50", "chunk": "25",
        "opt": "gd,adam"}  # fmt: skip


def run_page(query: dict[str, str] | None = None) -> AppTest:
    return open_page("transformer", query, TIMEOUT)


def texts(at: AppTest) -> str:
    elements = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error]
    return "\n".join(str(e.value) for e in elements)


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


# ---------------------------------------------------------------------------------------------
# The URL state.


def test_defaults_write_an_empty_query_and_round_trip():
    assert to_tf_query(TfConfig()) == {}
    assert parse_tf_query({}) == (TfConfig(), [])
    cfg, notices = parse_tf_query({**TINY, "corpus": "rhymes", "adam.lr": "0.02", "sched": "cosine",
                                   "clip": "1", "wd": "decoupled", "wd_at": "0.1"})  # fmt: skip
    assert notices == []
    assert (cfg.n_layer, cfg.d_model, cfg.n_head, cfg.ctx, cfg.steps) == (1, 16, 2, 16, 50)
    assert cfg.optimizers == ("gd", "adam")
    assert cfg.lr("adam") == 0.02
    assert parse_tf_query(to_tf_query(cfg)) == (cfg, [])
    spec = cfg.train_spec("ignored: not pasted")
    assert spec.text == ""
    assert (spec.clip_norm, spec.weight_decay, spec.l2) == (1.0, 0.1, 0.0)
    assert parse_tf_query({"opt": "none"})[0].optimizers == ()


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"steps": "-5"}, "steps=-5"), ({"d": "abc"}, "not a number"),
        ({"corpus": "bogus"}, "unknown value"), ({"opt": "newton,bogus"}, "no optimizer"),
        ({"adam.lr": "1e9"}, "out of range"), ({"heads": "8", "d": "16"}, None),
        ({"ctx": "50"}, "rounded to 64"), ({"nope": "1"}, "unknown parameter"),
        ({"gd.lr": "0.1", "opt": "adam"}, "GD is not selected"),
    ],
)  # fmt: skip
def test_garbage_falls_back_to_defaults_with_a_notice(query, fragment):
    cfg, notices = parse_tf_query(query)
    if fragment is None:
        assert notices == []
        return
    assert any(fragment in n for n in notices), notices
    assert cfg.steps in (TfConfig().steps, 50)


def test_hessian_optimizers_are_not_offered():
    assert "newton" not in transformer_optimizers()
    assert parse_tf_query({"opt": "adam,newton"})[0].optimizers == ("adam",)


def test_the_page_is_registered_with_the_keys_arrival_expects():
    assert "transformer" in {p.url_path for p in navigation.PAGES}
    from optlab.shell.state import state_keys

    assert state_keys("transformer") == (controls.CFG, controls.LOADED, controls.NOTICES)


# ---------------------------------------------------------------------------------------------
# The page.


def test_first_visit_shows_defaults_parameter_count_and_train_hint():
    at = run_page()
    assert at.selectbox(key="t.corpus").value == "addition"
    assert at.multiselect(key="t.opt").value == ["gd", "momentum", "rmsprop", "adam"]
    assert at.select_slider(key="t.steps").value == 1000
    assert "103,296 parameters" in texts(at)
    assert "Press **Train**" in texts(at)
    assert at.button(key="t.stop").disabled


def test_a_link_sets_the_controls_and_garbage_shows_a_notice():
    at = run_page({**TINY, "adam.lr": "0.02", "steps": "-3", "d": "oops"})
    assert at.select_slider(key="t.layers").value == 1
    assert at.select_slider(key="t.lr.adam").value == 0.02
    assert at.select_slider(key="t.steps").value == 1000  # the default, with a notice
    notice = "\n".join(w.value for w in at.warning)
    assert "steps=-3" in notice
    assert "d=oops" in notice
    at.select_slider(key="t.steps").set_value(100).run()
    assert at.query_params["steps"] == "100"
    assert not at.warning  # the notice goes once the user changes something


def test_pasted_text_errors_show_inline_and_good_text_trains():
    at = run_page({"corpus": "pasted"})
    assert "empty" in at.error[0].value
    at.text_area(key="t.text").input("too short").run()
    assert "too short" in at.error[0].value
    assert "Fix the text" in at.info[0].value
    at.text_area(key="t.text").input("la " * MIN_CHARS).run()
    assert not at.error
    assert "parameters" in texts(at)


@pytest.fixture(scope="module")
def trained() -> AppTest:
    at = run_page(TINY)
    ok(at.button(key="t.train").click().run())
    return at


def test_train_shows_done_curves_and_results(trained):
    at = trained
    assert progress_text(at).startswith("Done: 50 steps × 2 runs")
    assert any("t.curves" in c.proto.id for c in at.get("plotly_chart"))
    assert "#### Results" in texts(at)
    assert at.dataframe[0].value["optimizer"].tolist() == ["GD", "Adam"]
    assert at.button(key="t.stop").disabled


def test_every_panel_renders(trained, monkeypatch):
    monkeypatch.setattr(lab, "CTX_SWEEP", (8, 16, 32))
    monkeypatch.setattr(lab, "WIDTH_SWEEP", (8, 16))
    at = trained
    for panel in PANELS:
        ok(at.button_group(key="t.panel").set_value(panel).run())
        for button in ("t.land.go", "t.time.go"):
            if any(b.key == button for b in at.button):
                ok(at.button(key=button).click().run())
        assert len(at.get("plotly_chart")) >= 2 or panel == "Samples", panel
    ok(at.button_group(key="t.panel").set_value("Loss landscape").run())
    ok(at.radio(key="t.land.method").set_value("random").run())
    ok(at.button(key="t.land.go").click().run())
    assert "random direction 1" in at.get("plotly_chart")[1].proto.spec
    at.button_group(key="t.panel").set_value("Samples").run()
    ok(at.select_slider(key="t.temp").set_value(0.0).run())
    boxes = [h.proto.body for h in at.main.get("html")]
    assert len(boxes) == 2 * 3  # 2 optimizers x checkpoints 0, 25, 50
    assert all(b.count('class="tf-sample"') == 4 for b in boxes)  # 4 lines each (addition)


def test_a_revisit_shows_the_cached_run_without_training(trained, compile_counter):
    at = run_page(TINY)  # a new session, same configuration
    assert "from the cache" in progress_text(at)
    assert at.dataframe[0].value["optimizer"].tolist() == ["GD", "Adam"]
    assert compile_counter.count == 0


def _interrupted_job(query: dict[str, str]) -> tuple[AppTest, page.Job]:
    """A session whose training was interrupted after its first chunk (as any click does: the
    rerun stops the script at its next drawing call, between two chunks)."""
    at = run_page(query)
    spec = parse_tf_query(query)[0].train_spec()
    job = page.Job(spec, lab.Training(spec))
    first_report(job.training)
    job.result = job.training.result
    at.session_state[page.JOB] = job
    return at, job


def first_report(training: lab.Training) -> None:
    """Advance through the stages (compiling, if needed) to the first chunk's report."""
    while training.result is None:
        training.advance()


def test_an_interrupted_run_resumes_on_the_next_rerun():
    at, job = _interrupted_job({**TINY, "steps": "100"})
    ok(at.run())
    assert job.status == "done"
    assert job.result.report.step == 100
    assert progress_text(at).startswith("Done: 100 steps")


def test_stop_callback_ends_the_job_and_keeps_the_partial_result(monkeypatch):
    spec = parse_tf_query(TINY)[0].train_spec()
    training = lab.Training(spec)
    first_report(training)
    job = page.Job(spec, training, training.result)
    monkeypatch.setattr(page.st, "session_state", {page.JOB: job})
    page.on_stop()  # a flag only: an older run may be inside a chunk
    assert job.status == "stopped"
    assert not page.advance(job)  # the loop sees the flag between chunks
    assert job.result.report.step == 25
    page.settle(job)  # the next run releases the training
    assert job.training is None
    assert not training.advance()  # closed: nothing keeps training in the background


def test_a_stop_between_chunks_shows_the_partial_result():
    at, job = _interrupted_job({**TINY, "steps": "100", "chunk": "10"})
    inner, calls = job.training.advance, []

    def advance_with_a_stop_during_the_third_chunk():
        calls.append(1)
        if len(calls) == 2:
            job.status = "stopped"  # as Stop's callback would, while the chunk runs
        return inner()

    job.training.advance = advance_with_a_stop_during_the_third_chunk
    ok(at.run())
    assert job.status == "stopped"
    assert job.result.report.step == 30  # the chunk under way is kept, no more
    assert progress_text(at).startswith("Stopped at step 30 of 100")
    assert "(partial: stopped early)" in texts(at)
    assert at.button(key="t.stop").disabled
    assert at.dataframe[0].value["optimizer"].tolist() == ["GD", "Adam"]


def test_a_new_run_waits_for_the_chunk_in_flight_of_an_older_run():
    """Streamlit starts the new run while the old one is still inside a chunk: the new
    run must wait for that chunk (not fail with "generator already executing")."""
    import threading

    spec = parse_tf_query({**TINY, "steps": "100"})[0].train_spec()
    job = page.Job(spec, lab.Training(spec))
    while job.training.stage != "train":  # compiled (a stage of its own), before any chunk
        job.training.advance()
    old_run = threading.Thread(target=page.advance, args=(job,))
    old_run.start()  # the first chunk is in flight for a while
    while not job.lock.locked() and old_run.is_alive():
        pass
    assert page.advance(job)  # blocks until the old run's chunk has landed
    old_run.join()
    assert job.status == "running"
    assert job.result.report.step == 50  # both chunks landed, in order


def test_remembered_panel_values_that_no_longer_fit_are_reset(trained):
    """Values left from another result (more layers, a longer context) must not break a panel."""
    at = trained
    for key, value in {"t.att.layer": 3, "t.att.head": 7, "t.tf.n": 99, "t.att.opt": "Lion",
                       "t.tf.text": "9" * 200, "t.num.text": "8" * 200}.items():  # fmt: skip
        at.session_state[key] = value
    ok(at.button_group(key="t.panel").set_value("Attention").run())
    assert at.selectbox(key="t.att.layer").value == 0
    assert at.selectbox(key="t.att.head").value == 0
    assert at.selectbox(key="t.att.opt").value in ("GD", "Adam")
    ok(at.button_group(key="t.panel").set_value("Teacher forcing vs generation").run())
    assert len(at.text_area(key="t.tf.text").value) <= 16  # a held-out line, "\n" included
    assert at.number_input(key="t.tf.n").value == len("23+45=")  # a sum, given up to "="
    ok(at.button_group(key="t.panel").set_value("Text → numbers").run())
    assert len(at.text_input(key="t.num.text").value) <= 15


@pytest.mark.parametrize(
    ("status", "step", "text"),
    [
        ("running", None, "compiling the training program"),
        ("stopped", None, "Stopped before the first chunk"),
        ("failed", None, "failed before"), ("failed", 25, "Failed after step 25 of 50"),
        ("stopped", 25, "Stopped at step 25 of 50"), ("done", 50, "Done: 50 steps × 2"),
    ],
)  # fmt: skip
def test_status_text(trained, status, step, text):
    done = page.cached(parse_tf_query(TINY)[0].train_spec())
    compiling = SimpleNamespace(stage="compile", spec=done.spec, compile_s=0.0, pretraining=None)
    job = page.Job(done.spec, training=compiling if status == "running" else None, status=status)
    if step is not None:
        job.result = dataclasses.replace(done, report=dataclasses.replace(done.report, step=step))
    assert text in page.status_text(job)


def test_the_accuracy_panel_is_listed_only_for_arithmetic_corpora():
    from optlab.pages.transformer import view

    def result(name):
        return SimpleNamespace(corpus=SimpleNamespace(name=name))

    assert view.ACCURACY in view.panels(result("addition"))
    assert view.ACCURACY in view.panels(result("subtraction"))
    for name in ("rhymes", "proverbs", "sentences", "pasted"):
        assert view.ACCURACY not in view.panels(result(name)), name


def test_fine_tuning_from_the_page_pretrains_once_and_compares_with_scratch():
    query = {**TINY, "corpus": "subtraction", "pretrain": "addition", "pretrain_steps": "200",
             "opt": "adam", "batch": "8,32"}  # fmt: skip
    at = ok(run_page(query))
    assert at.selectbox(key="t.pretrain").value == "addition"
    assert at.multiselect(key="t.batch").value == [8, 32]
    assert "fine-tune 3 runs of a model pretrained on" in texts(at)
    ok(at.button(key="t.train").click().run())
    assert progress_text(at).startswith("Done: 50 steps × 3 runs")
    names = at.dataframe[0].value["optimizer"].tolist()
    assert names == ["Adam · batch 8", "Adam · batch 32", "Adam · batch 8 · scratch"]
    spec = parse_tf_query(query)[0].train_spec()
    assert lab.pretrained(spec) is not None  # cached for the next fine-tuning
    ok(at.button_group(key="t.panel").set_value("Exact-match accuracy").run())
    assert at.get("plotly_chart")


def test_a_training_that_cannot_start_fails_with_its_message(monkeypatch):
    """A full batch of the 7,290 addition windows is refused by the trainer: the job fails
    with the reason (the sidebar leaves such a batch out; this guards the callback)."""
    spec = lab.TrainSpec(batches=(0,), steps=50)
    monkeypatch.setattr(page.st, "session_state", {})
    page.on_train(spec)
    job = page.st.session_state[page.JOB]
    assert job.status == "failed"
    assert "full batch needs at most" in job.error
    assert page.status_text(job) == "Training failed before the first chunk finished."


def test_projector_mode_folds_the_blurb_and_sizes_the_curves(trained):
    """``present=1``: the blurb is a collapsed expander and the loss curves take the
    projector's height (the finished run, from the cache); without it, a caption and the
    curves' own height."""
    shown = run_page({**TINY, "present": "1"})
    assert "from the cache" in progress_text(shown)
    assert [e.label for e in shown.main.expander] == ["About this page"]
    assert chart_spec(shown, "t.curves")["layout"]["height"] == page.PRESENT_HEIGHT
    assert not trained.main.expander
    assert page.ABOUT in [c.value for c in trained.caption]
    assert chart_spec(trained, "t.curves")["layout"]["height"] != page.PRESENT_HEIGHT
