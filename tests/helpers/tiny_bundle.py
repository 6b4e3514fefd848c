"""A tiny but real classifier bundle, built without torch: an ONNX graph and a tokenizer.

The graph mirrors the real bundle's contract: embedding gather (+ token-type embedding),
mean pooling over the attention mask, and linear heads whose outputs are logits
(`injection_logits`: softmax head, `harm_logits`: sigmoid head, optionally a token head).

Its "knowledge" is hand-set so tests can check behaviour, not only shapes: the words in
`INJECTION_WORDS` push the `injection` logit up, `JAILBREAK_WORDS` push `jailbreak`, and
`VIOLENCE_WORDS` / `WEAPON_WORDS` push the matching harm labels (and `unsafe`). Every word also
gets a small random feature so that different benign texts get different scores.

With `pii=True` the bundle also has a `pii` token head (BIO labels, like the real bundle's)
and a WordPiece tokenizer, so that some names split into subwords: `PII_TAGS` says which
token gets which label and how strongly ("alice" is B-PERSON with p ~ 0.999, "bob" only
~0.37, "maria" = "mar" (B-PERSON) + "##ia" (O), "gonzalez" = "gon" + "##zalez"; "-" is
I-PERSON, as a real head sometimes tags a dash next to a name, so decoding must trim it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from ruamel.yaml import YAML
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
INJECTION_WORDS = ["ignore", "previous", "instructions", "system", "prompt", "reveal"]
JAILBREAK_WORDS = ["pretend", "dan", "unrestricted", "roleplay"]
VIOLENCE_WORDS = ["kill", "hurt", "attack"]
WEAPON_WORDS = ["bomb", "gun", "explosive"]
BENIGN_WORDS = [
    word
    for line in (
        "the a an and or of to in on for with is are was be it this that what how why",
        "when please help me write summarize email weather recipe cake travel paris code",
        "python function list sort numbers book review movie song poem story today",
        "tomorrow meeting report budget table chart data river mountain garden coffee tea",
        "music friend family",
    )
    for word in line.split()
]
VOCAB = [*SPECIALS, *INJECTION_WORDS, *JAILBREAK_WORDS, *VIOLENCE_WORDS, *WEAPON_WORDS]
VOCAB += BENIGN_WORDS

INJECTION_LABELS = ["benign", "injection", "jailbreak"]
HARM_LABELS = ["unsafe", "violence", "weapons"]
TOKEN_LABELS = ["O", "B-BAD", "I-BAD"]
HIDDEN = 6  # dims: 0 bias, 1 injection, 2 jailbreak, 3 violence, 4 weapons, 5 noise
PII_LABELS = ["O", "B-PERSON", "I-PERSON", "B-LOCATION", "I-LOCATION"]
PII_LABELS += ["B-ORGANIZATION", "I-ORGANIZATION"]
STRONG, WEAK = 4.0, 0.75  # label logit = 2 * strength against O's 1.0
# token -> (label, strength); pii bundles add one hidden dim per pii label after HIDDEN
PII_TAGS: dict[str, tuple[str, float]] = {
    "alice": ("B-PERSON", STRONG),
    "smith": ("I-PERSON", STRONG),
    "bob": ("B-PERSON", WEAK),
    "mar": ("B-PERSON", STRONG),
    "gon": ("B-PERSON", STRONG),
    "##zalez": ("I-PERSON", STRONG),
    "london": ("B-LOCATION", STRONG),
    "springfield": ("B-LOCATION", STRONG),
    "acme": ("B-ORGANIZATION", STRONG),
    "corp": ("I-ORGANIZATION", STRONG),
    "-": ("I-PERSON", STRONG),  # a separator tagged inside a name: trimmed from entity edges
}
PII_VOCAB = [*PII_TAGS, "##ia", "lives", "works", "at", "met", "called", "from"]


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vocabulary(pii: bool = False) -> list[str]:
    """The tokens of the tiny vocabulary (pii bundles add names and subwords at the end)."""
    return [*VOCAB, *PII_VOCAB] if pii else list(VOCAB)


def build_tokenizer(truncate_at: int = 8, pii: bool = False) -> Tokenizer:
    """A lower-casing WordLevel (pii: WordPiece) tokenizer with BERT-style [CLS] ... [SEP].

    Padding and truncation are switched ON in the saved file (as exported HF tokenizers
    often are) so tests can check that the runtime switches them off.
    """
    vocab = {word: i for i, word in enumerate(vocabulary(pii))}
    model = (
        models.WordPiece(vocab, unk_token="[UNK]")
        if pii
        else models.WordLevel(vocab, unk_token="[UNK]")
    )
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=truncate_at)
    tokenizer.enable_truncation(max_length=truncate_at)
    return tokenizer


def _hidden(pii: bool) -> int:
    return HIDDEN + len(PII_LABELS) if pii else HIDDEN


def _embeddings(seed: int, pii: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vocab = vocabulary(pii)
    emb = np.zeros((len(vocab), _hidden(pii)), dtype=np.float32)
    emb[:, 0] = 1.0
    emb[: len(VOCAB), 5] = rng.normal(0.0, 1.0, len(VOCAB))
    for dim, words in enumerate(
        (INJECTION_WORDS, JAILBREAK_WORDS, VIOLENCE_WORDS, WEAPON_WORDS), start=1
    ):
        for word in words:
            emb[VOCAB.index(word), dim] = 4.0
    if pii:
        for word, (label, strength) in PII_TAGS.items():
            emb[vocab.index(word), HIDDEN + PII_LABELS.index(label)] = strength
    return emb


def _pii_head() -> tuple[np.ndarray, np.ndarray]:
    """O scores 1.0 (through the bias dim); label j scores 2 * the token's dim HIDDEN + j."""
    weight = np.zeros((_hidden(True), len(PII_LABELS)), dtype=np.float32)
    weight[0, 0] = 1.0
    for j in range(1, len(PII_LABELS)):
        weight[HIDDEN + j, j] = 2.0
    return weight, np.zeros(len(PII_LABELS), dtype=np.float32)


def _pad_rows(weight: np.ndarray, rows: int) -> np.ndarray:
    """`weight` with zero rows added for hidden dims it does not read."""
    padded = np.zeros((rows, weight.shape[1]), dtype=np.float32)
    padded[: weight.shape[0]] = weight
    return padded


def _heads() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    inj = np.zeros((HIDDEN, 3), dtype=np.float32)
    inj[0, 0], inj[1, 1], inj[2, 2] = 2.0, 6.0, 6.0
    inj[5] = [0.3, -0.2, 0.1]
    harm = np.zeros((HIDDEN, 3), dtype=np.float32)
    harm[3, 0] = harm[4, 0] = 6.0
    harm[3, 1] = harm[4, 2] = 6.0
    harm[5] = [0.2, -0.1, 0.15]
    tok = np.zeros((HIDDEN, 3), dtype=np.float32)
    tok[0, 0], tok[3, 1], tok[4, 2] = 1.0, 2.0, 2.0
    return {
        "injection_logits": (inj, np.zeros(3, dtype=np.float32)),
        "harm_logits": (harm, np.full(3, -3.0, dtype=np.float32)),
        "token_logits": (tok, np.zeros(3, dtype=np.float32)),
    }


def build_graph(seed: int = 0, token_head: bool = False, pii: bool = False) -> onnx.ModelProto:
    """The ONNX graph: gather + mean pool over the mask + linear heads (logits out)."""
    hidden = _hidden(pii)
    ints = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    init = [
        numpy_helper.from_array(_embeddings(seed, pii), "word_emb"),
        numpy_helper.from_array(np.zeros((2, hidden), dtype=np.float32), "type_emb"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array(1e-6, dtype=np.float32), "eps"),
    ]
    nodes = [
        helper.make_node("Gather", ["word_emb", "input_ids"], ["e"]),
        helper.make_node("Gather", ["type_emb", "token_type_ids"], ["t"]),
        helper.make_node("Add", ["e", "t"], ["x"]),
        helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["m", "axis2"], ["m3"]),
        helper.make_node("Mul", ["x", "m3"], ["xm"]),
        helper.make_node("ReduceSum", ["xm", "axis1"], ["s"], keepdims=0),
        helper.make_node("ReduceSum", ["m3", "axis1"], ["c"], keepdims=0),
        helper.make_node("Max", ["c", "eps"], ["c2"]),
        helper.make_node("Div", ["s", "c2"], ["pooled"]),
    ]
    outputs = []
    heads = _heads()
    if pii:
        heads["pii_logits"] = _pii_head()
    names = ["injection_logits", "harm_logits"] + (["token_logits"] if token_head else [])
    names += ["pii_logits"] if pii else []
    for name in names:
        weight, bias = heads[name]
        token = name in ("token_logits", "pii_logits")
        source = "x" if token else "pooled"
        init += [numpy_helper.from_array(_pad_rows(weight, hidden), f"{name}_w")]
        init += [numpy_helper.from_array(bias, f"{name}_b")]
        nodes += [
            helper.make_node("MatMul", [source, f"{name}_w"], [f"{name}_mm"]),
            helper.make_node("Add", [f"{name}_mm", f"{name}_b"], [name]),
        ]
        width = weight.shape[1]
        shape: list[str | int] = ["batch", "seq", width] if token else ["batch", width]
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    graph = helper.make_graph(nodes, "tiny_guard", ints, outputs, init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def manifest(
    name: str = "tiny",
    max_length: int = 16,
    stride: int = 12,
    token_head: bool = False,
    pii: bool = False,
) -> dict[str, Any]:
    """bundle.yaml content without `files` (filled in by `write_manifest`)."""
    heads: dict[str, Any] = {
        "injection": {
            "type": "softmax",
            "output": "injection_logits",
            "labels": INJECTION_LABELS,
            "negative": ["benign"],
            "thresholds": {"injection": 0.5, "jailbreak": 0.5},
            "thresholds_strict": {"injection": 0.9},
        },
        "harm": {
            "type": "sigmoid",
            "output": "harm_logits",
            "labels": HARM_LABELS,
            "thresholds": {"unsafe": 0.5, "violence": 0.6},
        },
    }
    if token_head:
        heads["spans"] = {
            "type": "token",
            "output": "token_logits",
            "labels": TOKEN_LABELS,
            "negative": ["O"],
        }
    if pii:
        heads["pii"] = {
            "type": "token",
            "output": "pii_logits",
            "labels": PII_LABELS,
            "negative": ["O"],
            "thresholds": {"PERSON": 0.5, "LOCATION": 0.5, "ORGANIZATION": 0.5},
        }
    return {
        "format": 1,
        "name": name,
        "description": "tiny test bundle",
        "base_model": "none (hand-set weights)",
        "max_length": max_length,
        "window_stride": stride,
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "heads": heads,
        "training": {"command": "tests/helpers/tiny_bundle.py"},
    }


def write_manifest(folder: Path, data: dict[str, Any], rehash: bool = True) -> None:
    """Write bundle.yaml; with `rehash`, `files` lists every other file with its sha256."""
    data = dict(data)
    if rehash:
        data["files"] = {
            p.name: sha256(p)
            for p in sorted(folder.iterdir())
            if p.is_file() and p.name != "bundle.yaml"
        }
    yaml = YAML(typ="safe", pure=True)
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep order
    yaml.default_flow_style = False
    yaml.width = 4096
    with (folder / "bundle.yaml").open("w", encoding="utf-8") as stream:
        yaml.dump(data, stream)


def relabel_injection_head(folder: Path, labels: list[str]) -> None:
    """Give the bundle's `injection` head other labels (and no thresholds): a bundle that
    cannot score a label a guard reports."""
    data = YAML(typ="safe", pure=True).load((folder / "bundle.yaml").read_text())
    data["heads"]["injection"]["labels"] = labels
    data["heads"]["injection"]["thresholds"] = {}
    data["heads"]["injection"]["thresholds_strict"] = {}
    write_manifest(folder, data)


def build_tiny_bundle(
    folder: Path,
    name: str = "tiny",
    max_length: int = 16,
    stride: int = 12,
    token_head: bool = False,
    seed: int = 0,
    pii: bool = False,
) -> Path:
    """Write a complete, valid bundle into `folder` (created) and return it.

    `token_head` adds the `spans` head (B-BAD/I-BAD on violence/weapon words); `pii` adds
    the `pii` head (PERSON, LOCATION, ORGANIZATION; see `PII_TAGS`) and a WordPiece tokenizer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(build_graph(seed, token_head, pii), str(folder / "model.onnx"))
    build_tokenizer(pii=pii).save(str(folder / "tokenizer.json"))
    (folder / "MODEL_CARD.md").write_text(f"# {name}\n\nA tiny test bundle.\n")
    write_manifest(folder, manifest(name, max_length, stride, token_head, pii))
    return folder
