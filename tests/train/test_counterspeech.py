"""The hate contrast rows (counterspeech.py): labelled pairs, our own templates, deterministic.

Generated texts include hateful sentences, so assertions compare counts and booleans and never
put a generated text into a failure message.
"""

from __future__ import annotations

import random
from collections import Counter

from classifiers.train import counterspeech as C
from classifiers.train import data as D
from classifiers.train import probes

from .test_probes import _templates

HATE_COL = D.HARM_LABELS.index("hate")


def _fake_train(n: int = 40) -> list[D.Example]:
    """Neutral stand-ins for the training split: n 'hateful' harm/text rows and n safe ones."""
    hate = [1] + [int(lab == "hate") for lab in D.HARM_LABELS[1:]]
    rows = []
    for i in range(n):
        for label, harm in (("h", hate), ("s", [0] * len(D.HARM_LABELS))):
            text = f"stand-in statement number {i} of kind {label} about nothing at all"
            rows.append(D.Example(text, "harm/text", "test", "test", "text", 0, list(harm)))
    return rows


def test_counterspeech_shares_no_template_or_slot_value_with_the_probes() -> None:
    """No string of probes.py (held out) appears in counterspeech.py."""
    assert _templates(probes) & _templates(C) == set()


def test_quoted_rows_condemn_as_safe_and_endorse_with_the_rows_targets() -> None:
    """Condemning frames make a quoted hateful row safe; endorsing ones keep its targets."""
    train = _fake_train()
    rows = C.quote_rows(train, 40)
    kinds = Counter(e.tags[1] for e in rows)
    assert kinds["counterspeech:quote_condemn"] == 30 and kinds["counterspeech:quote_endorse"] == 10
    sources = {e.text for e in train if e.harm[0] == 1}
    for e in rows:
        assert any(s in e.text for s in sources)
        if e.tags[1] == "counterspeech:quote_condemn":
            assert e.harm == C.SAFE
        else:
            assert e.harm[0] == 1 and e.harm[HATE_COL] == 1


def test_negation_and_profanity_rows_come_in_both_labels() -> None:
    """Each phenomenon has safe rows and hateful rows sharing its vocabulary."""
    for rows in (C.negation_rows(50), C.profanity_rows(60)):
        safe = [e for e in rows if e.harm == C.SAFE]
        hateful = [e for e in rows if e.harm[0] == 1 and e.harm[HATE_COL] == 1]
        assert len(safe) >= len(rows) // 2 and len(hateful) >= len(rows) // 4
        assert len(safe) + len(hateful) == len(rows)
    assert all(e.harm == C.SAFE for e in C.nonprotected_rows())


def test_no_bare_group_insult_sentence_is_generated() -> None:
    """No template is the bare benchmark-shaped '<group> are <insult>.' form."""
    templates = C.SAFE_REFERENCE + C.UNSAFE_REFERENCE
    assert "{g} are {n}." not in templates and "{g} are not {n}." not in templates


def test_obfuscate_changes_one_or_two_words_and_keeps_the_rest() -> None:
    """A spelling change touches two words at most (four when joining); short texts stay."""
    rng = random.Random(0)
    text = "these sentences contain several longer words for testing"
    changed = 0
    for _ in range(50):
        out = C.obfuscate(text, rng)
        changed += out != text
        letters_kept = sum(w in out.split(" ") for w in text.split(" "))
        assert letters_kept >= len(text.split(" ")) - 4
    assert changed >= 45
    assert C.obfuscate("a b c", rng) == "a b c"


def test_obfuscated_rows_keep_targets_for_hateful_and_safe_alike() -> None:
    """Obfuscated copies of hateful and of safe rows, as many of each, targets unchanged."""
    rows = C.obfuscated_rows(_fake_train(), 20)
    kinds = Counter(e.tags[1] for e in rows)
    assert kinds["counterspeech:obfuscated_hate"] == kinds["counterspeech:obfuscated_safe"] == 20
    assert all((e.harm[0] == 1) == (e.tags[1].endswith("hate")) for e in rows)


def test_rows_are_deterministic_and_unique() -> None:
    """Two calls give the same rows in the same order, each text once."""
    train = _fake_train()
    a, b = C.rows(train), C.rows(train)
    assert [e.text for e in a] == [e.text for e in b]
    assert len({e.text for e in a}) == len(a)
