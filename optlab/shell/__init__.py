"""Cross-page Streamlit glue: the page registry (``navigation``), arriving by link
(``arrival``), the configuration in the session and URL (``state``), shared widgets
(``widgets``), process-wide setup (``setup``) and the projector style (``style``)."""
