"""Class storage on a real database: codes, tokens, one row per student, refusals."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from optlab.store import db, schema

CH = '{"challenge": 1}'


def new_class(engine, hours=2.0, now=None):
    return db.create_class(engine, CH, hours, now=now)


def submit(engine, code, student, name="Ann", score=0.5, now=None):
    return db.submit(engine, code, student, name, '{"optimizer": "adam"}', score, "{}", now=now)


def test_tables_created_with_a_schema_version(engine):
    new_class(engine)
    with engine.connect() as c:
        v = c.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema"))
        assert v.scalar() == str(schema.SCHEMA_VERSION)
    assert set(sa.inspect(engine).get_table_names()) >= {"optlab_meta", "optlab_classes",
                                                          "optlab_submissions"}  # fmt: skip


def test_a_newer_schema_is_refused(engine_factory):
    e = engine_factory()
    new_class(e)
    with e.begin() as c:
        c.execute(sa.update(schema.meta).values(value=str(schema.SCHEMA_VERSION + 1)))
    with pytest.raises(schema.SchemaError, match="schema version"):
        schema.prepare(engine_factory())


def test_codes_are_short_unambiguous_and_typed_loosely(engine):
    codes = {new_class(engine)[0] for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert len(code) == db.CODE_LEN
        assert set(code) <= set(db.CODE_ALPHABET)
        assert not set(code) & set("01OIL")
        loose = code.lower()[:3] + " - " + code.lower()[3:]
        assert db.open_class(engine, loose).code == code


def test_token_is_long_random_and_stored_hashed(engine):
    code, token = new_class(engine)
    assert len(token) >= 32  # 24 bytes, 192 bits, url-safe base64
    with engine.connect() as c:
        stored = c.execute(sa.select(schema.classes)).first()
    assert token not in repr(tuple(stored))
    assert stored.token_hash == db.token_hash(token)
    assert db.teacher_class(engine, code, token).code == code


@pytest.mark.parametrize("forged", ["", "x", "A" * 5000, "'; DROP TABLE optlab_classes; --"])
def test_forged_tokens_are_refused_and_change_nothing(engine, forged):
    code, _token = new_class(engine)
    submit(engine, code, "s1")
    for action in (
        lambda: db.teacher_class(engine, code, forged),
        lambda: db.set_flags(engine, code, forged, closed=True, revealed=True),
        lambda: db.reset(engine, code, forged),
        lambda: db.delete(engine, code, forged),
    ):
        with pytest.raises(db.Refused) as e:
            action()
        assert e.value.kind == "forbidden"
        assert "not valid" in e.value.message
    row = db.open_class(engine, code)
    assert not row.closed
    assert not row.revealed
    assert len(db.board(engine, row.id)) == 1


def test_another_classes_token_or_code_is_refused_with_the_same_message(engine):
    a, token_a = new_class(engine)
    b, token_b = new_class(engine)
    with pytest.raises(db.Refused) as e1:
        db.teacher_class(engine, a, token_b)
    with pytest.raises(db.Refused) as e2:
        db.teacher_class(engine, "ZZZZZZ", token_a)
    assert e1.value.message == e2.value.message  # nothing learned about other classes
    submit(engine, a, "s1")
    assert db.board(engine, db.open_class(engine, b).id) == []


@pytest.mark.parametrize("code", ["", "ABC", "0OIL11", "<script>", "A" * 500, "ZZZZZZ"])
def test_wrong_codes_get_a_message(engine, code):
    new_class(engine)
    with pytest.raises(db.Refused) as e:
        db.open_class(engine, code)
    assert e.value.kind == "not_found"
    assert "No class has the code" in e.value.message
    assert len(e.value.message) < 200


def test_expired_class_refuses_students_but_not_the_teacher(engine):
    now = time.time()
    code, token = new_class(engine, hours=0.25, now=now)
    later = now + 0.25 * 3600 + 1
    with pytest.raises(db.Refused, match="expired") as e:
        db.open_class(engine, code, now=later)
    assert e.value.kind == "expired"
    with pytest.raises(db.Refused, match="expired"):
        submit(engine, code, "s1", now=later)
    assert db.teacher_class(engine, code, token).code == code  # still exportable


def test_class_length_is_bounded(engine):
    for hours in (0, 0.1, 1000, float("nan")):
        with pytest.raises(db.Refused):
            new_class(engine, hours=hours)


def test_a_student_adds_then_replaces_only_their_own_row(engine):
    code, _ = new_class(engine)
    now = time.time()
    assert submit(engine, code, "s1", "Ann", 0.5, now=now) == 1
    assert submit(engine, code, "s2", "Bob", 0.7, now=now) == 1
    assert submit(engine, code, "s1", "Ann B.", 0.2, now=now + 10) == 2
    rows = {r.student: r for r in db.board(engine, db.open_class(engine, code).id)}
    assert len(rows) == 2
    assert (rows["s1"].name, rows["s1"].score, rows["s1"].versions) == ("Ann B.", 0.2, 2)
    assert (rows["s2"].name, rows["s2"].score, rows["s2"].versions) == ("Bob", 0.7, 1)


def test_a_flood_is_rate_limited_and_counted(engine):
    code, _ = new_class(engine)
    now = time.time()
    submit(engine, code, "s1", now=now)
    messages = []
    for i in range(50):
        with pytest.raises(db.Refused) as e:
            submit(engine, code, "s1", now=now + i * 0.05)
        messages.append((e.value.kind, "wait" in e.value.message))
    refused = messages.count(("rate", True))
    assert refused == 50
    assert db.open_class(engine, code).refused == 50
    row = db.board(engine, db.open_class(engine, code).id)[0]
    assert row.versions == 1
    with pytest.raises(db.Refused, match="wait"):
        db.check_submit(engine, code, "s1", now=now + 1)
    with pytest.raises(db.Refused, match="at most"):
        db.check_submit(engine, code, "s2", "x" * 40, now=now + 1)
    assert db.open_class(engine, code).refused == 52
    assert submit(engine, code, "s1", now=now + db.MIN_INTERVAL_S + 0.1) == 2


def test_cap_per_class(engine, monkeypatch):
    monkeypatch.setattr(db, "CAP", 3)
    code, _ = new_class(engine)
    for i in range(3):
        submit(engine, code, f"s{i}")
    with pytest.raises(db.Refused, match="full") as e:
        submit(engine, code, "s9")
    assert e.value.kind == "full"
    assert submit(engine, code, "s0", now=time.time() + 10) == 2  # replacing is still fine


@pytest.mark.parametrize(
    ("name", "why"),
    [("", "type a display name"), ("   ", "type a display name"), ("x" * 33, "at most"),
     ("a\x00b", "control"), ("bell\x07", "control"), ("rtl\u202eoverride", "control")],
)  # fmt: skip
def test_bad_names_are_refused(engine, name, why):
    code, _ = new_class(engine)
    with pytest.raises(db.Refused, match=why):
        submit(engine, code, "s1", name=name)
    assert db.open_class(engine, code).refused == 1


def test_markup_names_are_stored_as_typed(engine):
    code, _ = new_class(engine)
    name = "<b>*bold*</b> [x](y)"
    submit(engine, code, "s1", name=name)
    assert db.board(engine, db.open_class(engine, code).id)[0].name == name


def test_closed_class_refuses_and_reopens(engine):
    code, token = new_class(engine)
    assert db.set_flags(engine, code, token, closed=True).closed
    with pytest.raises(db.Refused, match="closed") as e:
        submit(engine, code, "s1")
    assert e.value.kind == "closed"
    db.set_flags(engine, code, token, closed=False)
    assert submit(engine, code, "s1") == 1


def test_reveal_reset_delete(engine):
    code, token = new_class(engine)
    other, _ = new_class(engine)
    submit(engine, code, "s1")
    submit(engine, other, "s1")
    assert db.set_flags(engine, code, token, revealed=True).revealed
    assert db.reset(engine, code, token) == 1
    row = db.open_class(engine, code)
    assert db.board(engine, row.id) == []
    assert not row.revealed
    db.delete(engine, code, token)
    with pytest.raises(db.Refused):
        db.open_class(engine, code)
    assert len(db.board(engine, db.open_class(engine, other).id)) == 1  # untouched


def test_long_expired_classes_are_purged(engine):
    now = time.time()
    old, _ = new_class(engine, hours=1, now=now - 30 * 86400)
    submit(engine, old, "s1", now=now - 30 * 86400 + 10)
    recent, _ = new_class(engine, hours=1, now=now - 3600 * 2)  # creating purges the old one

    def stored():
        with engine.connect() as c:
            codes = {r.code for r in c.execute(sa.select(schema.classes.c.code))}
            subs = c.execute(sa.select(sa.func.count()).select_from(schema.submissions))
            return codes, subs.scalar()

    assert stored() == ({recent}, 0)  # expired within the grace period: kept
    assert db.purge_expired(engine, now) == 0
    assert db.purge_expired(engine, now + db.PURGE_AFTER_S) == 1
    assert stored() == (set(), 0)


def test_oversized_settings_are_refused(engine):
    code, _ = new_class(engine)
    with pytest.raises(db.Refused, match="too large"):
        db.submit(engine, code, "s1", "Ann", "x" * (db.SETTINGS_MAX + 1), 0.1, "{}")
