"""Fine-tuning guard-multilingual's encoder (classifiers/train/e5_finetune.py): batches a
resumed run can replay, losses that ignore what a row does not label, a frozen word table."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from classifiers.train import data as D  # noqa: E402
from classifiers.train import e5_finetune as FT  # noqa: E402


def _bert():  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=6,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return transformers.BertModel(config, add_pooling_layer=False)


def _row(inj: int, harm: list[int]) -> D.Example:
    return D.Example("t", "f", "fam", "g", "prompt", inj, harm)


def test_each_epoch_visits_every_row_once_in_an_order_a_resumed_run_replays() -> None:
    """Batches cover each row once per epoch, are the same for a (seed, epoch) and differ
    between epochs, so a run resumed at step k does the batches it had not done."""
    lengths = [(i * 7) % 50 + 3 for i in range(203)]
    first = FT.batches(lengths, 8, seed=1, epoch=0)
    assert sorted(i for b in first for i in b) == list(range(203))
    assert all(len(b) <= 8 for b in first)
    assert first == FT.batches(lengths, 8, seed=1, epoch=0)
    assert first != FT.batches(lengths, 8, seed=1, epoch=1)


def test_losses_use_only_the_labels_a_row_has() -> None:
    """A row without an injection label adds nothing to the injection term, and a row whose
    harm labels are masked adds nothing to the harm term."""
    harm_unsafe = [1] + [0] * (len(D.HARM_LABELS) - 1)
    rows = [_row(-1, harm_unsafe), _row(1, [-1] * len(D.HARM_LABELS))]
    loss = FT.losses(rows)
    inj = torch.zeros(2, 3, requires_grad=True)
    harm = torch.zeros(2, len(D.HARM_LABELS), requires_grad=True)
    loss(inj, harm, torch.tensor([0, 1])).backward()
    assert inj.grad is not None and harm.grad is not None
    assert torch.all(inj.grad[0] == 0) and torch.any(inj.grad[1] != 0)
    assert torch.any(harm.grad[0] != 0) and torch.all(harm.grad[1] == 0)


def test_a_training_step_moves_the_layers_and_heads_but_not_the_word_table() -> None:
    """The word-embedding table stays as shipped (the bundle keeps its exact 4-bit table)."""
    model = FT.model_for(_bert(), seed=0)
    table = model.bert.embeddings.word_embeddings.weight.detach().clone()
    layer = model.bert.encoder.layer[0].attention.self.query.weight.detach().clone()
    head = model.heads["injection"][0].weight.detach().clone()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    rows = [_row(1, [-1] * len(D.HARM_LABELS)), _row(0, [0] * len(D.HARM_LABELS))]
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 9, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    inj, harm = model(ids, mask)
    FT.losses(rows)(inj, harm, torch.tensor([0, 1])).backward()
    opt.step()
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, table)
    assert not torch.equal(model.bert.encoder.layer[0].attention.self.query.weight, layer)
    assert not torch.equal(model.heads["injection"][0].weight, head)
