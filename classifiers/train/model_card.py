"""MODEL_CARD.md for the bundle, generated from the metrics JSON (counts and metrics only)."""

from __future__ import annotations

from pathlib import Path


def _f(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _head_table(res: dict) -> list[str]:
    lines = [
        "| label | pos | neg | precision | recall | FPR | recall@1%FPR | AUPRC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lab, m in res.items():
        lines.append(
            f"| {lab} | {m.get('n_pos')} | {m.get('n_neg')} | {_f(m.get('precision'))} | "
            f"{_f(m.get('recall'))} | {_f(m.get('fpr'))} | {_f(m.get('recall_at_1pct_fpr'))} | "
            f"{_f(m.get('auprc'))} |"
        )
    return lines


def _family_table(fams: dict) -> list[str]:
    lines = [
        "| file \\| source family | n | injection: pos/neg, recall, FPR | harm: pos/neg, recall, "
        "FPR, AUPRC |",
        "|---|---|---|---|",
    ]
    for key, e in fams.items():
        cells = []
        for h in ("injection", "harm"):
            m = e.get(h)
            if not m:
                cells.append("–")
                continue
            s = f"{m['pos']}/{m['neg']}, R {_f(m.get('recall'))}, FPR {_f(m.get('fpr'))}"
            if h == "harm" and "auprc" in m:
                s += f", AP {_f(m['auprc'])}"
            cells.append(s)
        name = key.replace("|", "\\|")
        lines.append(f"| {name} | {e['n']} | {cells[0]} | {cells[1]} |")
    return lines


def _loso_table(loso: dict) -> list[str]:
    lines = [
        loso.get("method", ""),
        "",
        "| held-out family | head | test rows (pos) | recall@1%FPR in-family → held out | "
        "AUPRC within family in-family → held out |",
        "|---|---|---|---|---|",
    ]
    for fam, r in loso.get("folds", {}).items():
        ap = (
            f"{_f(r.get('in_family_family_auprc'))} → {_f(r.get('held_out_family_auprc'))}"
            if "in_family_family_auprc" in r
            else "– (one class)"
        )
        lines.append(
            f"| {fam} | {r['head']} | {r['n_test']} ({r['n_test_pos']}) | "
            f"{_f(r['in_family'])} → {_f(r['held_out'])} | {ap} |"
        )
    return lines


BIPIA = "injection/documents | github:microsoft/BIPIA"
AUG = "synthetic/augmented_documents | synthetic:augmented_documents"


def _limits(metrics: dict) -> list[str]:
    h = metrics["heads"]
    inj = h["injection"]["attack_vs_benign(1-p_benign)"]
    un = h["harm"]["unsafe"]
    ex = h["harm"].get("unsafe_vs_safe_excluding_social_media_negatives", {})
    fam = metrics["per_family"]

    def fpr(key, head):
        return _f(fam.get(key, {}).get(head, {}).get("fpr"))

    def rec(key, head):
        return _f(fam.get(key, {}).get(head, {}).get("recall"))

    return [
        "### Known limits (measured)",
        "",
        f"* The injection target (recall ≥ 0.97 at 1 % FPR) is **missed**: "
        f"{_f(inj.get('recall_at_1pct_fpr'))}. "
        f"Weakest positives: deepset prompt injections (weak, noisy labels) recall "
        f"{rec('injection/prompts | github:sinanw/llm-security-prompt-injection', 'injection')}, "
        f"BIPIA injected documents {rec(BIPIA, 'injection')}, "
        f"augmented documents {rec(AUG, 'injection')}. "
        f"Benign rows it flags most: awesome-chatgpt-prompts personas (FPR "
        f"{fpr('injection/prompts | github:f/awesome-chatgpt-prompts', 'injection')}), "
        f"harmful-but-plain "
        f"AILuminate requests ({fpr('harm/prompts | github:mlcommons/ailuminate', 'injection')}), "
        f"clean "
        f"BIPIA documents ({fpr('injection/documents | github:microsoft/BIPIA', 'injection')}).",
        f"* Harm: AUPRC {_f(un.get('auprc'))} meets the target, but at the default threshold (≤1 "
        f"% FPR "
        f"on *all* safe rows, which are mostly hard social-media text) `unsafe` recall is only "
        f"{_f(un.get('recall'))}; against ordinary safe prompts/documents/answers the same "
        f"threshold "
        f"has FPR {_f(ex.get('fpr'))} and recall@1%FPR there is "
        f"{_f(ex.get('recall_at_1pct_fpr'))}. "
        "A policy that mostly sees chat traffic can lower the `unsafe` threshold. Category labels "
        "are tuned for precision (each fires on ≤0.03 % of safe rows), so their recall is low; "
        "use them to describe an `unsafe` finding rather than as the trigger.",
        "* Jailbreak answers (GPT-Fuzz, PyRIT many-shot) are mostly missed at the default "
        "threshold; "
        "output guarding of assistant answers is the weakest area.",
        "* int8 vs fp32: mean |Δp| is small, but single texts move by up to ~0.3 in probability; "
        "decisions near a threshold can flip (about 1–2 % of texts).",
        "",
    ]


def write_model_card(bundle: Path, manifest: dict, metrics: dict, meta: dict) -> Path:
    heads = metrics["heads"]
    hn = metrics["hard_negatives"]
    ag = metrics["int8_vs_fp32"]
    th = metrics["thresholds"]
    inj_acc = heads["injection"]["attack_vs_benign(1-p_benign)"]
    harm_u = heads["harm"]["unsafe"]
    L = [
        f"# {manifest['name']} — model card",
        "",
        "One shared MiniLM-L6 encoder (sentence-transformers/all-MiniLM-L6-v2, mean pooling, "
        "int8 dynamic per-channel quantisation, ONNX) with two heads, computed in one forward "
        "pass:",
        "",
        "* `injection` (softmax: benign / injection / jailbreak): prompt injection in user prompts "
        "and in retrieved documents or tool output (instruction overrides, goal hijacking, prompt "
        "leaking, indirect injection), and jailbreaks (persona/DAN, role-play, adversarial "
        "suffixes).",
        "* `harm` (sigmoid, multi-label): `unsafe` plus categories "
        + ", ".join(f"`{c}`" for c in manifest["heads"]["harm"]["labels"][1:])
        + ", for user requests, social-media text and assistant answers.",
        "",
        "Rebuild: `nice -n 5 python -m classifiers.train.all` (see classifiers/train/README.md). "
        f"Training: {meta.get('train_rows', '?')} rows, {meta.get('steps', '?')} steps, "
        f"{meta.get('train_seconds', '?')} s wall-clock on a shared 2-core CPU machine (1 torch "
        f"thread). Training step: `{meta.get('command', '?')}`.",
        "",
        "## What it does not do",
        "",
        "* English only. Non-English text (and most non-Latin scripts, which the tokenizer maps to "
        "[UNK]) is out of scope: scores there are not meaningful.",
        "* No PII or secret detection (no token head yet), no child-safety label of its own "
        "(`sexual_minors` maps to `sexual` + `unsafe`), no misinformation fact-checking: the "
        "`misinformation` / `privacy` labels learn request *style* from a few hundred prompts.",
        "* Context: one text at a time; multi-turn attacks and answers that are only harmful given "
        "the question are not modelled. Obfuscated attacks (base64, ciphers, leetspeak) are weak "
        "spots.",
        "* Hate: English counter-speech, quoted hate and reclaimed slurs have no training data; "
        "expect false positives there. Profanity-heavy but harmless text may be flagged.",
        "",
        "## Validation (int8 ONNX, runtime-style windows, max over windows)",
        "",
        f"{metrics['validation_rows']} validation rows: the 15 % group-hash split of the English "
        "data (big sources capped), 300 augmented documents built from validation rows, and the "
        "held-out hard-negative templates. Thresholds per head are set so that the head fires on "
        "at most 1 % (strict: 0.1 %) of the benign validation rows of that head.",
        "",
        f"**Acceptance:** injection+jailbreak vs benign recall at 1 % FPR = "
        f"{_f(inj_acc.get('recall_at_1pct_fpr'))} (target ≥ 0.97; AUPRC "
        f"{_f(inj_acc.get('auprc'))}); "
        f"harm unsafe-vs-safe AUPRC = {_f(harm_u.get('auprc'))} (target ≥ 0.92; recall@1%FPR "
        f"{_f(harm_u.get('recall_at_1pct_fpr'))}).",
        "",
        "Reading the tables: `attack_vs_benign(1-p_benign)` ranks by 1 − P(benign); the "
        "`*_shipped_thresholds` rows are the decisions a guard makes with the default thresholds "
        "(any positive label ≥ its threshold). Harm negatives are all `safe` rows, most of them "
        "hard "
        "social-media text (Stormfront, Davidson 'neither', ConvAbuse); "
        "`unsafe_vs_safe_excluding_social_media_negatives` keeps only safe prompts, documents and "
        "answers as negatives.",
        "",
        *_limits(metrics),
        "### injection head",
        "",
        *_head_table(heads["injection"]),
        "",
        "### harm head",
        "",
        *_head_table(heads["harm"]),
        "",
        "### Hard negatives (held-out templates, never trained on)",
        "",
        f"{hn['n_benign']} benign rows (homonyms, figurative speech, fiction/games, medical and "
        f"safety questions, definitions, history, questions about prompt injection): FPR injection "
        f"{_f(hn['benign_fpr_injection'])}, harm {_f(hn['benign_fpr_harm'])}, any head "
        f"{_f(hn['benign_fpr_any'])} (strict thresholds: {_f(hn['benign_fpr_any_strict'])}). "
        f"Word-sharing positives: harm recall {_f(hn['harm_pos_recall'])} (n={hn['n_harm_pos']}), "
        f"attack recall {_f(hn['attack_pos_recall'])} (n={hn['n_attack_pos']}).",
        "",
        "### int8 vs fp32",
        "",
        f"On {ag['rows']} validation texts: "
        + "; ".join(
            f"`{h}` max |Δp| {ag[h]['max_abs_prob_diff']}, mean |Δp| "
            f"{ag[h]['mean_abs_prob_diff']}, "
            f"same decisions {ag[h]['decision_agreement']}"
            for h in manifest["heads"]
        )
        + ".",
        "",
        "### Latency",
        "",
        "Median per window, one onnxruntime thread, int8, on the shared 2-core CPU machine "
        "(others were running): "
        + ", ".join(
            f"{k.replace('_tokens_ms', '')} tokens {v} ms"
            for k, v in metrics.get("latency_int8_1thread", {}).items()
        )
        + ".",
        "",
        "### Thresholds",
        "",
        *[
            f"* `{h}`: default {th[h]['thresholds']}; strict {th[h]['thresholds_strict']}"
            for h in th
        ],
        "",
    ]
    if "loso" in metrics:
        L += ["## Leave-one-source-family-out", "", *_loso_table(metrics["loso"]), ""]
    L += [
        "## Per source family (validation, default thresholds)",
        "",
        "Recall and FPR use the shipped thresholds (any label of the head fires).",
        "",
        *_family_table(metrics["per_family"]),
        "",
        "## Data",
        "",
        "All from `../shared/data` (see its README for sources and licences); English rows only. "
        "Training balance: Davidson, Stormfront, EDOS, identity templates, CLINC, GSM8K and NQ "
        "are capped; `weak_label` rows and Davidson 'offensive' are weighted ×0.5. "
        "Category mapping: `bias` → `hate`, `sexual_minors` → `sexual`; `unspecified`, "
        "`child_safety` only set `unsafe` (category losses masked for rows without a mapped "
        "category). Injection head targets for harm rows: `benign`, except JailbreakBench "
        "prompts wrapped in a jailbreak (`jailbreak`); assistant answers do not train it.",
        "",
    ]
    out = bundle / "MODEL_CARD.md"
    out.write_text("\n".join(L))
    return out
