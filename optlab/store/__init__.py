"""Class mode's storage: a SQL database through SQLAlchemy (SQLite by default, PostgreSQL by
URL). ``schema`` (tables, engine set-up), ``db`` (the operations, on any engine: no Streamlit),
``connection`` (the app's engine through ``st.connection``; the only Streamlit import)."""
