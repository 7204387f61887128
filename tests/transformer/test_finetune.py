"""Fine-tuning (shared vocabulary, pretrained cache, from-scratch baselines), full batches and
the compile budget of the default comparison."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from optlab.transformer import finetune, insight, lab, programs, train
from optlab.transformer.corpus import CORPORA, arithmetic_answer
from optlab.transformer.data import FULL_BATCH, full_batch, make_data
from optlab.transformer.model import init_params
from optlab.transformer.tokenizer import PAD

TINY = {"n_layer": 1, "d_model": 32, "n_head": 2, "ctx": 16}
FINE = lab.TrainSpec(corpus="subtraction", pretrain="addition", pretrain_steps=300, steps=50,
                     chunk=25, runs=(("adam", 0.003),), **TINY)  # fmt: skip


@pytest.fixture(scope="module")
def fine() -> lab.Result:
    return lab.train_all(FINE)


def test_the_shared_vocabulary_keeps_base_ids_and_appends_new_characters():
    base = finetune.base_tokenizer()
    pasted = lab.corpus("pasted", "déjà vu " * 40)
    tok = finetune.target_tokenizer(pasted)
    assert tok.chars[: len(base.chars)] == base.chars
    assert set(tok.chars[len(base.chars) :]) == {"é", "à"}
    np.testing.assert_array_equal(base.encode("abc 12+3\n"), tok.encode("abc 12+3\n"))
    assert tok.decode(tok.encode("déjà vu")) == "déjà vu"


def test_extend_vocab_keeps_the_pretrained_rows_and_adds_fresh_ones():
    cfg = lab.model_config(lab.TrainSpec(**TINY), 10)
    params = jax.tree.map(np.asarray, init_params(jax.random.key(0), cfg))
    grown = finetune.extend_vocab(params, 13, seed=1)
    np.testing.assert_array_equal(grown["wte"][:10], params["wte"])
    np.testing.assert_array_equal(grown["head"]["w"][:, :10], params["head"]["w"])
    assert grown["wte"].shape == (13, 32)
    assert grown["head"]["w"].shape == (32, 13)
    assert 0.005 < grown["wte"][10:].std() < 0.05  # N(0, 0.02), like a fresh row
    assert grown["blocks"] is params["blocks"]
    with pytest.raises(ValueError, match="shrink"):
        finetune.extend_vocab(params, 5)


def test_runs_cover_optimizers_batch_sizes_and_scratch_baselines():
    spec = dataclasses.replace(FINE, runs=(("gd", 0.1), ("adam", 0.003)), batches=(8, FULL_BATCH))
    runs = lab.optimizer_runs(spec)
    assert [r.label for r in runs] == ["GD · batch 8", "GD · full batch", "Adam · batch 8",
                                       "Adam · full batch", "GD · batch 8 · scratch",
                                       "Adam · batch 8 · scratch"]  # fmt: skip
    assert [r.from_scratch for r in runs] == [False] * 4 + [True] * 2
    colors = lab.run_colors(spec)
    assert len(set(colors.values())) == len(runs)


def test_fine_tuning_beats_training_from_scratch_on_the_same_budget(fine):
    """Pretrained on addition (300 steps), then 50 steps on 360 subtraction lines: the
    fine-tuned model reaches a lower validation loss than the same optimizer from scratch."""
    val = fine.report.val_loss
    assert fine.labels == ["Adam", "Adam · scratch"]
    assert val["Adam"][-1] < val["Adam · scratch"][-1] - 0.05, val
    pre = lab.pretrained(FINE)
    assert pre is not None  # cached: the next fine-tuning of this shape skips pretraining
    assert lab.Training(FINE).stage != "pretrain"
    # step 0 of the fine-tuned run is the pretrained model ("-" is in the shared vocabulary)
    start = insight.params_at(fine, "Adam", 0)
    jax.tree.map(np.testing.assert_allclose, start, pre.report.params["Adam"])
    assert start["wte"].shape[0] == fine.corpus.tokenizer.vocab_size == 100


def test_samples_before_and_after_fine_tuning_are_differences(fine):
    """The pretrained model (step 0) writes sums; after fine-tuning, differences."""
    (s0, before), *_, (s1, after) = insight.samples(fine, "Adam", "", temperature=0.0, top_k=0)
    assert (s0, s1) == (0, FINE.steps)
    assert all("+" in line for line in before)
    assert all("-" in line and "+" not in line for line in after)


def test_subtraction_answers_and_corpus():
    assert arithmetic_answer("68-23=") == "45"
    assert arithmetic_answer("23+45=") == "68"
    c = lab.corpus("subtraction")
    assert CORPORA["subtraction"].arithmetic
    assert c.line_aligned
    lines = c.train_text.splitlines()
    assert len(lines) + len(c.val_text.splitlines()) == 400
    assert all(arithmetic_answer(ln[: ln.index("=") + 1]) == ln.split("=")[1] for ln in lines)


def test_full_batch_is_every_window_once_and_padding_is_ignored():
    c = lab.corpus("subtraction")
    data = make_data(c.train_ids, 16, c.line_starts("train"))
    batch = np.asarray(full_batch(data, 16))
    n = int(data.n_starts)
    starts = c.line_starts("train")
    assert batch.shape == (64 * -(-n // 64), 17)
    ids = np.concatenate([c.train_ids, np.zeros(16, np.int32)])
    for i in (0, 1, n - 1):
        np.testing.assert_array_equal(batch[i, 1:], ids[starts[i] : starts[i] + 16])
    assert (batch[n:, 1:] == PAD).all()


def test_full_batch_on_a_large_corpus_is_refused_with_a_message():
    spec = lab.TrainSpec(batches=(FULL_BATCH,), steps=10, **TINY)
    with pytest.raises(ValueError, match="full batch needs at most"):
        lab.trainer(spec)


def test_the_default_comparison_compiles_two_programs_per_group(compile_counter):
    """4 optimizers, one batch size, cut into a group per core (at most 4; ``train.WORKERS``):
    a setup and a chunk program per group (target: at most 8 backend compiles), then nothing
    more for a second press of Train."""
    programs.clear()
    spec = dataclasses.replace(lab.TrainSpec(), steps=100)  # the default shapes, 2 chunks
    n_groups = len(lab.trainer(spec).groups)
    assert n_groups == min(train.WORKERS, len(spec.runs))
    training = lab.Training(spec)
    assert training.stage == "compile"
    while training.advance():
        pass
    assert compile_counter.count == 2 * n_groups <= 8
    again = lab.Training(spec)
    assert again.stage == "train"  # compiled: no compile stage
    while again.advance():
        pass
    assert compile_counter.count == 2 * n_groups
    np.testing.assert_allclose(again.result.report.val_loss["Adam"],
                               training.result.report.val_loss["Adam"])  # fmt: skip
