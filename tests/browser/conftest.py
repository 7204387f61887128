"""Every browser test gets the ``server``, ``browser`` and ``page`` fixtures."""

from tests.support.browser import browser, page, server

__all__ = ["browser", "page", "server"]
