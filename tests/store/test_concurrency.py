"""Thirty students submitting at once through two "server processes" (two engines, two
connection pools) on one database: each stored exactly once."""

from __future__ import annotations

import threading
import time

from optlab.store import db

STUDENTS = 30


def _all_at_once(fns) -> list:
    barrier = threading.Barrier(len(fns))
    out: list = [None] * len(fns)

    def run(i, fn):
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as e:  # collected and asserted on below
            out[i] = e

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_thirty_students_at_once_are_each_stored_once(engine_factory):
    engines = [engine_factory(), engine_factory()]
    code, _ = db.create_class(engines[0], "{}", 1)
    fns = [
        (lambda i=i: db.submit(engines[i % 2], code, f"student-{i}", f"S{i}", "{}", i / 10, "{}"))
        for i in range(STUDENTS)
    ]
    results = _all_at_once(fns)
    assert results == [1] * STUDENTS, [r for r in results if r != 1]
    rows = db.board(engines[1], db.open_class(engines[1], code).id)
    assert sorted(r.student for r in rows) == sorted(f"student-{i}" for i in range(STUDENTS))
    assert all(r.versions == 1 for r in rows)


def test_one_student_submitting_twice_at_once_is_stored_once(engine_factory):
    engines = [engine_factory(), engine_factory()]
    code, _ = db.create_class(engines[0], "{}", 1)
    now = time.time()
    fns = [(lambda e=e: db.submit(e, code, "same", "Ann", "{}", 0.1, "{}", now=now))
           for e in engines * 4]  # fmt: skip
    results = _all_at_once(fns)
    stored = [r for r in results if r == 1]
    refused = [r for r in results if isinstance(r, db.Refused)]
    assert len(stored) == 1
    assert len(refused) == 7
    assert all(r.kind == "rate" for r in refused)
    assert len(db.board(engines[0], db.open_class(engines[0], code).id)) == 1
