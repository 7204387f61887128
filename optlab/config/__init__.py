"""Each page's whole configuration as a value, and its link scheme (pure, no Streamlit).

``links`` is the one reader/writer every scheme is built from (typed values, snapping to the
widget grids, notices for what a link asked for but did not get); ``surfaces`` (+ its link in
``surfaces_link``), ``data``, ``sweeps`` and ``transformer`` are the pages' models. They sit
below the pages so that a page can link to another (a scenario card, "use tuned values")
without importing it.
"""
