"""Figures: arrays and trajectories in, plotly figure specs out (no Streamlit), one style for
every page."""
