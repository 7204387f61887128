"""Class mode's storage operations on a SQLAlchemy engine (no Streamlit: the tests drive them
on SQLite and on PostgreSQL directly; ``optlab.store.connection`` hands the app its engine).

Who may do what:

- the teacher token (``secrets.token_urlsafe``, 192 bits) is returned once by ``create_class``
  and stored only as its SHA-256; ``teacher_class`` compares in constant time
  (``hmac.compare_digest``) and gives one message for a wrong code and a wrong token;
- a student (a random id kept by their session) adds or replaces only their own row: one row
  per (class, student), written under the class row's lock (SQLite: ``BEGIN IMMEDIATE``;
  PostgreSQL: ``SELECT … FOR UPDATE``), so concurrent submissions are each stored once;
- submissions are refused when the class is closed or expired, when the same student
  submitted less than ``MIN_INTERVAL_S`` ago, when the class holds ``CAP`` students, or when
  the name is empty or too long — each with a message (``Refused``) and counted on the class.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from optlab.config.classroom import HOURS_RANGE
from optlab.store.schema import WRITE, classes, prepare, submissions

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector
CODE_LEN = 6
TOKEN_BYTES = 24  # 192 bits
NAME_MAX = 32
SETTINGS_MAX = 4000
DETAIL_MAX = 200_000
MIN_INTERVAL_S = 5.0
CAP = 200  # students per class
PURGE_AFTER_S = 7 * 86400  # expired classes are deleted a week after they expire


class Refused(Exception):
    """A request refused with a message for the user; ``kind`` names the reason."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class ClassRow:
    id: int
    code: str
    challenge: str  # JSON
    created_at: float
    expires_at: float
    closed: bool
    revealed: bool
    refused: int


@dataclass(frozen=True)
class SubmissionRow:
    student: str
    name: str
    settings: str  # JSON
    score: float | None
    detail: str  # JSON
    created_at: float
    updated_at: float
    versions: int


def normalize_code(text: str) -> str | None:
    """A join code as typed (case, spaces, dashes ignored), or ``None`` if it cannot be one."""
    code = re.sub(r"[\s\-]", "", str(text)).upper()
    ok = len(code) == CODE_LEN and all(c in CODE_ALPHABET for c in code)
    return code if ok else None


def clean_name(text: str) -> str:
    """A display name: whitespace collapsed, control characters refused, 1…NAME_MAX long
    (raises ``Refused``). Markup is kept as typed: the board shows names as text."""
    name = " ".join(str(text).split())
    if not name:
        raise Refused("name", "Please type a display name.")
    if len(name) > NAME_MAX:
        raise Refused("name", f"Names are at most {NAME_MAX} characters.")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise Refused("name", "Names cannot contain control characters.")
    return name


def token_hash(token: str) -> str:
    return hashlib.sha256(str(token).encode()).hexdigest()


def _row(r) -> ClassRow:
    return ClassRow(r.id, r.code, r.challenge, r.created_at, r.expires_at, bool(r.closed),
                    bool(r.revealed), int(r.refused))  # fmt: skip


def _writing(engine: sa.Engine):
    return prepare(engine).connect().execution_options(**{WRITE: True})


def create_class(
    engine: sa.Engine, challenge: str, hours: float, now: float | None = None
) -> tuple[str, str]:
    """A new class for ``challenge`` (JSON) open for ``hours``: ``(join code, teacher token)``.
    Expired classes past ``PURGE_AFTER_S`` are deleted on the way."""
    now = time.time() if now is None else now
    if not HOURS_RANGE[0] <= float(hours) <= HOURS_RANGE[1]:
        raise Refused("hours", f"A class lasts {HOURS_RANGE[0]:g} to {HOURS_RANGE[1]:g} hours.")
    if len(challenge) > SETTINGS_MAX:
        raise Refused("challenge", "This challenge is too large to store.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    purge_expired(engine, now)
    for _ in range(20):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))
        try:
            with _writing(engine) as conn, conn.begin():
                conn.execute(sa.insert(classes).values(
                    code=code, token_hash=token_hash(token), challenge=challenge,
                    created_at=now, expires_at=now + 3600 * float(hours), closed=False,
                    revealed=False, refused=0,
                ))  # fmt: skip
            return code, token
        except sa.exc.IntegrityError:  # the code is taken: draw another
            continue
    raise Refused("busy", "Could not find a free join code; try again.")


def _find(conn, code: str, lock: bool = False):
    q = sa.select(classes).where(classes.c.code == code)
    return conn.execute(q.with_for_update() if lock else q).first()


NOT_FOUND = "No class has the code {code}. Check the code (letters and digits, no 0, 1, I, O or L)."


def open_class(engine: sa.Engine, code: str, now: float | None = None) -> ClassRow:
    """The class with join code ``code`` (raises ``Refused`` for a wrong or expired code)."""
    now = time.time() if now is None else now
    norm = normalize_code(code)
    if norm is None:
        raise Refused("not_found", NOT_FOUND.format(code=repr(str(code)[:12])))
    with prepare(engine).connect() as conn:
        r = _find(conn, norm)
    if r is None:
        raise Refused("not_found", NOT_FOUND.format(code=norm))
    if r.expires_at <= now:
        raise Refused("expired", f"Class {norm} has expired; ask your teacher for a new code.")
    return _row(r)


def teacher_class(engine: sa.Engine, code: str, token: str) -> ClassRow:
    """The class, if ``token`` is its teacher token (expired classes included, so the teacher
    can still export and delete them); one message for a wrong code or token."""
    norm = normalize_code(code)
    with prepare(engine).connect() as conn:
        r = _find(conn, norm) if norm else None
    stored = r.token_hash if r is not None else token_hash("")
    if not hmac.compare_digest(token_hash(token), stored) or r is None:
        raise Refused("forbidden", "This teacher link is not valid (wrong code or token).")
    return _row(r)


def count_refusal(engine: sa.Engine, class_id: int) -> None:
    """Count one refused submission on the class (shown on the board)."""
    with _writing(engine) as conn, conn.begin():
        conn.execute(sa.update(classes).where(classes.c.id == class_id)
                     .values(refused=classes.c.refused + 1))  # fmt: skip


def _why_not(conn, r, student: str, now: float) -> Refused | None:
    if r.expires_at <= now:
        return Refused("expired", f"Class {r.code} has expired; submissions are over.")
    if r.closed:
        return Refused("closed", f"The teacher has closed submissions for class {r.code}.")
    mine = conn.execute(sa.select(submissions.c.updated_at).where(
        submissions.c.class_id == r.id, submissions.c.student == student)).scalar()  # fmt: skip
    if mine is not None and now - mine < MIN_INTERVAL_S:
        wait = MIN_INTERVAL_S - (now - mine)
        return Refused("rate", f"You just submitted: wait {wait:.0f} s before submitting again.")
    if mine is None:
        n = conn.execute(sa.select(sa.func.count()).where(submissions.c.class_id == r.id)).scalar()
        if n >= CAP:
            return Refused("full", f"Class {r.code} is full ({CAP} students).")
    return None


def check_submit(
    engine: sa.Engine, code: str, student: str, name: str | None = None,
    now: float | None = None,
) -> ClassRow:  # fmt: skip
    """Raise ``Refused`` (and count it) if ``student`` may not submit now (or ``name`` is not
    a display name); else the class. Called before the server computes a score, so a flood
    costs no engine runs."""
    now = time.time() if now is None else now
    row = open_class(engine, code, now)
    with prepare(engine).connect() as conn:
        why = _why_not(conn, _find(conn, row.code), student, now)
    if why is None and name is not None:
        try:
            clean_name(name)
        except Refused as e:
            why = e
    if why is not None:
        count_refusal(engine, row.id)
        raise why
    return row


def submit(
    engine: sa.Engine,
    code: str,
    student: str,
    name: str,
    settings: str,
    score: float | None,
    detail: str,
    now: float | None = None,
) -> int:
    """Store ``student``'s submission (replacing their earlier one): how many times they have
    submitted. Everything is checked again under the class row's lock."""
    now = time.time() if now is None else now
    row = open_class(engine, code, now)
    try:
        name = clean_name(name)
        if not student or len(student) > 64:
            raise Refused("student", "This session has no valid student id; reload the page.")
        if len(settings) > SETTINGS_MAX or len(detail) > DETAIL_MAX:
            raise Refused("settings", "These settings are too large to store.")
        with _writing(engine) as conn, conn.begin():
            r = _find(conn, row.code, lock=True)
            if (why := _why_not(conn, r, student, now)) is not None:
                raise why
            where = (submissions.c.class_id == r.id) & (submissions.c.student == student)
            versions = conn.execute(sa.select(submissions.c.versions).where(where)).scalar()
            values = {"name": name, "settings": settings, "score": score, "detail": detail,
                      "updated_at": now}  # fmt: skip
            if versions is None:
                conn.execute(
                    sa.insert(submissions).values(
                        class_id=r.id, student=student, created_at=now, versions=1, **values
                    )
                )
                return 1
            conn.execute(sa.update(submissions).where(where)
                         .values(versions=versions + 1, **values))  # fmt: skip
            return versions + 1
    except Refused:
        count_refusal(engine, row.id)
        raise


def board(engine: sa.Engine, class_id: int) -> list[SubmissionRow]:
    """Every submission of a class, oldest first."""
    q = (sa.select(submissions).where(submissions.c.class_id == class_id)
         .order_by(submissions.c.created_at, submissions.c.id))  # fmt: skip
    with prepare(engine).connect() as conn:
        rows = conn.execute(q).all()
    return [SubmissionRow(r.student, r.name, r.settings, r.score, r.detail, r.created_at,
                          r.updated_at, r.versions) for r in rows]  # fmt: skip


def mine(engine: sa.Engine, class_id: int, student: str) -> SubmissionRow | None:
    return next((s for s in board(engine, class_id) if s.student == student), None)


def set_flags(
    engine: sa.Engine, code: str, token: str, *, closed: bool | None = None,
    revealed: bool | None = None,
) -> ClassRow:  # fmt: skip
    """Close / reopen submissions, reveal / hide the best (teacher only)."""
    row = teacher_class(engine, code, token)
    values = {k: v for k, v in (("closed", closed), ("revealed", revealed)) if v is not None}
    if values:
        with _writing(engine) as conn, conn.begin():
            conn.execute(sa.update(classes).where(classes.c.id == row.id).values(**values))
    return teacher_class(engine, code, token)


def reset(engine: sa.Engine, code: str, token: str) -> int:
    """Delete every submission of the class (teacher only): how many were deleted."""
    row = teacher_class(engine, code, token)
    with _writing(engine) as conn, conn.begin():
        n = conn.execute(sa.delete(submissions).where(submissions.c.class_id == row.id)).rowcount
        conn.execute(sa.update(classes).where(classes.c.id == row.id)
                     .values(revealed=False, refused=0))  # fmt: skip
    return int(n)


def delete(engine: sa.Engine, code: str, token: str) -> None:
    """Delete the class and its submissions (teacher only)."""
    row = teacher_class(engine, code, token)
    with _writing(engine) as conn, conn.begin():
        conn.execute(sa.delete(submissions).where(submissions.c.class_id == row.id))
        conn.execute(sa.delete(classes).where(classes.c.id == row.id))


def purge_expired(engine: sa.Engine, now: float | None = None) -> int:
    """Delete classes that expired more than ``PURGE_AFTER_S`` ago: how many."""
    now = time.time() if now is None else now
    old = sa.select(classes.c.id).where(classes.c.expires_at < now - PURGE_AFTER_S)
    with _writing(engine) as conn, conn.begin():
        conn.execute(sa.delete(submissions).where(submissions.c.class_id.in_(old)))
        return int(conn.execute(sa.delete(classes).where(classes.c.id.in_(old))).rowcount)
