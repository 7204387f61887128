"""The Class page's cached computations: the map's background per challenge, the engine's
reference sweep (drawn at reveal time), and the board's entries decoded from the store."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from optlab.config import classroom as challenge_model
from optlab.config.surfaces import surface_of
from optlab.core.optimizers import OPTIMIZERS
from optlab.store.db import SubmissionRow
from optlab.viz import race
from optlab.viz.classroom import Entry
from surfaces import SURFACES
from surfaces.data import DATA_LOSSES

CSV_RISKY = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


@st.cache_resource(max_entries=16, show_spinner=False)
def map_inputs(challenge_json: str):
    """``(surface, image, start, axis titles, equal axes)`` of the challenge's map."""
    ch = challenge_model.from_json(challenge_json)
    cfg = ch.config()
    if ch.page == "surfaces":
        surface = surface_of(cfg)
        return surface, race.surface_image(surface, dict(cfg.theta)), cfg.start, ("x", "y"), True
    if not cfg.is_data:
        surface = SURFACES[cfg.surface]
        titles, equal = ("x", "y"), True
    else:
        surface = DATA_LOSSES[cfg.problem].view(**dict(cfg.controls()))
        titles, equal = ("w (slope)", "b (intercept)"), False
    start = (float(surface.starts[0].x), float(surface.starts[0].y))
    return surface, race.surface_image(surface), start, titles, equal


@st.cache_data(max_entries=32, show_spinner=False)
def reference(challenge_json: str, opt: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The engine's own sweep of ``opt``'s ``name`` on the challenge (cached per class)."""
    return challenge_model.reference_sweep(challenge_model.from_json(challenge_json), opt, name)


def entries(rows: list[SubmissionRow], revealed: bool) -> list[Entry]:
    """The board's entries (best marked once revealed)."""
    out = []
    for r in rows:
        settings = json.loads(r.settings)
        detail = json.loads(r.detail)
        opt = settings.pop("optimizer")
        path = np.asarray(detail.get("path") or [[np.nan, np.nan]], np.float64).reshape(-1, 2)
        out.append(Entry(r.name, path, r.score, settings, OPTIMIZERS[opt].display if opt in
                         OPTIMIZERS else str(opt)))  # fmt: skip
    scored = [i for i, e in enumerate(out) if e.score is not None]
    if revealed and scored:
        best = min(scored, key=lambda i: out[i].score)
        out[best] = replace(out[best], best=True)
    return out


def ranking(rows: list[SubmissionRow], entries_: list[Entry]) -> pd.DataFrame:
    """The leaderboard: best first, no score last (names as text)."""

    def key(i: int):
        return entries_[i].score is None, entries_[i].score or 0.0, rows[i].updated_at

    order = sorted(range(len(rows)), key=key)
    table = []
    for rank, i in enumerate(order, start=1):
        e = entries_[i]
        row = {"rank": rank if e.score is not None else None, "name": e.name,
               "optimizer": e.optimizer}  # fmt: skip
        row |= {k: float(v) for k, v in e.values.items()}
        row |= {
            "score": e.score,
            "submissions": rows[i].versions,
            "updated": pd.Timestamp(rows[i].updated_at, unit="s").strftime("%H:%M:%S"),
        }
        table.append(row)
    return pd.DataFrame(table)


def csv_text(table: pd.DataFrame) -> str:
    """The leaderboard as CSV, cells a spreadsheet would read as formulas defused."""
    safe = table.copy()
    for col in ("name", "optimizer"):
        if col in safe:
            safe[col] = [("'" + v) if str(v).startswith(CSV_RISKY) else v for v in safe[col]]
    return safe.to_csv(index=False)
