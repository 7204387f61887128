"""The numerical core (JAX/NumPy only): hyperparameters and their grids, optimizers,
schedules, transforms, the step pipeline and engine, sweeps, metrics, theory."""
