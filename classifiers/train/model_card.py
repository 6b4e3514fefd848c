"""MODEL_CARD.md for the bundle, generated from the metrics JSON (counts and metrics only)."""

from __future__ import annotations

from pathlib import Path

from .export import encoder_description, graph_depth


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


def _channel_lines(channels: dict | None) -> list[str]:
    """Recall at 1 % FPR within each channel (user prompts, retrieved documents)."""
    if not channels:
        return []
    parts = [
        f"{c}s {_f(m.get('recall_at_1pct_fpr'))} ({m['n_pos']} attacks, {m['n_neg']} benign, "
        f"{m.get('pooled_1pct_fp')} of the benign rows above the pooled 1 %-FPR threshold)"
        for c, m in channels.items()
    ]
    return [
        "* By channel, recall at 1 % FPR *of that channel's* benign rows: "
        + "; ".join(parts)
        + ". The rest of the pooled 1 % falls on benign rows of channels without attacks "
        "(social-media and other plain texts). A channel whose own recall is far below the "
        "pooled one is where the head is weak; a policy can give that stage its own, higher "
        "thresholds."
    ]


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
        *_channel_lines(h["injection"].get("per_channel")),
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
    encoder = encoder_description(graph_depth(bundle / "model.onnx"))
    L = [
        f"# {manifest['name']} — model card",
        "",
        f"{encoder[0].upper()}{encoder[1:]} (sentence-transformers/all-MiniLM-L6-v2, mean pooling, "
        "int8 dynamic per-channel quantisation, ONNX) with "
        f"{len(manifest['heads'])} heads, computed in one forward pass:",
        "",
        "* `injection` (softmax: benign / injection / jailbreak): prompt injection in user prompts "
        "and in retrieved documents or tool output (instruction overrides, goal hijacking, prompt "
        "leaking, indirect injection), and jailbreaks (persona/DAN, role-play, adversarial "
        "suffixes).",
        "* `harm` (sigmoid, multi-label): `unsafe` plus categories "
        + ", ".join(f"`{c}`" for c in manifest["heads"]["harm"]["labels"][1:])
        + ", for user requests, social-media text and assistant answers.",
        *(
            [
                "* `pii` (token head, BIO per WordPiece token): PERSON, LOCATION (places and "
                "street addresses), ORGANIZATION, DATE_TIME spans; trained on the frozen encoder, "
                "so it does not change the other heads (see *pii head* below)."
            ]
            if "pii" in manifest["heads"]
            else []
        ),
        "",
        f"Rebuild: `{meta.get('rebuild_command', 'nice -n 5 python -m classifiers.train.all')}` "
        "(see classifiers/train/README.md). "
        f"Training: {meta.get('train_rows', '?')} rows, {meta.get('steps', '?')} steps, "
        f"{meta.get('train_seconds', '?')} s wall-clock on a shared 2-core CPU machine (1 torch "
        f"thread). Training step: `{meta.get('command', '?')}`.",
        "",
        *_compared_lines(metrics.get("compared_to")),
        "## What it does not do",
        "",
        "* English only. Non-English text (and most non-Latin scripts, which the tokenizer maps to "
        "[UNK]) is out of scope: scores there are not meaningful.",
        "* No secret detection, "
        + (
            "no PII types other than the four of the `pii` head (e-mail, phone, card, IBAN, ID "
            "numbers are left to regex guards), "
            if "pii" in manifest["heads"]
            else "no PII entities (no `pii` head: use guard-minilm or the rule guards), "
        )
        + "no child-safety label of its own "
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
        "Reading the tables: `attack_vs_benign(1-p_benign)` ranks a text by 1 − P(benign) of its "
        "most suspicious window; the "
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
        *_probe_lines(metrics.get("identifier_probe")),
        *_multilingual_lines(metrics.get("multilingual")),
        *_notice_lines(metrics.get("notice_documents")),
        "### int8 vs fp32",
        "",
        f"On {ag['rows']} validation texts: "
        + "; ".join(
            f"`{h}` max |Δp| {ag[h]['max_abs_prob_diff']}, mean |Δp| "
            f"{ag[h]['mean_abs_prob_diff']}, "
            f"same decisions {ag[h]['decision_agreement']}"
            for h in ag
            if h != "rows"
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
    if "injection_head" in metrics:
        L += _inj_head_section(metrics["injection_head"])
    if "runs_compared" in metrics:
        L += _runs_section(metrics["runs_compared"])
    if "pii" in metrics:
        L += _pii_section(metrics["pii"])
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


def _compared_lines(compared: dict | None) -> list[str]:
    """A student's headline numbers next to its teacher's (same validation rows and scripts)."""
    if not compared:
        return []
    names = list(compared)
    rows = [
        "| "
        + " | ".join([key.replace("_", " "), *(_f(compared[n].get(key)) for n in names)])
        + " |"
        for key in compared[names[-1]]
    ]
    return [
        "Against the 6-layer bundle it was cut from, measured by the same scripts on the same "
        "validation rows (latency of both, measured in one run: docs/benchmarks.md, "
        "classifier section 2):",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        *rows,
        "",
    ]


def _probe_lines(probe: dict | None) -> list[str]:
    if not probe:
        return []
    return [
        f"Identifier probe ({probe['n']} benign questions around a pasted key, hash, token or "
        "id; templates and identifiers never trained on, `hard_negatives.identifier_probe`): "
        f"the injection head fires on {_f(probe['fpr_injection'])} of them (strict thresholds: "
        f"{_f(probe['fpr_injection_strict'])}). Random strings resemble the adversarial "
        "suffixes of jailbreak data; the `id_*` hard-negative templates teach the difference.",
        "",
    ]


def _notice_lines(notice: dict | None) -> list[str]:
    if not notice:
        return []
    return [
        f"Notice documents ({notice['n']} clean validation documents with one sentence to the "
        "human reader inserted at the start, middle or end, e.g. an RSVP request, a safety "
        'instruction or "ignore the previous calendar invite"; benign, never trained on, '
        "`hard_negatives.notice_documents`): the injection head fires on "
        f"{_f(notice['fpr_injection'])} of them (strict thresholds: "
        f"{_f(notice['fpr_injection_strict'])}); on the same documents and wrappers without the "
        f"notice it fires on {_f(notice.get('fpr_injection_without_notice'))}. The encoder learnt "
        "that an imperative sentence set apart inside a document is suspicious; its benign "
        "twins during training mostly inserted short requests to an assistant, which BIPIA "
        "would count as attacks. Expect false positives on retrieved documents with "
        "instructions to their readers.",
        "",
    ]


def _multilingual_lines(ml: dict | None) -> list[str]:
    if not ml:
        return []
    return [
        f"Non-English prompts and documents (validation part of the `*_multilingual` files, "
        f"{ml['n_benign']} benign, {ml['n_attack']} injections, not in the tables above): the "
        f"injection head fires on {_f(ml['benign_fpr'])} of the benign ones and catches "
        f"{_f(ml['attack_recall'])} of the injections at the default thresholds. Most of those "
        "injections are one benchmark's translated templates (XSafety goal hijacking), so the "
        "recall is optimistic; the tokenizer is English WordPiece, so treat non-English "
        "detection as a floor, not a feature.",
        "",
    ]


def _inj_head_section(rep: dict) -> list[str]:
    """The second-stage injection head (inj_head.py): candidates and the choice."""
    L = [
        "## injection head: second stage on runtime windows",
        "",
        "The encoder is fine-tuned on 96-token windows (documents 192) to fit the CPU budget, "
        "but the runtime scores 512-token windows. `classifiers/train/inj_head.py` keeps the "
        "encoder (so `harm` is bit-identical and the `pii` head reads the same hidden states) "
        "and refits the `injection` head on the "
        "int8 graph's own features for every runtime window of the training rows "
        f"({rep['train_rows']} rows incl. hard negatives x3 and the training part of the "
        f"non-English prompts and documents; {rep['train_windows']} windows): the "
        "mean over the window's tokens of every layer's output (one candidate adds the last "
        "layer's maximum). An attack row longer than one window labels only its "
        "top-scored window (multiple-instance). Candidates were compared on a group-held-out "
        "fifth of the *training* split (the encoder saw those rows, so these numbers are "
        "optimistic and only rank the candidates); validation was scored once, for the chosen "
        "one.",
        "",
        "| candidate (inner split) | recall@1%FPR | recall@0.1%FPR | AUPRC |",
        "|---|---|---|---|",
    ]
    for name, m in rep["candidates_inner"].items():
        mark = " (chosen)" if name == rep["chosen"] else ""
        L.append(
            f"| {name}{mark} | {_f(m['recall_at_1pct_fpr'])} | "
            f"{_f(m['recall_at_0.1pct_fpr'])} | {_f(m['auprc'])} |"
        )
    new, old = rep["val_new"], rep["val_previous_head"]
    L += [
        "",
        f"Validation on the cached features: the chosen head {_f(new['recall_at_1pct_fpr'])} "
        f"recall at 1 % FPR (AUPRC {_f(new['auprc'])}) vs the fine-tuned head it replaces "
        f"{_f(old['recall_at_1pct_fpr'])} (AUPRC {_f(old['auprc'])}). The features were computed "
        "in padded batches, and dynamic int8 quantisation scales activations per batch; the "
        "tables above are the shipped graph scoring one window per pass, as the runtime does.",
        "",
    ]
    ml = rep.get("multilingual_val") or {}
    if ml:
        L += [
            f"Non-English validation rows, same features: recall at 1 % FPR "
            f"{_f(ml['new']['recall_at_1pct_fpr'])} (AUPRC {_f(ml['new']['auprc'])}) vs "
            f"{_f(ml['previous_head']['recall_at_1pct_fpr'])} (AUPRC "
            f"{_f(ml['previous_head']['auprc'])}) for the head it replaces.",
            "",
        ]
    return L


def _runs_section(runs: dict) -> list[str]:
    """Every full training run, evaluated the same way (evaluate.py), shipped or not."""
    L = [
        "## Training runs (same validation rows, same evaluation code)",
        "",
        runs.get("note", ""),
        "",
        "| run | shipped | steps | train min | injection R@1%FPR | injection AUPRC | harm unsafe "
        "AUPRC | hard-neg FPR any | hard-neg attack recall | what changed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.get("runs", {}).items():
        L.append(
            f"| {name} | {'yes' if r.get('shipped') else 'no'} | {r.get('steps')} | "
            f"{_f(r.get('train_minutes'))} | {_f(r.get('injection_recall_at_1pct_fpr'))} | "
            f"{_f(r.get('injection_auprc'))} | {_f(r.get('harm_unsafe_auprc'))} | "
            f"{_f(r.get('hard_negative_fpr_any'))} | {_f(r.get('hard_negative_attack_recall'))} | "
            f"{r.get('changes', '')} |"
        )
    return [*L, ""]


def _pii_table(res: dict) -> list[str]:
    L = ["| type | gold | predicted | precision | recall | F1 |", "|---|---|---|---|---|---|"]
    for t, m in res.items():
        L.append(
            f"| {t} | {m['gold']} | {m['pred']} | {_f(m['precision'])} | {_f(m['recall'])} | "
            f"{_f(m['f1'])} |"
        )
    return L


def _pii_section(pii: dict) -> list[str]:
    tr = pii.get("training", {})
    lat = pii.get("latency_1thread", {})
    ident = pii.get("sequence_heads_vs_graph_without_pii_max_abs_logit_diff", {})
    neg = pii.get("val_negatives", {})
    cands = tr.get("candidates", {})
    L = [
        "## pii head (token classification)",
        "",
        "**Held-out family (support tickets) vs targets:** "
        f"{_pii_targets(pii.get('heldout', {}))}. "
        "Second held-out family, written blind before the data fix (same targets, for "
        f"reference): {_pii_targets(pii.get('blind', {}))}.",
        "",
        "BIO tags over the bundle's WordPiece tokens for PERSON, LOCATION (cities, regions, "
        "countries and full street addresses: presidio STREET_ADDRESS / ADDRESS / GPE / LOCATION "
        "all map to LOCATION), ORGANIZATION and DATE_TIME. Other presidio types (e-mail, phone, "
        "card, IBAN, SSN, IP, title, age, nationality, zip code alone) are `O`. The encoder is "
        "frozen while the head trains (hidden states cached once), so the injection and harm "
        "outputs are unchanged; the head reads "
        f"`hidden_states{tr.get('chosen_layers')}` (0 = embeddings, 6 = last layer), "
        f"{'linear' if not tr.get('chosen_hidden') else 'one ReLU layer of width ' + str(tr.get('chosen_hidden'))}"  # noqa: E501
        + (
            f" plus a residual 1-D convolution over {tr['chosen_kernel']} neighbouring tokens "
            "(exported as one int8 MatMul over each token's neighbours, model.TokenHead)"
            if tr.get("chosen_kernel")
            else ""
        )
        + ". Span decoding: classifiers/BUNDLE.md, *token heads*. Numbers below: the shipped int8 "
        "graph, default thresholds "
        f"{pii.get('thresholds')}, entity-level exact match of the token-aligned character span "
        "and type.",
        "",
        "**Data.** presidio-research synthetic sentences (`../shared/data/pii/pii_spans.jsonl`, "
        "split by template id, 15 % validation) and our own Faker sentences (locales en_US, en_GB, "
        "de_DE, fr_FR, es_ES, it_IT; template families chat requests, e-mails, CSV-like lines, "
        "address blocks in the locale's format, records, prose with several entities, e-mail "
        "signatures, log lines, lists and short messages, about 40 % behind a random header; "
        "label / heading words right before entities and lowercase words right after names "
        "(`labelled`), delimited records with person, place and organisation fields side by side "
        "in random order (`records`), persons right next to organisations (`pairs`), entities "
        "among look-alikes labelled `O`: user handles made of names, Title Case product / "
        "course / dish names, amounts right after a name (`distractors`); 1200 training rows "
        "moved behind 40–1800 characters of PII-free benign prompts (`long_context`), since "
        "entities deep in a long window were missed), "
        "generated in memory by `classifiers/train/pii_data.py`. The family **support tickets** "
        f"(`{tr.get('heldout_family', 'ticket')}`) is never trained on and is reported alone. "
        "Honesty note: the prose / signature / log / list / message families and the header "
        "augmentation, and later the labelled / records / pairs families, were added after "
        "count-only error analyses of the held-out family (names split into two types, "
        "addresses split at newlines, organisation suffixes; then header words tagged as names, "
        "names typed as places in a delimited record, names merged with organisations); they "
        "avoid the ticket wording (no shared word or stem beyond function words, a test checks) "
        "and the head was chosen on validation, but the ticket family is no longer a blind test. "
        "The `distractors` family came from an error analysis on a third family, **dev** (CRM "
        "notes, invoices, bookings; `pii_data.DEV_TEMPLATES`, never trained on, no word or stem "
        "shared with the ticket or blind templates), which found spurious PERSON / ORG on user "
        "handles, product names and lowercase words; that head was chosen on validation + dev "
        "and the ticket and blind families were scored once, afterwards. "
        "The **blind** family (meeting minutes and legal text: contracts, declarations, court "
        "notices; `pii_data.BLIND_TEMPLATES`) was written before that data fix and before any of "
        "its predictions were looked at; it is never trained on and never used to choose "
        "anything. "
        f"Rows: {tr.get('rows_per_source', {})}; blind: {pii.get('blind_rows')}.",
        "",
        "**Labelling decisions.** Training labels every WordPiece token (first token of an "
        "entity `B-`, every further token overlapping its character span `I-`, so subword "
        "continuations carry the label of their word); decoding is per word (the word's first "
        "token decides, BUNDLE.md *token heads*). "
        "A full address (street, postcode, city) is one LOCATION span; a city or country on its "
        "own is one too. A title (Dr., Mrs., Frau, Dott.) is part of the PERSON span (presidio's "
        "spans, which leave it out, are widened to match). Negatives are benign prompts (guard "
        "split kept) with no capitalised "
        "word after the first of a sentence and nothing date-like: every token `O`. Benign "
        "prompts that name public figures, places or brands are *not* used at all (neither "
        "positives nor negatives): the head is not taught to tell a private person from a public "
        "one and will tag both; whether a public name is a finding is the policy's decision.",
        "",
        f"### Validation split ({pii.get('val_rows')} rows: presidio validation templates, "
        "synthetic training families with other fills, PII-free negatives)",
        "",
        *_pii_table(pii.get("val", {})),
        "",
        f"PII-free negatives with any predicted entity: {neg.get('rows_with_entity')} / "
        f"{neg.get('n')}.",
        "",
        *_pii_dev(pii),
        f"### Held-out template family: support tickets ({pii.get('heldout_rows')} rows)",
        "",
        *_pii_table(pii.get("heldout", {})),
        "",
        "Targets (held-out family): PERSON F1 ≥ 0.90, LOCATION and ORGANIZATION F1 ≥ 0.85.",
        "",
        f"### Held-out, written blind before the data fix: meeting minutes and legal text "
        f"({pii.get('blind_rows')} rows)",
        "",
        *_pii_table(pii.get("blind", {})),
        "",
        "Per style, F1: "
        + "; ".join(
            f"{fam} " + ", ".join(f"{t} {_f(m['f1'])}" for t, m in res.items())
            for fam, res in pii.get("blind_per_family", {}).items()
        )
        + ".",
        "",
        *_before_data_fix(pii),
        "Word-level decoding (BUNDLE.md step 4) vs decoding every subword token on its own, same "
        "probabilities, F1: "
        + "; ".join(
            f"{s} "
            + ", ".join(
                f"{t} {_f(pii.get(s + '_token_level_decoding', {}).get(t, {}).get('f1'))} → "
                f"{_f(pii.get(s, {}).get(t, {}).get('f1'))}"
                for t in ("PERSON", "LOCATION", "ORGANIZATION")
            )
            for s in ("val", "heldout", "blind")
        )
        + ".",
        "",
        "### Which hidden states (fp32 heads on cached features, validation macro F1 over "
        "PERSON / LOCATION / ORGANIZATION; held-out family F1 for reference)",
        "",
        "| head input | val macro F1 | held-out PERSON | held-out LOCATION | held-out ORG |",
        "|---|---|---|---|---|",
        *[
            f"| {k} | {_f(c['val_macro_f1'])} | {_f(c['heldout']['PERSON']['f1'])} | "
            f"{_f(c['heldout']['LOCATION']['f1'])} | {_f(c['heldout']['ORGANIZATION']['f1'])} |"
            for k, c in cands.items()
        ],
        "",
        *_candidate_spread(cands),
        *_pii_experiments(pii.get("experiments")),
        "### Cost and identity",
        "",
        "Added latency, same session settings (1 onnxruntime thread, int8), same window, "
        "interleaved calls of the graph with and without the `pii_logits` output: "
        + ", ".join(
            f"{k.replace('_tokens', '')} tokens {v['without_pii_ms']} → {v['with_pii_ms']} ms "
            f"({v['added_pct']:+.1f} %)"
            for k, v in lat.items()
        )
        + f". Sequence-head logits, graph with vs without the pii output: max |Δ| {ident}.",
        "",
        "### Limits",
        "",
        "* Uncased tokenizer: capitalisation is not a cue, so common words that are also names "
        "(`will`, `may`, `rose`, `jordan`) depend on context only.",
        "* Trained on synthetic sentences; real chat logs, long documents and non-Western name "
        "orders are under-represented. The English tokenizer splits accented and non-Latin names "
        "into many pieces or [UNK].",
        "* Entity boundaries: adjacent address parts (street, city, country separated by commas) "
        "may come out as one span or several; exact-match F1 counts both as errors.",
        *_long_context_line(pii.get("long_context")),
        "",
    ]
    return L


def _candidate_spread(cands: dict) -> list[str]:
    """How far the candidates' held-out PERSON F1 spread, next to their validation spread."""
    if len(cands) < 2:
        return []
    val = [c["val_macro_f1"] for c in cands.values()]
    held = [c["heldout"]["PERSON"]["f1"] for c in cands.values()]
    return [
        f"The candidates' held-out PERSON F1 spans {_f(max(held) - min(held))} while their "
        f"validation macro F1 spans {_f(max(val) - min(val))}: the held-out family is a handful of "
        "templates, so one run's held-out F1 carries noise of that order, and choosing a head by "
        "it would overfit it.",
        "",
    ]


def _before_data_fix(pii: dict) -> list[str]:
    """F1 of the bundle before the issue-8 data fix (pii_before_data_fix.json) vs now."""
    before = pii.get("before_data_fix")
    if not before:
        return []
    L = [
        "### Before vs after the data fix (labelled / records / pairs families)",
        "",
        before.get("note", ""),
        "",
        "| rows | type | F1 before | F1 now |",
        "|---|---|---|---|",
    ]
    sets = (
        ("val", "validation"),
        ("val_without_fix_families", "validation without the 3 new families"),
        ("heldout", "ticket"),
        ("blind", "blind"),
    )
    for s, name in sets:
        for t in ("PERSON", "LOCATION", "ORGANIZATION", "DATE_TIME"):
            old, new = before.get(s, {}).get(t, {}), pii.get(s, {}).get(t, {})
            L.append(f"| {name} | {t} | {_f(old.get('f1'))} | {_f(new.get('f1'))} |")
    neg_old, neg_new = before.get("val_negatives", {}), pii.get("val_negatives", {})
    L.append(
        f"| negatives with any entity | – | {neg_old.get('rows_with_entity')} / "
        f"{neg_old.get('n')} | {neg_new.get('rows_with_entity')} / {neg_new.get('n')} |"
    )
    lc_old = (before.get("long_context") or {}).get("f1", {})
    lc_new = (pii.get("long_context") or {}).get("f1", {})
    for k, row in lc_old.items():
        for t, v in row.items():
            now = lc_new.get(k, {}).get(t)
            L.append(f"| long context: {k.replace('_', ' ')} | {t} | {_f(v)} | {_f(now)} |")
    return [*L, ""]


def _long_context_line(lc: dict | None) -> list[str]:
    if not lc:
        return []
    f1 = lc["f1"]
    cells = "; ".join(
        f"{k.replace('_', ' ')}: " + ", ".join(f"{t} {_f(v)}" for t, v in row.items())
        for k, row in f1.items()
    )
    return [
        "* **Long context is a weak spot.** The encoder is frozen and was fine-tuned on short "
        "windows; the `long_context` training rows narrowed the gap, but the same "
        f"{lc['rows']} validation rows after ~350 tokens of benign filler (text of its own, not "
        f"the training filler) in the same window still lose much of their F1 ({cells}). Names "
        "deep inside long documents are often missed or typed wrongly; the rules (e-mail, "
        "phone, card, IBAN, ...) do not have this problem."
    ]


def _pii_dev(pii: dict) -> list[str]:
    if not pii.get("dev"):
        return []
    return [
        f"### Development family: CRM notes, invoices, bookings ({pii.get('dev_rows')} rows; "
        "never trained on, used to analyse errors and choose)",
        "",
        *_pii_table(pii["dev"]),
        "",
    ]


def _pii_experiments(exp: dict | None) -> list[str]:
    if not exp:
        return []
    L = [exp.get("note", ""), "", "| round | head input | val macro F1 | held-out F1 |"]
    L.append("|---|---|---|---|")
    for rnd, cands in exp.get("rounds", {}).items():
        for k, c in cands.items():
            held = ", ".join(f"{t} {_f(v)}" for t, v in c.get("heldout_f1", {}).items()) or "–"
            L.append(f"| {rnd} | {k} | {_f(c.get('val_macro_f1'))} | {held} |")
    return [*L, ""]


def _pii_targets(res: dict) -> str:
    want = {"PERSON": 0.90, "LOCATION": 0.85, "ORGANIZATION": 0.85}
    out = []
    for t, w in want.items():
        f1 = res.get(t, {}).get("f1")
        ok = f1 is not None and f1 >= w
        out.append(f"{t} F1 {_f(f1)} (target ≥ {w:.2f}, {'met' if ok else 'NOT met'})")
    return "; ".join(out)
