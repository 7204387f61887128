"""The Surfaces page: optimizers racing on a 2-D loss surface."""
