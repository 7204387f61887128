"""optlab: an optimizer lab in the browser. The folders are the layers (top imports bottom)::

    pages/        one package per page (controls, cached compute, view, page)   Streamlit
    shell/        cross-page glue: navigation, state in the URL, shared widgets   Streamlit
    scenarios/    teaching scenarios, each a link in its page's scheme + a check
    store/        class mode's storage (SQL through st.connection)
    config/       each page's configuration model and link scheme (pure)
    viz/          arrays in, figure specs out (plotly, no Streamlit)
    transformer/  the tiny GPT: model, data, training, generation (JAX)
    nets/         deep MLPs: backprop walk, gradient flow, normalisation (JAX)
    ../surfaces/  the SURFACES registry, the custom surface, data losses
    core/         optimizers, schedules, transforms, the engine and its step pipeline (JAX)

``pyproject.toml``'s import-linter contracts keep it so (``lint-imports``).
"""
