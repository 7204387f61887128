"""Read the live race as the browser would, from an AppTest run: the component's blob
(``optlab.viz.live.unpack``), the races it has been sent so far (a later run sends only a
header when the browser already holds the race), and the paths drawn at the current
learning rates (the same indexing as ``race.js``'s ``runOf``)."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from optlab.viz import live

_STORES: dict[int, dict] = {}


def blobs(at: AppTest) -> list[bytes]:
    return [e.proto.bytes for e in at.get("bidi_component")]


def header(at: AppTest) -> dict | None:
    """The race's header this run (None: no race drawn), remembering any race it carried."""
    found = blobs(at)
    if not found:
        return None
    head, arrays = live.unpack(found[0])
    store = _STORES.setdefault(id(at), {})
    if "race_meta" in head:
        store[head["race"]] = (head["race_meta"], arrays)
    return head


def race(at: AppTest) -> tuple[dict, dict[str, np.ndarray]]:
    head = header(at)
    assert head is not None, "the race is missing"
    held = _STORES.get(id(at), {}).get(head["race"])
    assert held is not None, "the race was never sent to this session"
    return held


def run_at(meta: dict, arrays: dict, i: int, g: int) -> dict:
    """Optimizer ``i``'s drawn run at grid position ``g``: steps, points, losses."""
    P = meta["points"]
    xy = arrays[f"xy{i}"].reshape(-1, P, 2)[g]
    loss = arrays[f"loss{i}"].reshape(-1, P)[g]
    kept = int(arrays[f"kept{i}"][g])
    steps = arrays[f"steps{i}"]
    n = int(np.sum((steps <= kept) & ~np.isnan(xy[: len(steps), 0])))
    last = n + 1 if n < P and not np.isnan(xy[n, 0]) else n
    drawn = np.append(steps[:n], kept)[:last]
    return {"steps": drawn, "xy": xy[:last], "loss": loss[:last], "kept": kept,
            "div": int(arrays[f"div{i}"][g]), "final": float(arrays[f"final{i}"][g])}  # fmt: skip


def drawn(at: AppTest) -> dict[str, dict]:
    """Each optimizer's run at its current learning rate, keyed by label."""
    meta, arrays = race(at)
    current = header(at)["current"]
    return {
        o["label"]: run_at(meta, arrays, i, current[o["name"]]) for i, o in enumerate(meta["opts"])
    }


def traj_data(at: AppTest) -> dict[str, list]:
    """Comparable paths and loss curves of every optimizer (what ``changed`` compares)."""
    return {k: [v["xy"].tolist(), v["loss"].tolist()] for k, v in drawn(at).items()}
