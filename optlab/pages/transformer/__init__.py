"""The Transformer page: a tiny GPT trained by the same optimizers."""
