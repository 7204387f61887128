"""The Surfaces page's configuration in the session and the URL (``optlab.shell.state``)."""

from __future__ import annotations

from optlab.config.surfaces_link import parse_query, to_query
from optlab.shell.state import UrlState

STATE = UrlState("surfaces", parse_query, to_query, shell_keys=True)
load, notices, save, update = STATE.load, STATE.notices, STATE.save, STATE.update
CFG, LOADED, NOTICES = STATE.keys
