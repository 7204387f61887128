"""The Sweeps page: objective vs learning rate, heatmaps, tuned values."""
