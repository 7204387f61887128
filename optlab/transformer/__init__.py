"""The tiny-transformer lab: a character-level decoder-only transformer in pure JAX.

Modules, bottom-up:

- ``tokenizer``  character vocabulary with ``<pad> <bos> <eos> <unk>``
- ``corpus``     built-in corpora (two-digit addition and subtraction, nursery rhymes, proverbs,
  generated sentences) and pasted text; the ``CORPORA`` registry
- ``model``      ``ModelConfig``, ``init_params``, ``forward``, ``loss_fn`` (nanoGPT in one file)
- ``programs``   compiled programs, once per shape (a compile stage of its own)
- ``chunk``      the two training programs: a group's setup, and K steps of every run at once
- ``train``      several optimizers from the same init on the same batches, in jitted chunks
- ``finetune``   one vocabulary for pretraining and fine-tuning; new rows for new characters
- ``generate``   sampling (temperature, top-k, greedy) as the model was trained (line by line in
  a fresh window, or a sliding one), teacher forcing vs free generation, exact-match accuracy
- ``landscape``  2-D loss slices (filter-normalised random or PCA directions)
- ``timing``     step time vs context length and model size
"""
