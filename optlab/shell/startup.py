"""What the server does before its first visitor, and its extra routes (``app.py`` hands both
to ``st.App``, Streamlit on Starlette).

At start: JAX's persistent compilation cache is switched on, then the first ``READY`` entries of
``WARMUPS`` (every problem of the two live-race pages with every optimizer, in shared programs,
``optlab.core.shared``, and the pages' defaults) run before the server takes its first request,
so a first visit, another surface or problem picked, or an optimizer added never waits for a
compile. ``streamlit run`` prints the URL at once; a visitor who comes while they run waits in
the socket's queue (the browser shows the page loading) and is served when they are done. A
background thread then runs the rest in order (later entries precompile what a visitor may click
next), and steps aside while visitors are active: before each entry, and before each step of the
long ones (each optimizer), it waits until no page has sent a message for ``QUIET_S`` seconds
(``ActivityMiddleware`` notes every message a page sends). A lower CPU priority alone does not
do it: tracing and lowering a program hold the GIL that the visitors' reruns need (measured with
``bench/bench_load.py``, 30 students on one process: rerun p95 4.0 s with the tail running
alongside them, 0.73 s with it stepping aside, 0.51 s without it). A warm-up that fails is
logged and skipped: it only costs the visitor the compile it meant to save.

Routes: ``/optlab/server-id`` answers this process's random id, so an open page can tell a
network blip (same id) from a restarted server (a new id); ``/optlab/race/…`` serves the live
race's code (``optlab.shell.race``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from optlab.config.surfaces import default_config, engine_settings, surface_of
from optlab.core import engine, sweeps
from optlab.shell import race, setup

log = logging.getLogger("optlab.startup")
SERVER_ID, SERVER_ID_PATH = setup.SERVER_ID, setup.SERVER_ID_PATH
QUIET_S = 3.0  # the background warm-ups wait until no page has sent a message for this long
_LAST_ACTIVITY = [-float("inf")]  # time.monotonic() of the last message from a page


def note_activity() -> None:
    """A visitor's page just sent something (a rerun request, a widget's new value)."""
    _LAST_ACTIVITY[0] = time.monotonic()


def wait_until_quiet(poll_s: float = 0.25) -> None:
    """Return once no page has sent a message for ``QUIET_S`` seconds (at once if none has)."""
    while (idle := time.monotonic() - _LAST_ACTIVITY[0]) < QUIET_S:
        time.sleep(max(poll_s, QUIET_S - idle))


class ActivityMiddleware:
    """A pure ASGI middleware: notes every HTTP request and every message that arrives on a
    websocket (Streamlit's page sessions speak over one), so the background warm-ups can
    step aside (``wait_until_quiet``). Everything passes through unchanged."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":  # a page (or its scripts) loading
            note_activity()
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)

        async def noted_receive():
            message = await receive()
            note_activity()
            return message

        return await self.app(scope, noted_receive, send)


def _share_surfaces(steps: int | None = None) -> None:
    """The program of every registry surface with every optimizer but Newton
    (``surfaces.SURFACE_SET`` × ``shared.OPTIMIZER_SET``) at the default step count's bucket
    (or ``steps``'), at the live race's batch (``sweeps.RACE_BATCH``: its run and its lr
    grids): once it is compiled, a new surface or a new optimizer in a race compiles nothing."""
    cfg = default_config()
    cfg = dataclasses.replace(cfg, steps=steps) if steps else cfg
    run = [engine.OptimizerRun(cfg.optimizers[0])]
    settings = engine_settings(cfg)
    sweeps.slider_grids(surface_of(cfg), run, cfg.start, settings, dict(cfg.theta), share=True)


def warm_surface_set() -> None:
    """Every surface × every optimizer but Newton, compiled once (~8 s with an empty JAX cache):
    before it, picking another surface right after a fresh start took 7.9–11 s (four compiles
    of ~1.2 s each, beside the background's), adding Nesterov 1.8–2.0 s."""
    _share_surfaces()


def warm_surfaces_default() -> None:
    """The Surfaces page's first visit, through the page's own cached computations (so the
    visit finds them in the caches): the race, its results and theory overlays, the map's
    background image, the schedule preview; and the page's modules imported."""
    compute = _page_compute("surfaces")
    importlib.import_module("optlab.pages.surfaces.page")
    cfg = default_config()
    key = cfg.run_key()
    compute.results(key)  # runs compute(key), the race
    compute.predicted(key)
    compute.background(cfg.surface, cfg.theta, key.custom)
    compute.multipliers(cfg.schedule, cfg.steps, cfg.schedule_params)


def warm_surfaces_live() -> None:
    """The Surfaces page's default race over its learning-rate grids (the live race's data,
    through the page's cache): a first visit needs it with the race."""
    compute = _page_compute("surfaces")
    cfg = default_config()
    compute.lr_race(compute.structure(cfg.run_key()), cfg.log_loss, cfg.theory)


def warm_transformer_default() -> None:
    """The Transformer page's default comparison compiled before anyone presses Train: one
    short run of the default shapes (one chunk) compiles its setup and training programs
    (``optlab.transformer.programs``, what a press of Train then finds ready), and the
    panels' first generation programs (samples, the teacher-forcing example, accuracy)."""
    from optlab.transformer import insight, lab

    spec = dataclasses.replace(lab.TrainSpec(), steps=lab.TrainSpec().chunk)
    result = lab.train_all(spec)
    best = result.labels[-1]
    wait_until_quiet()
    insight.samples(result, best, "", temperature=0.8, top_k=0)
    wait_until_quiet()
    insight.teacher_prompt(result, best)
    wait_until_quiet()
    insight.addition_scores(result)


def _warm_surfaces_steps(steps: int) -> None:
    """Every surface's race at ``steps`` (the shared program at its bucket), and the Surfaces
    default race there through the page's caches."""
    compute = _page_compute("surfaces")
    cfg = default_config()
    wait_until_quiet()
    _share_surfaces(steps)
    key = dataclasses.replace(cfg, steps=steps).run_key()
    compute.compute(key)
    compute.lr_race(compute.structure(key), cfg.log_loss, cfg.theory)


def _warm_steps(side: int) -> None:
    """Both live races at the step count next to their default, above (``side`` 0) or below
    (1), in another compiled bucket (``neighbour_steps``): without this, a visitor's first
    move of a Steps slider waits for a compile (Surfaces 10.5 s, Data & SGD 17.4 s, measured
    on a fresh server when each optimizer compiled its own)."""
    from optlab.config.data import STEPS_OPTIONS, default_data_config

    steps = default_config().steps
    for s in neighbour_steps(engine.STEP_BUCKETS, steps)[side : side + 1]:
        _warm_surfaces_steps(s)
    data = default_data_config()
    for s in neighbour_steps(STEPS_OPTIONS, data.steps)[side : side + 1]:
        _warm_data_race(dataclasses.replace(data, steps=s))


def warm_steps_up() -> None:
    """Both defaults one step bucket up: the likelier first move (more steps), so it comes
    before ``warm_steps_down`` for both pages."""
    _warm_steps(0)


def warm_steps_down() -> None:
    """Both defaults one step bucket down."""
    _warm_steps(1)


def _page_compute(package: str):
    """A page's pure ``compute`` module, imported by module name (as ``navigation`` imports
    pages: the shell never imports a page), so a warm-up runs exactly what the page runs."""
    return importlib.import_module(f"optlab.pages.{package}.compute")


def _warm_data_race(cfg) -> None:
    """Data & SGD setting ``cfg``'s problem with every optimizer but Newton (one shared
    program, ``lr_seed_grid(share=True)``), then every selected optimizer's K seeds over its
    learning-rate grid (the live race's data, one vmapped sweep each) through it."""
    compute = _page_compute("data")
    specs = compute.specs(cfg)
    wait_until_quiet()
    compute.lr_seed_grid(compute.structural(specs[0]), share=True)
    for spec in specs:
        wait_until_quiet()
        compute.lr_seed_grid(compute.structural(spec))


def warm_data_default() -> None:
    """The Data & SGD page's first visit: its default race and the loss map."""
    from optlab.config.data import default_data_config

    cfg = default_data_config()
    _warm_data_race(cfg)
    controls = cfg.controls() if cfg.is_data else ()
    _page_compute("data").loss_image(cfg.problem, controls, cfg.surface if not cfg.is_data else "")


def warm_data_problems() -> None:
    """The Data & SGD page's other problems (logistic regression, the analytic surfaces with
    gradient noise) at the default settings, each one shared program (~8 s in all): a switch
    of problem compiles nothing."""
    from optlab.config.data import default_data_config

    for problem in ("logreg", "surface"):
        _warm_data_race(default_data_config(problem))


def neighbour_steps(options: Sequence[int], steps: int) -> list[int]:
    """The nearest of ``options`` above and below ``steps`` that the engine compiles for
    another step bucket (what a Steps slider's first move up or down would compile)."""
    own = engine.bucket_steps(steps)
    up = [s for s in options if s > steps and engine.bucket_steps(s) != own]
    down = [s for s in options if s < steps and engine.bucket_steps(s) != own]
    return up[:1] + down[-1:]


def warm_deepnets_default() -> None:
    """The Deep nets page's depth defaults, one run at a time as the page trains them
    (``optlab.pages.deepnets.compute.histories``: one compiled program per run)."""
    from optlab.config import deepnets as dn
    from optlab.nets import train

    n = dn.DeepNetsConfig().net
    net, ds, settings = dn.depth_net(n), dn.depth_data(n), dn.depth_settings(n)
    for run in dn.depth_runs(n):
        wait_until_quiet()
        train.train(net, ds, [run], settings)


# In order, what a first visitor needs first: every surface with every optimizer (one shared
# program), the Surfaces default through the page's caches (its race, then its lr grids), the
# Data & SGD default and its other problems (the server serves after these five), both live
# races' next step buckets up, then down, the Deep nets default and the Transformer's (whose
# pages train behind a progress bar). Each entry takes no arguments.
WARMUPS: tuple[Callable[[], None], ...] = (
    warm_surface_set,
    warm_surfaces_default,
    warm_surfaces_live,
    warm_data_default,
    warm_data_problems,
    warm_steps_up,
    warm_steps_down,
    warm_deepnets_default,
    warm_transformer_default,
)


def _lowest_priority() -> None:
    """Make the calling thread the last to get a core (Linux: nice applies per thread)."""
    with contextlib.suppress(AttributeError, OSError):  # elsewhere: normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def run_warmups(
    warmups: Sequence[Callable[[], None]] | None = None,
    before_each: Callable[[], None] | None = None,
) -> list[str]:
    """Run each warm-up (``WARMUPS`` by default), calling ``before_each()`` (if given) before
    each; returns the names of those that failed."""
    failed = []
    for warm in warmups if warmups is not None else WARMUPS:
        if before_each is not None:
            before_each()
        try:
            warm()
        except Exception:  # a warm-up must never take the server down
            log.exception("warm-up %s failed", warm.__name__)
            failed.append(warm.__name__)
    return failed


# How many ``WARMUPS`` entries the server runs before it serves: every surface with every
# optimizer and the Surfaces default (the landing page), every Data & SGD problem with every
# optimizer and its default (~20 s in all with an empty JAX cache on 2 cores; a restarted
# server finds the programs in the persistent cache). In the background instead, a first
# visit to Data & SGD took 13 s and a new surface 7.9–11 s: the background waits for a lull
# in the visitors' messages, which a class in session may never give it.
READY = 5


def _background(warmups: Sequence[Callable[[], None]]) -> None:
    _lowest_priority()
    run_warmups(warmups, before_each=wait_until_quiet)


def warmup_count() -> int:
    """How many ``WARMUPS`` entries this server runs: all of them, unless ``OPTLAB_WARMUPS``
    names a number (the test suite's servers run what a first visit needs and no more: on two
    cores a background tail of compiles holds the GIL that the server's requests need)."""
    text = os.environ.get("OPTLAB_WARMUPS", "")
    return int(text) if text.isdigit() else len(WARMUPS)


@asynccontextmanager
async def lifespan(app):
    """``st.App``'s lifespan: the compile cache on, the first ``READY`` warm-ups run (the
    server takes no request before they end), the rest started in the background."""
    del app
    setup.enable_compilation_cache()
    n = warmup_count()
    await asyncio.to_thread(run_warmups, WARMUPS[: min(n, READY)])
    note_activity()  # the first visitors are on their way: the background waits for a lull
    if n > READY:
        rest = WARMUPS[READY:n]
        warm = threading.Thread(target=_background, args=(rest,), name="optlab-warmup")
        warm.daemon = True
        warm.start()
    yield {"server_id": SERVER_ID}


async def server_id(request: Request) -> JSONResponse:
    del request
    return JSONResponse({"id": SERVER_ID}, headers={"Cache-Control": "no-store"})


ROUTES = [Route(SERVER_ID_PATH, server_id), *race.ROUTES]
MIDDLEWARE = [Middleware(ActivityMiddleware)]
