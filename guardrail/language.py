"""Offline language identification by script and stop words: `detect` and `is_english`.

No language-identification library with its model inside the wheel is in the venv (checked:
langdetect, lingua, fasttext, langid, cld3 are absent), and guardrail never downloads at run
time, so this is a two-step heuristic, shared by the `language` guard kind and the
judge/cascade `when: not_english` condition:

1. script: the letters are counted per script. Where under half of them are Latin, the text
   is labelled by its main script: `el` (Greek), `th` (Thai), `ko` (Hangul), `ja` (Han with
   kana), `zh` (Han without kana), and -- for scripts that several languages share -- the
   script itself: `cyrillic` (Russian, Ukrainian, Bulgarian, ...), `arabic` (Arabic,
   Persian, Urdu, ...), `devanagari` (Hindi, Marathi, Nepali, ...). Any other script is
   `other`.
2. stop words: a Latin-script text of at least `MIN_WORDS` words is the language among `en`,
   `fr`, `es`, `de`, `it`, `pt` and `nl` whose common function words make up the largest
   share of its words, if that share is at least `STOP_SHARE`; else `und` (undetermined: a
   Latin language we do not list, or code and keyword lists). Shorter Latin texts are `und`
   too: there is too little to tell.

`is_english` is the cascade's older view of the same evidence and keeps its measured
behaviour (docs/cascades.md): a Latin text is English when at least `STOP_SHARE` of its words
are English function words (so Latin text of a language we do not list is not English), and
short or letterless texts count as English, so that every short greeting is not escalated.
The English list leaves out words French, Spanish, German, Italian or Portuguese share with
English ("a", "me", "do", "no"). Measured for `is_english` (docs/cascades.md): 97 %+ of 300
rows of the shared benign multilingual prompts read as not English, and 3.8 % of 1,000
English benign prompts do too (mostly code and keyword lists). `detect` is measured in
policies/README.md (`language`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

MIN_WORDS = 4
STOP_SHARE = 0.2
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_STOP_TEXT = """
    the and is are was were be been to of you your it its that this these those what which
    who how why when where for with from by at about into than then there their they them we
    our us she his her him my i'm it's don't can't does did have has had will would should
    could can not or but if just all any some more most very also only please tell write give
    make help know want need like get there's here one other"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())
# Common function words per Latin-script language (words two languages share count for both;
# the ones only one of them uses decide).
_STOP_TEXTS: Mapping[str, str] = {
    "fr": """
        le la les des du un une est et en que qui dans pour pas sur au aux avec ce cette ces
        sont nous vous je il elle ils elles mais où très plus être avoir fait comme ne n'est
        c'est j'ai qu'il mon ma mes votre vos leur bien aussi tout tous peut suis ai merci
        bonjour quel quelle de à été
    """,
    "es": """
        el los las del una es por para con se su sus al lo como más pero muy está están yo
        tú usted ella ellos hay ser también porque cuando donde qué cómo esto eso este esta
        mi nosotros fue puedo puede tengo tiene hola gracias y de en que la un puedes quiero
        necesito
    """,
    "de": """
        der die das und ist nicht ich du sie er es ein eine einen einem dem den mit von zu
        auf für sich auch wie wir ihr sind bitte kann können haben hat wird werden oder aber
        noch nur schon dass was wer wo mein meine dein deine im zum zur bei nach über in
    """,
    "it": """
        il lo gli della delle degli dei è e di che non sono per una un con come più ma anche
        questo questa io tu lui lei noi voi molto mi ti ci perché quando dove cosa nel nella
        del al alla sul ho hai ha posso puoi grazie la in
    """,
    "pt": """
        o os as um uma é não que de do da dos das em no na nos nas para com por se mais como
        mas muito você eu ele ela nós são está estão também isso isto esse essa meu minha
        obrigado obrigada ao à pelo pela tem posso pode
    """,
    "nl": """
        de het een en is van ik je niet dat die op te zijn met voor er maar om ook als dan
        wat hoe waar wij zij hij ze we bij naar heb hebben kan kunnen dit deze geen mijn
        jouw uw wordt worden alstublieft bedankt in
    """,
}
_LATIN_STOP: Mapping[str, frozenset[str]] = {
    "en": _STOP_WORDS,
    **{lang: frozenset(text.split()) for lang, text in _STOP_TEXTS.items()},
}
LATIN_LANGUAGES = tuple(_LATIN_STOP)
# Script (the first word of a letter's Unicode name) -> label, for text that is not Latin.
_SCRIPTS: Mapping[str, str] = {
    "GREEK": "el",
    "THAI": "th",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "CJK": "zh",
    "CYRILLIC": "cyrillic",
    "ARABIC": "arabic",
    "DEVANAGARI": "devanagari",
}
Language = Literal[
    "en", "fr", "es", "de", "it", "pt", "nl",
    "el", "th", "ko", "ja", "zh", "cyrillic", "arabic", "devanagari", "other",
]  # fmt: skip
LANGUAGES: tuple[str, ...] = (*LATIN_LANGUAGES, *dict.fromkeys(_SCRIPTS.values()), "other")
UNDETERMINED = "und"


@lru_cache(maxsize=4096)  # bounded: a text may hold any number of distinct characters
def _script(char: str) -> str:
    """`LATIN`, `CYRILLIC`, `CJK`, ... (the first word of the character's Unicode name)."""
    if char.isascii():
        return "LATIN"
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def _scripts(text: str) -> Counter[str]:
    if text.isascii():  # the usual case, without a Unicode name per letter
        return Counter({"LATIN": len(_ASCII_LETTER.findall(text))})
    return Counter(_script(c) for c in text if c.isalpha())


def _words(text: str) -> Counter[str]:
    return Counter(w.casefold() for w in _WORD.findall(text))


def _share(words: Counter[str], stop: frozenset[str]) -> float:
    """The share of `words` (counted) that are in `stop`."""
    total = words.total()
    small, large = (words, stop) if len(words) < len(stop) else (stop, words)
    return sum(words[w] for w in small if w in large) / total


def _by_script(scripts: Counter[str]) -> str:
    """The label of a text whose letters are mostly not Latin."""
    kana = scripts["HIRAGANA"] + scripts["KATAKANA"]
    if kana and (kana + scripts["CJK"]) * 2 >= scripts.total():
        return "ja"  # Japanese writes Han with kana; Chinese has no kana
    main = max((s for s in scripts if s != "LATIN"), key=lambda s: scripts[s])
    return _SCRIPTS.get(main, "other")


def detect(text: str) -> str:
    """The language (or script) of `text`, one of `LANGUAGES`, or `und` when it cannot tell."""
    scripts = _scripts(text)
    letters = sum(scripts.values())
    if not letters:
        return UNDETERMINED
    if scripts["LATIN"] * 2 < letters:
        return _by_script(scripts)
    words = _words(text)
    if words.total() < MIN_WORDS:
        return UNDETERMINED
    shares = {lang: _share(words, stop) for lang, stop in _LATIN_STOP.items()}
    best = max(shares, key=lambda lang: shares[lang])
    return best if shares[best] >= STOP_SHARE else UNDETERMINED


def is_latin_script(text: str) -> bool:
    """Whether at least half of `text`'s letters are Latin (texts without letters: yes).

    The English bundles' WordPiece vocabulary reads Latin script (accents stripped); Han, kana,
    Hangul, Cyrillic, Arabic, Devanagari, Thai, Greek ... it mostly cannot, so this is the
    test `route_when: not_latin` uses to send such text to a bundle that can."""
    if text.isascii():  # the usual case: every letter is Latin, no Unicode name per letter
        return True
    scripts = _scripts(text)
    return scripts["LATIN"] * 2 >= sum(scripts.values())


MIN_RUN_WORDS = 6  # words a Latin run of a non-Latin text needs to be read by `latin_part`
MIN_OTHER_LETTERS = 8  # letters of other scripts a Latin text needs for `other_script_part`


def latin_part(text: str) -> str:
    """The Latin-script runs of a mixed text (`script_runs`) of `MIN_RUN_WORDS` words or more,
    joined: what the English bundles should read of it on their own. Shorter runs are left
    out: the English injection head scores a lone "JavaScript" in a Ukrainian question above
    its threshold, and short English runs inside Korean prompts of the benign multilingual
    training set (4 of them at 4 words) at 0.9; at 6 words none is blocked."""
    runs = script_runs(text, latin=True)
    return " ".join(run for run in runs if len(_WORD.findall(run)) >= MIN_RUN_WORDS)


def other_script_part(text: str) -> str:
    """The runs of a mostly Latin text in other scripts (`script_runs`), joined: what a
    multilingual bundle should read on its own, so that English padding does not dilute it.
    "" when they have under `MIN_OTHER_LETTERS` letters (a city's name in Chinese, a Greek
    letter in a formula)."""
    if text.isascii():
        return ""
    part = " ".join(script_runs(text, latin=False))
    return part if sum(c.isalpha() for c in part) >= MIN_OTHER_LETTERS else ""


@lru_cache(maxsize=8)  # a stage's injection and harm guards split the same texts
def script_split(text: str) -> tuple[bool, str]:
    """(`is_latin_script(text)`, the part the other side's bundle reads as well: `latin_part`
    of a mostly non-Latin text, `other_script_part` of a Latin one)."""
    latin = is_latin_script(text)
    return latin, other_script_part(text) if latin else latin_part(text)


def script_runs(text: str, latin: bool) -> list[str]:
    """The stretches of `text` between letters of the other side (Latin, or every other script)
    that hold a letter of this side, stripped: the other side's words and the spaces
    and punctuation around them are left out (a Chinese request scored 0.99 alone, 0.87 with
    the commas and full stops of its English padding left in)."""
    runs: list[str] = []
    current: list[str] = []
    has_letter = False
    for char in text:
        if char.isalpha() and (_script(char) == "LATIN") != latin:
            if has_letter:
                runs.append("".join(current).strip())
            current, has_letter = [], False
            continue
        current.append(char)
        has_letter = has_letter or char.isalpha()
    if has_letter:
        runs.append("".join(current).strip())
    return runs


def is_english(text: str) -> bool:
    """Whether `text` reads as English by script and stop words (short texts: yes)."""
    scripts = _scripts(text)
    letters = sum(scripts.values())
    if not letters:
        return True
    if scripts["LATIN"] * 2 < letters:
        return False
    words = _words(text)
    if words.total() < MIN_WORDS:
        return True
    return _share(words, _STOP_WORDS) >= STOP_SHARE
