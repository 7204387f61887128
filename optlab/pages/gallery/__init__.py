"""The Scenarios page (``/scenarios``): the gallery of teaching scenarios."""
