"""Streamlit pages and their glue: thin layers over the engine, plots and exports."""
