"""The scenario gallery: every card, every *Open* link parsing cleanly on its page, the numeric
check on demand; and ``arrival``, which makes a link from another page win over a page's
remembered setup and shows the scenario's explanation there."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config.data import parse_data_query
from optlab.config.transformer import parse_tf_query
from optlab.pages.gallery import links as gallery_links
from optlab.scenarios import LINK_SCHEMES, SCENARIOS
from optlab.shell import arrival, navigation
from optlab.shell.state import state_keys

PAGE = "from optlab.pages.gallery import page\npage.render()\n"
PARSERS = {page: (lambda q, page=page: LINK_SCHEMES[page](q)[1]) for page in LINK_SCHEMES}
PARSERS[""] = PARSERS["surfaces"]  # the default page's link has no path
APP_PAGES = {p.url_path for p in navigation.PAGES}


@pytest.fixture(scope="module")
def at() -> AppTest:
    at = AppTest.from_string(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_scenario_has_a_card(at):
    text = "\n".join(m.value for m in at.markdown)
    for s in SCENARIOS.values():
        assert f"##### {s.title}" in text, s.key
        assert s.what_to_notice in text
        assert s.question in text
    assert len([b for b in at.button if b.key.startswith("check.")]) == len(SCENARIOS)
    headings = [h.value for h in at.subheader]
    assert headings[0] == "The learning rate"


def test_open_links_parse_without_notices(at):
    links = at.get("page_link")
    opened = set()
    for link in links:
        query = dict(parse_qsl(link.proto.query_string))
        key = query.pop(gallery_links.SCENARIO_PARAM)
        opened.add(key)
        assert PARSERS[link.proto.page](query) == [], (key, query)
        s = SCENARIOS[key]
        assert query in [dict(q) for _, q in s.all_links()]  # the scenario's exact setup
    linked = {s.key for s in SCENARIOS.values() if s.page in APP_PAGES}
    assert opened == linked  # every scenario whose page the app has


def test_data_scenarios_get_one_link_per_setting():
    s = SCENARIOS["sgd-batch-noise"]
    found = gallery_links.links(s, {"data"})
    assert [link.label for link in found] == ["Open · batch 1", "Open · batch 64"]
    assert [link.page_query()["batch"] for link in found] == ["1", "64"]
    assert gallery_links.links(s, {"surfaces"}) == []  # no data page, no link
    cfg, _ = parse_data_query(found[1].page_query())
    assert (cfg.seeds, cfg.standardize, cfg.lr("gd")) == (8, True, 0.1)


def test_transformer_scenarios_open_in_that_pages_own_scheme():
    found = gallery_links.links(SCENARIOS["transformer-dropout"], {"transformer"})
    assert [link.label for link in found] == ["Open · dropout 0", "Open · dropout 0.3"]
    for link in found:
        cfg, notices = parse_tf_query(link.page_query())
        assert notices == []
        assert (cfg.corpus, cfg.n_layer, cfg.d_model, cfg.optimizers) == (
            "rhymes",
            1,
            32,
            ("adam",),
        )
    assert parse_tf_query(found[1].page_query())[0].dropout == 0.3


def test_sections_hold_every_scenario_once():
    keys = [s.key for _, group in gallery_links.sections(SCENARIOS.values()) for s in group]
    assert sorted(keys) == sorted(SCENARIOS)


def test_check_it_shows_the_evidence(at):
    at.button(key="check.lr-too-small").click().run()
    assert not at.exception
    assert any("needs ≈" in s.value for s in at.success)


# ---------------------------------------------------------------------------------------------
# Arrival.

ARRIVAL = """
import streamlit as st
from optlab.shell import arrival
page = st.radio("page", ["scenarios", "surfaces"], key="page")
arrival.arrive(page)
arrival.banner(page)
st.session_state.setdefault("_optlab_surfaces_cfg", "remembered")
"""


def test_a_link_from_another_page_replaces_the_remembered_setup():
    at = AppTest.from_string(ARRIVAL, default_timeout=30).run()
    at.session_state["_optlab_surfaces_cfg"] = "changed by the user"
    at.radio(key="page").set_value("surfaces").run()  # plain navigation: no parameters
    assert at.session_state["_optlab_surfaces_cfg"] == "changed by the user"
    at.radio(key="page").set_value("scenarios").run()
    at.query_params["scenario"] = "momentum-ravine"
    at.query_params["opt"] = "gd,momentum"
    at.radio(key="page").set_value("surfaces").run()  # a gallery card's link
    assert not at.exception
    assert at.session_state["_optlab_surfaces_cfg"] == "remembered"  # forgotten, so re-read
    assert at.query_params["scenario"] == "momentum-ravine"  # a reload keeps the explanation
    assert at.query_params["opt"] == "gd,momentum"
    assert SCENARIOS["momentum-ravine"].title in at.expander[0].label
    at.run()  # a rerun on the same page
    assert SCENARIOS["momentum-ravine"].title in at.expander[0].label
    at.button(key="scenario.hide").click().run()
    assert not at.expander
    assert arrival.SCENARIO not in at.session_state
    assert "scenario" not in at.query_params


def test_a_reloaded_scenario_link_shows_its_explanation_again():
    at = AppTest.from_string(ARRIVAL, default_timeout=30)
    at.query_params["scenario"] = "momentum-ravine"  # a fresh session: a reload
    at.run()
    at.radio(key="page").set_value("surfaces").run()
    assert SCENARIOS["momentum-ravine"].title in at.expander[0].label


@pytest.mark.parametrize(
    ("page", "module"),
    [("surfaces", "optlab.pages.surfaces.state"), ("data", "optlab.pages.data.controls"),
     ("sweeps", "optlab.pages.sweeps.controls"),
     ("transformer", "optlab.pages.transformer.controls")],
)  # fmt: skip
def test_arrival_forgets_the_keys_each_page_remembers_its_setup_in(page, module):
    m = pytest.importorskip(module)
    assert state_keys(page) == m.STATE.keys == (m.CFG, m.LOADED, m.NOTICES)
