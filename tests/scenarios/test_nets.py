"""The Deep nets scenarios: each link reads cleanly in the page's own scheme, opens the section
its claim is about, and its check measures the claim (vanishing sigmoid gradients, He init,
batch norm, residuals, clipping, weight decay). Each check trains two small networks."""

from __future__ import annotations

import pytest

from optlab.config import deepnets as dn
from optlab.pages.gallery.links import TOPICS, links
from optlab.scenarios import SCENARIOS, nets

ALL = [pytest.param(s, id=s.key) for s in nets.SCENARIOS]
CLAIMS = {
    "sigmoid-depth-vanishes": ("depth", "sigmoid"),
    "he-init-relu-30": ("depth", "relu"),
    "batchnorm-rescues-init": ("depth", "relu"),
    "residual-50-layers": ("depth", "sigmoid"),
    "clip-exploding-init": ("depth", "relu"),
    "weight-decay-gap": ("overfit", "tanh"),
}


def test_the_six_claims_are_registered_and_in_the_gallery():
    assert {s.key for s in nets.SCENARIOS} == set(CLAIMS)
    assert all(SCENARIOS[k].page == "deepnets" for k in CLAIMS)
    topic = dict(TOPICS)["Deep networks"]
    assert set(topic) == set(CLAIMS)


@pytest.mark.parametrize("s", ALL)
def test_link_reads_cleanly_and_opens_its_section(s):
    cfg, notices = dn.parse_deepnets_query(s.query)
    assert notices == []
    section, act = CLAIMS[s.key]
    assert cfg.section == section
    assert (cfg.net if section == "depth" else cfg.of).activation == act
    assert len(s.what_to_notice) > 80
    assert s.question.endswith("?")
    (link,) = links(s, {"deepnets"})
    assert link.page == "deepnets"
    assert dn.parse_deepnets_query(link.page_query()) == (cfg, [])


def test_a_link_that_does_not_read_cleanly_is_refused():
    with pytest.raises(ValueError, match="not understood"):
        nets.read({"depth": "99"})


@pytest.mark.slow
@pytest.mark.parametrize("s", ALL)
def test_check_measures_the_claim(s):
    passed, evidence = s.check()
    assert passed, evidence
    assert evidence
