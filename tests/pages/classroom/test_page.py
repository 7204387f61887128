"""The Class page and the student's box, driven through AppTest on a SQLite file of their own:
create → join → submit from the lab → the board; hostile input gets messages."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from optlab.config import classroom as C
from optlab.pages.classroom import board
from optlab.shell import classroom
from optlab.store import db
from tests.support.apptest import chart_spec, open_page, page_source

SETUP = {"surface": "ravine", "s.kappa": "10", "opt": "gd,adam", "steps": "100"}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTLAB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPTLAB_DATABASE_URL", raising=False)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'classes.sqlite3'}")
    yield engine
    engine.dispose()


def new_class(engine, **kw):
    ch = C.make_challenge("surfaces", SETUP, ["gd", "adam"], ["learning_rate"], 100, **kw)
    code, token = db.create_class(engine, ch.to_json(), 2)
    return ch, code, token


def add(engine, ch, code, student, name, lr, now=None):
    r = C.evaluate(ch, "adam", {"learning_rate": lr})
    detail = json.dumps({"path": r.path.tolist()})
    db.submit(engine, code, student, name, json.dumps({"optimizer": "adam", "learning_rate": lr}),
              r.score, detail, now=now)  # fmt: skip
    return r


def texts(at, kind) -> str:
    return "\n".join(str(e.value) for e in at.get(kind))


def test_teacher_creates_a_class_and_gets_a_board(store):
    at = open_page("classroom")
    assert at.button(key="class.create")
    at.text_input(key="class.title").input("Ravine race")
    at.button(key="class.create").click().run()
    assert not at.exception, [e.value for e in at.exception]
    code, token = at.query_params["class"], at.query_params["teacher"]
    assert db.normalize_code(code) == code
    assert db.teacher_class(store, code, token).code == code
    md = texts(at, "markdown")
    assert "Ravine race" in md
    assert code in md
    assert "No submissions yet" in texts(at, "info")
    assert at.get("imgs") or at.get("image")  # the QR code
    at.query_params.clear()
    at.run()  # back to the form: the class is listed, a second one can start
    assert f"**{code}**" in texts(at, "markdown")
    at.button(key="class.create").click().run()
    assert at.query_params["class"] != code
    assert len(at.session_state["_optlab_class_mine"]) == 2


def test_forged_teacher_link_gets_a_message(store):
    _, code, _ = new_class(store)
    at = open_page("classroom", {"class": code, "teacher": "forged"})
    assert "not valid" in texts(at, "error")
    assert code not in texts(at, "code")  # nothing of the class is shown


@pytest.mark.parametrize("code", ["ZZZZZZ", "<b>x</b>", "A" * 300])
def test_wrong_join_codes_get_a_message(store, code):
    new_class(store)
    at = open_page("classroom", {"join": code})
    assert "No class has the code" in texts(at, "error")


def student_app(code: str | None, query: dict) -> AppTest:
    at = AppTest.from_string(page_source("surfaces"), default_timeout=120)
    if code:
        at.session_state[classroom.JOINED] = code
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_join_link_then_submit_from_the_lab(store):
    ch, code, _ = new_class(store)
    at = open_page("classroom", {"join": code.lower()})
    assert f"You joined class **{code}**" in texts(at, "success")
    assert at.session_state[classroom.JOINED] == code

    lab = student_app(code, {**dict(ch.setup), "adam.lr": "0.05"})
    assert not lab.exception
    lab.selectbox(key="class.opt").select("adam").run()
    box = texts(lab, "markdown")
    assert f"Class {code}" in box
    assert "learning rate η = 0.05" in box
    assert "surface=ravine" in texts(lab, "code")  # the locked settings are shown
    lab.text_input(key=classroom.NAME_KEY).input("Ada").run()
    lab.button(key="class.submit").click().run()
    assert "Submitted: score" in texts(lab, "success"), texts(lab, "error")
    assert "rank 1 of 1 so far" in texts(lab, "success")
    (row,) = db.board(store, db.open_class(store, code).id)
    expected = C.evaluate(ch, "adam", {"learning_rate": 0.05}).score
    assert row.name == "Ada"
    assert row.score == pytest.approx(expected)  # computed by the server, not sent
    # Pressing again at once: refused, with a message, counted.
    lab.button(key="class.submit").click().run()
    assert "wait" in texts(lab, "error")
    assert db.open_class(store, code).refused == 1


def test_without_a_class_the_lab_shows_no_box(store):
    lab = student_app(None, {})
    assert not lab.exception
    assert "Submit to the class" not in [b.label for b in lab.button]


def test_no_name_and_closed_class_get_messages(store):
    ch, code, token = new_class(store)
    lab = student_app(code, dict(ch.setup))
    lab.button(key="class.submit").click().run()
    assert "display name" in texts(lab, "error")
    assert db.open_class(store, code).refused == 1  # counted, and no engine run spent
    db.set_flags(store, code, token, closed=True)
    lab = student_app(code, dict(ch.setup))
    assert lab.button(key="class.submit").disabled
    assert "closed" in texts(lab, "caption")


def test_an_expired_class_in_the_lab_gets_a_message(store):
    ch = C.make_challenge("surfaces", SETUP, ["adam"], ["learning_rate"], 100)
    code, _ = db.create_class(store, ch.to_json(), 0.25, now=time.time() - 3600)
    lab = student_app(code, dict(ch.setup))
    assert "expired" in texts(lab, "error")


def test_the_board_shows_every_entry_and_path_and_reveals(store):
    ch, code, token = new_class(store)
    names = ["<b>Bold</b>", "*star*", "Cy"]
    for i, (name, lr) in enumerate(zip(names, (0.01, 0.05, 0.2), strict=True)):
        add(store, ch, code, f"s{i}", name, lr)
    at = open_page("classroom", {"class": code, "teacher": token})
    table = at.dataframe[0].value
    assert sorted(table["name"]) == sorted(names)  # shown as text in the table
    assert list(table["rank"]) == [1, 2, 3]
    assert table["score"].is_monotonic_increasing
    spec = chart_spec(at, "board.map")
    paths = [t for t in spec["data"] if t.get("mode") == "lines"]
    assert len(paths) == 3
    assert all("<b>" not in t["name"] for t in paths)  # escaped for plotly
    sweep = chart_spec(at, "board.sweep.adam.learning_rate")
    assert [t["name"] for t in sweep["data"]] == ["students"]
    at.button(key="board.reveal").click().run()
    assert db.open_class(store, code).revealed
    sweep = chart_spec(at, "board.sweep.adam.learning_rate")
    assert "engine's sweep" in [t["name"] for t in sweep["data"]]
    best = texts(at, "success")
    assert "Best:" in best
    csv = at.get("download_button")
    assert csv


def test_teacher_buttons_close_and_reset(store):
    ch, code, token = new_class(store)
    add(store, ch, code, "s0", "Ann", 0.05)
    at = open_page("classroom", {"class": code, "teacher": token})
    at.button(key="board.close").click().run()
    assert db.open_class(store, code).closed
    assert at.button(key="board.reset").disabled  # needs "I am sure"
    at.checkbox(key="board.sure").check().run()
    at.button(key="board.reset").click().run()
    assert db.board(store, db.open_class(store, code).id) == []


def test_csv_defuses_formulas():
    import pandas as pd

    from optlab.pages.classroom import compute

    text = compute.csv_text(pd.DataFrame({"name": ["=1+1", "@x", "ok"], "score": [1, 2, 3]}))
    assert "'=1+1" in text
    assert "'@x" in text
    assert "\nok," in text


def test_data_and_sgd_students_submit_too(store):
    setup = {"opt": "gd", "seeds": "4", "std": "1"}
    ch = C.make_challenge("data", setup, ["gd"], ["learning_rate"], 100, score="reach", target=1.0)
    code, token = db.create_class(store, ch.to_json(), 2)
    at = AppTest.from_string(page_source("data"), default_timeout=120)
    at.session_state[classroom.JOINED] = code
    for k, v in {**dict(ch.setup), "gd.lr": "0.05"}.items():
        at.query_params[k] = v
    at.run()
    assert "learning rate η = 0.05" in texts(at, "markdown")
    at.text_input(key=classroom.NAME_KEY).input("Dee").run()
    at.button(key="class.submit").click().run()
    assert "Submitted:" in texts(at, "success"), texts(at, "error")
    (row,) = db.board(store, db.open_class(store, code).id)
    assert row.score == C.evaluate(ch, "gd", {"learning_rate": 0.05}).score
    board = open_page("classroom", {"class": code, "teacher": token})
    spec = chart_spec(board, "board.map")
    assert [t["name"] for t in spec["data"] if t.get("mode") == "lines"] == ["Dee"]
    assert spec["layout"]["xaxis"]["title"]["text"] == "w (slope)"


def test_a_surfaces_class_seen_from_the_data_page_points_to_its_page(store):
    _, code, _ = new_class(store)
    at = AppTest.from_string(page_source("data"), default_timeout=120)
    at.session_state[classroom.JOINED] = code
    at.run()
    assert "runs on the Surfaces page" in texts(at, "info")
    assert "Submit to the class" not in [b.label for b in at.button]


def test_the_projected_board_folds_its_terms_and_keeps_the_private_link_off_it(store):
    """``present=1``: the challenge's terms in a collapsed expander, the private teacher link
    and the Reset / Delete buttons in the (collapsed) sidebar, board and map sized for
    1280×720; without it the board is as it was."""
    ch, code, token = new_class(store, title="Ravine race")
    add(store, ch, code, "s0", "Ann", 0.05)
    shown = open_page("classroom", {"class": code, "teacher": token, "present": "1"})
    assert [e.label for e in shown.main.expander] == ["About this challenge"]
    assert [e.label for e in shown.sidebar.expander] == ["Private teacher link (do not project it)"]
    assert {b.key for b in shown.sidebar.button} == {"board.reset", "board.delete"}
    assert {b.key for b in shown.main.button} >= {"board.reveal", "board.close"}
    assert chart_spec(shown, "board.map")["layout"]["height"] == board.PRESENT["map"]
    shown.button(key="board.reveal").click().run()
    assert db.open_class(store, code).revealed
    plain = open_page("classroom", {"class": code, "teacher": token})
    assert [e.label for e in plain.main.expander] == ["Private teacher link (do not project it)"]
    assert not plain.sidebar.button
    assert any(c.value.startswith("Locked setup:") for c in plain.caption)
