"""`gibberish` guard: adversarial suffixes, random noise and homoglyph words.

Three signals, each a label with spans (score 1.0), all from character-class statistics:

- `adversarial_suffix`: a run of tokens like the suffixes that optimisation attacks (GCG)
  append to a prompt: words glued to stray punctuation (`oppositeley.](`, `giving**ONE`,
  `"\\!--Two`), words glued in camel case (`similarlyNow`), lone symbols (`+`, `](`),
  interleaved with plain words. A window of `window_tokens` tokens with at least
  `min_odd_tokens` such tokens and at least two plain words is flagged, unless its line
  looks like code (the `code` guard's line score) -- code is full of such tokens.
- `noise`: runs of random-looking text: letter strings that no language spells (few vowels,
  long consonant runs: `xkcdqwrtzp`, keyboard mashing), and windows whose character entropy
  reaches `min_entropy` bits (random printable characters, `j#9$kL!@x^&*(q`).
- `mixed_script`: a word that mixes Latin, Cyrillic and Greek letters (`pаypаl` with a
  Cyrillic `а`): one script per word is how people write; a mix is how look-alikes hide.

Never judged as noise: hex and base64 strings, UUIDs, API and request ids, hashes, JWTs
(tokens with digits, mixed case or `_`/`-` separators), URLs and e-mail addresses, numbers,
and letters of other scripts than Latin (their words are not judged by English vowels).
The guard reads the raw text (`text_form = "raw"`): the canonical form folds look-alike
letters into Latin, which would hide `mixed_script`.

The bundle tokenizer's unknown-token or subword ratio is not used: WordPiece splits rare
words, names and every non-English word into pieces too, so it would flag the multilingual
and identifier texts this guard must pass, and it would cost a tokenizer load per policy.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Final, Literal

from pydantic import ConfigDict, Field

from guardrail.guards._spans import Hit, longest_per_label, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.code import BlockFinder
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding

Signal = Literal["adversarial_suffix", "noise", "mixed_script"]
SIGNALS: tuple[Signal, ...] = ("adversarial_suffix", "noise", "mixed_script")
VOWELS = frozenset("aeiouyAEIOUY")
MAX_ODD_TOKEN = 40
_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[^\W\d_]+")
_PLAIN = re.compile(r"[A-Za-z][a-z]*[,.;:!?]?")  # a word as prose writes it
# words glued in camel case ("similarlyNow", "manualAND", "DJstructor")
_CAMEL = re.compile(r"[a-z]{3,}[A-Z][a-z]{2,}|[a-z]{3,}[A-Z]{2,}|[A-Z]{2,}[a-z]{4,}")
_ODD_SYMBOLS = frozenset('\\*[](){}<>|~^"+=@#$%&`')
_SYMBOLS_ONLY = re.compile(r"[^\w\s]{1,4}")
_WRAPPED = re.compile(r"([*_`~]{1,2})[^\s*_`~]+\1")  # markdown emphasis and inline code
# prose punctuation, emoticons and arithmetic: lone symbols that people write
_NORMAL_SYMBOLS = frozenset(
    {"-", "--", "&", "—", "–", "...", ":)", ":-)", ";)", ":(", "(", ")", "*", "/", "+", "="}
    | {"<", ">", "^", "%", "×", "÷", "±", "≈", "~", "->", "=>", "<=", ">=", "!=", "#", "@", "|"}
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_IDENTIFIER = re.compile(
    r"(?:[A-Za-z]+://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+"  # URLs, e-mail addresses
    r"|(?:0x)?[0-9a-fA-F]{8,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"  # hex
    r"|[A-Za-z0-9+/_.=-]*[0-9][A-Za-z0-9+/_.=-]*"  # anything with a digit: ids, keys, numbers
    r"|[A-Za-z]+(?:[_-][A-Za-z0-9]+)+"  # snake_case, kebab-case
)
_ROWS = (frozenset("qwertyuiop"), frozenset("asdfghjkl"), frozenset("zxcvbnm"))
# English words of 8+ letters typed on one row of a QWERTY keyboard.
_ONE_ROW_WORDS = frozenset(
    {"typewriter", "typewriters", "proprietor", "proprietors", "perpetuity", "repertoire"}
    | {"prettier", "pewterer", "rupturer", "reporter", "reporters", "territory", "pottery"}
    | {"properer", "puppeteer", "tripwire", "teetotter", "erupt", "etiquette", "peppier"}
)
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def entropy(text: str) -> float:
    """Shannon entropy of the characters of `text`, in bits per character."""
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def unpronounceable(word: str) -> bool:
    """An ASCII letter string that no language spells: few vowels, a consonant run longer
    than German's ("Rechtsschutz": 7), or typed along one keyboard row."""
    if len(word) < 8 or not word.isascii() or not word.isalpha():
        return False
    if not (word.islower() or word[1:].islower() or word.isupper()):
        return False  # mixed case: an id or a name in camel case, not mashing
    lowered = word.lower()
    vowels = sum(char in VOWELS for char in lowered)
    run = max(len(r) for r in re.split(r"[aeiouy]", lowered))
    one_row = any(set(lowered) <= row for row in _ROWS) and lowered not in _ONE_ROW_WORDS
    return vowels / len(word) < 0.2 or run >= 8 or one_row


def scripts_of(word: str) -> set[str]:
    """Which of Latin, Cyrillic and Greek the letters of `word` belong to."""
    found: set[str] = set()
    for char in word:
        if char.isascii():
            found.add("LATIN")
            continue
        name = unicodedata.name(char, "")
        found.update(script for script in _SCRIPTS if name.startswith(script))
    return found


def is_odd(token: str) -> bool:
    """A token as attack suffixes have them: stray symbols glued to a word, camel-case
    glued words, or a lone symbol cluster (prose's own wrapping -- quotes, parentheses,
    sentence punctuation, markdown emphasis -- does not count)."""
    if len(token) > MAX_ODD_TOKEN:
        return False  # suffix tokens are short; this also bounds the regex work per token
    word = token.rstrip(",.;:!?")
    if word.isalpha() and (word.islower() or word[1:].islower()):
        return False  # the usual prose word, decided without a regex
    if _SYMBOLS_ONLY.fullmatch(token):
        return token not in _NORMAL_SYMBOLS
    core = token.lstrip("(\"'[").rstrip(")\"'.,;:!?]")
    if _IDENTIFIER.fullmatch(core) or _WRAPPED.fullmatch(core):
        return False
    letters = sum(char.isalpha() for char in core)
    glued = letters >= 2 and any(char in _ODD_SYMBOLS for char in core)
    return glued or _CAMEL.search(core) is not None


class GibberishConfig(GuardConfig):
    """Window sizes and thresholds of the signals (see the module docstring)."""

    model_config = ConfigDict(strict=True)

    kind: Literal["gibberish"] = "gibberish"
    signals: list[Signal] = Field(default_factory=lambda: list(SIGNALS), min_length=1)
    window_tokens: int = Field(default=10, ge=4, le=64)
    min_odd_tokens: int = Field(default=4, ge=2, le=64)
    entropy_window: int = Field(default=64, ge=16, le=512)
    min_entropy: float = Field(default=5.0, gt=0, le=9)
    min_noise_tokens: int = Field(default=2, ge=1, le=16)


class GibberishGuard(NoThresholds):
    """Reports the chosen signals as spans."""

    text_form: Final = "raw"  # look-alike letters are the evidence; canonical text folds them

    def __init__(self, name: str, config: GibberishConfig) -> None:
        self.name = name
        self._config = config
        self._signals = frozenset(config.signals)
        self._blocks = BlockFinder(min_lines=2)

    @property
    def reported_labels(self) -> frozenset[str]:
        """The chosen signals."""
        return self._signals

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (text, signal) with a span per flagged run."""
        return await scan_hits(self.name, texts, self._hits)

    def _hits(self, text: str) -> list[Hit]:
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        code = self._code_ranges(text)
        hits: list[Hit] = []
        if "adversarial_suffix" in self._signals:
            hits += self._suffixes(tokens, code)
        if "noise" in self._signals:
            hits += self._noise(text, tokens, code)
        merged = merged_runs(hits)  # overlapping windows make one span
        if "mixed_script" in self._signals:
            merged += _mixed_words(text)
        return longest_per_label(merged)

    def _code_ranges(self, text: str) -> list[tuple[int, int]]:
        """Code blocks (the `code` guard's: fenced, or two code lines and more) and inline
        `code` spans, where no
        suffix is judged. A single line is not enough: a suffix makes its line look like
        code, and prompts with a suffix are usually one line."""
        inline = [(m.start(), m.end()) for m in _INLINE_CODE.finditer(text)]
        return [*((block.start, block.end) for block in self._blocks.blocks(text)), *inline]

    def _suffixes(
        self, tokens: Sequence[tuple[int, int, str]], code: Sequence[tuple[int, int]]
    ) -> Iterator[Hit]:
        size, need = self._config.window_tokens, self._config.min_odd_tokens
        in_code = covered([start for start, _, _ in tokens], code)
        odd = [not skip and is_odd(t) for (_, _, t), skip in zip(tokens, in_code, strict=True)]
        plain = [_PLAIN.fullmatch(t) is not None for _, _, t in tokens]
        odd_sums, plain_sums = _prefix_sums(odd), _prefix_sums(plain)
        for first in range(max(1, len(tokens) - size + 1)):
            last = min(first + size, len(tokens))
            if odd_sums[last] - odd_sums[first] < need or plain_sums[last] - plain_sums[first] < 2:
                continue
            flagged = [i for i in range(first, last) if odd[i]]
            yield Hit(tokens[flagged[0]][0], tokens[flagged[-1]][1], "adversarial_suffix")

    def _noise(
        self, text: str, tokens: Sequence[tuple[int, int, str]], code: Sequence[tuple[int, int]]
    ) -> Iterator[Hit]:
        yield from self._mashed_runs(tokens)
        yield from self._entropy_windows(text, tokens)

    def _mashed_runs(self, tokens: Sequence[tuple[int, int, str]]) -> Iterator[Hit]:
        """Consecutive unpronounceable tokens (or one very long one)."""
        run: list[tuple[int, int]] = []
        for start, end, token in [*tokens, (0, 0, "")]:
            word = token.strip(".,;:!?\"'()[]")
            if word and unpronounceable(word):
                run.append((start, end))
                continue
            long_one = len(run) == 1 and run[0][1] - run[0][0] >= 12
            if len(run) >= self._config.min_noise_tokens or long_one:
                yield Hit(run[0][0], run[-1][1], "noise")
            run = []

    def _entropy_windows(self, text: str, tokens: Sequence[tuple[int, int, str]]) -> Iterator[Hit]:
        """Windows of judged characters (white space, identifiers and other scripts left out)
        whose entropy reaches `min_entropy`. Code lines are judged too: random printable
        characters score as code lines, while real code stays near 4.6 bits on 64 characters
        (English prose near 4.3, random printable characters 5.2-5.6)."""
        judged = [
            (start, end)
            for start, end, token in tokens
            if token.isascii() and not _IDENTIFIER.fullmatch(token.strip("\"'()[]<>,.;:"))
        ]
        joined = "".join(text[start:end] for start, end in judged)
        origin = [i for start, end in judged for i in range(start, end)]  # joined -> text
        size, least = self._config.entropy_window, self._config.min_entropy
        step = max(1, size // 4)
        for first in range(0, max(0, len(joined) - size + 1), step):
            window = joined[first : first + size]
            # entropy <= log2(distinct characters): most windows are ruled out by a set
            if len(set(window)) >= 2**least and entropy(window) >= least:
                yield Hit(origin[first], origin[first + size - 1] + 1, "noise")


def merged_runs(hits: Sequence[Hit]) -> list[Hit]:
    """Overlapping or touching hits of one label joined into one."""
    out: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.label, h.start)):
        if out and out[-1].label == hit.label and hit.start <= out[-1].end:
            out[-1] = out[-1]._replace(end=max(out[-1].end, hit.end))
        else:
            out.append(hit)
    return out


def covered(offsets: Sequence[int], ranges: Sequence[tuple[int, int]]) -> list[bool]:
    """For each offset (ascending), whether a range holds it (one sweep, not a scan each)."""
    merged = merged_runs([Hit(start, end, "") for start, end in ranges])
    out: list[bool] = []
    at = 0
    for offset in offsets:
        while at < len(merged) and merged[at].end <= offset:
            at += 1
        out.append(at < len(merged) and merged[at].start <= offset)
    return out


def _prefix_sums(flags: Sequence[bool]) -> list[int]:
    sums = [0]
    for flag in flags:
        sums.append(sums[-1] + flag)
    return sums


def _mixed_words(text: str) -> Iterator[Hit]:
    if text.isascii():
        return
    for match in _WORD.finditer(text):
        word = match.group()
        if not word.isascii() and len(scripts_of(word)) >= 2:
            yield Hit(match.start(), match.end(), "mixed_script")


def build(config: GibberishConfig, context: BuildContext) -> GibberishGuard:
    """Nothing to load."""
    return GibberishGuard(context.name, config)


KIND = GuardKind(config=GibberishConfig, build=build)
