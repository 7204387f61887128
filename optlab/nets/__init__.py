"""Deep MLPs for the backprop and vanishing-gradient lab (pure JAX, no Streamlit or plotly).

``mlp`` the network (activations and init schemes as registries, batch/layer norm, residual
connections, dropout), ``tiny`` the 2-2-1 network whose backward pass is walked edge by edge,
``data`` small generated data sets, ``train`` the training scan (the lab's one step pipeline,
``optlab.core.stepper``) and what it records per layer.
"""
