"""The Deep nets page: backprop step by step, depth and gradient flow, overfitting."""
