"""The tiny-transformer lab: a character-level decoder-only transformer in pure JAX.

Modules, bottom-up:

- ``tokenizer``  character vocabulary with ``<pad> <bos> <eos> <unk>``
- ``corpus``     built-in corpora (two-digit addition, nursery rhymes, generated sentences) and
  pasted text; the ``CORPORA`` registry
- ``model``      ``ModelConfig``, ``init_params``, ``forward``, ``loss_fn`` (nanoGPT in one file)
- ``train``      several optimizers from the same init on the same batches, in jitted chunks
- ``generate``   sampling (temperature, top-k, greedy), teacher forcing vs free generation,
  exact-match accuracy on addition
- ``landscape``  2-D loss slices (filter-normalised random or PCA directions)
- ``timing``     step time vs context length and model size
"""
