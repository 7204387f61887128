"""The live race's code travels once: the component's own js is a small loader, and the
server serves race.js / race.css under content-hashed names the browser may keep."""

from __future__ import annotations

import asyncio

from optlab.shell import race, startup


def _serve(path: str):
    (route,) = [r for r in startup.ROUTES if getattr(r, "path", None) == path]
    return asyncio.run(route.endpoint(None))


def test_the_server_serves_the_race_code_under_its_content_hash():
    js, css = _serve(race.JS_PATH), _serve(race.CSS_PATH)
    assert js.body.decode() == race.JS
    assert js.media_type == "text/javascript"
    assert css.body.decode() == race.CSS
    assert css.media_type == "text/css"
    for response in (js, css):
        assert "immutable" in response.headers["cache-control"]
    assert race.asset_path("race.js", race.JS) == race.JS_PATH
    assert race.asset_path("race.js", race.JS + " ") != race.JS_PATH  # a new version, a new name


def test_what_each_rerun_sends_is_the_loader_not_the_race():
    assert race.JS_PATH in race.LOADER
    assert race.CSS_PATH in race.JS  # race.js loads its stylesheet
    assert "__RACE_CSS__" not in race.JS
    assert "export default function" in race.LOADER
    assert "function decode" in race.JS
    assert "function decode" not in race.LOADER
    assert len(race.LOADER.encode()) < 400  # it travels in every rerun
