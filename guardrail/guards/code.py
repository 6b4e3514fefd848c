"""`code` guard: source code in a text (a prompt that carries it, an answer that writes it).

Blocks are found without knowing the language:

- fenced blocks (```` ``` ```` or `~~~`, to the closing fence or the end of the text);
- runs of lines that look like code: each line gets a score from what code lines have and
  prose lines lack (a shebang; an end in `;`, `{` or `}`; a start such as `def f(`,
  `import x`, `#include`, `const x =`, `SELECT`, `$ `; a block header ending in `:`;
  operators such as `==`, `=>`, `::`, `+=`; a call `f(x)`; an assignment; an HTML tag;
  symbol density; indentation under a code line), less a penalty for sentences (mostly
  words, ending in `.`, `?` or `!`). A run of at least `min_lines` lines scoring >= 0.5
  (blank and weaker lines between them join the run) is a block; its score is the mean
  score of its lines. Lines over 400 characters are prose paragraphs, never code lines.

Without `languages`, every block is a `code` finding (one per block, scored, so the rule's
`threshold`, 0.5 by default, picks which count). With `languages: [sql, shell, ...]`,
findings are labelled by language and only those languages are reported: a block whose
fence names the language or whose lines match that language's statements most, and also
single statements inside prose (`DROP TABLE users`, `rm -rf /`, `curl … | sh`,
`os.system(...)`), which a "no SQL in prompts" policy wants whatever surrounds them.

Statements are found with RE2 (linear in the text); line signals use the stdlib `re` on
lines of at most `MAX_LINE` characters, which bounds any backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from guardrail.guards._spans import compile_re2, off_loop
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding, Span

Language = Literal["python", "javascript", "sql", "shell", "c", "java", "go", "rust", "html", "php"]
LANGUAGES: tuple[Language, ...] = (
    *("python", "javascript", "sql", "shell", "c", "java", "go", "rust", "html", "php"),
)
LABEL = "code"
CODE_LINE = 0.5  # a line at or above this score is a code line
WEAK_LINE = 0.25  # a line at or above this joins a run between code lines
MAX_LINE = 400  # longer lines are paragraphs
FENCE_SCORE = 0.9

# Statements that name their language, on one line (RE2; multi-line mode for ^ and $).
STATEMENTS: Mapping[Language, str] = {
    "sql": (
        r"\b(?:SELECT\s+(?:DISTINCT\s+)?[\w*.,()\s]+?\s+FROM\s+[\w.`\"\[\]]+[^;\n]*"
        r"|(?i:select)\s+(?:\*|[\w.,\s]+?)\s+(?i:from)\s+\w+\s+(?i:where|join|order|group|limit)\b[^;\n]*"
        r"|(?i:select)\s+\*\s+(?i:from)\s+\w+[^;\n]*"
        r"|(?i:insert\s+into)\s+[\w.`\"]+[^;\n]*|UPDATE\s+\w+\s+SET\s[^;\n]*"
        r"|DELETE\s+FROM\s+\w[^;\n]*|(?i:delete\s+from)\s+\w+\s+(?i:where)\b[^;\n]*"
        r"|(?i:drop|truncate)\s+(?i:table|database|schema|view|index)\s+(?i:if\s+exists\s+)?[\w.`\"]+[^;\n]*"
        r"|(?i:create|alter)\s+(?i:table|database|schema|view|index)\s+[\w.`\"]+[^;\n]*"
        r"|(?i:union\s+(?:all\s+)?select)\b[^;\n]*)"
    ),
    "shell": (
        r"(?:\bsudo\s+[a-z][\w.-]*(?:[ \t]+[^\s;|&]+)*|\brm\s+-[a-zA-Z]*[rf][a-zA-Z]*\s+\S+"
        r"|\b(?:curl|wget)\s+[^\n|]*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"
        r"|\bchmod\s+(?:-R\s+)?(?:[0-7]{3,4}|\+x)\s+\S+|:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:"
        r"|\bdd\s+if=\S+[^\n;]*|\bmkfs\.\w+\s+\S+|(?m:^\s*\$\s+[a-z][\w.-]*[^\n]*)"
        r"|(?m:^#!\s*/(?:usr/)?bin/(?:env\s+)?(?:ba|z|da|k)?sh\b.*$)|(?m:;\s*(?:do|then)[ \t]*$))"
    ),
    "python": (
        r"(?:(?m:^[ \t]*(?:from\s+[\w.]+\s+import\s+[\w*, ]+"
        r"|import\s+[\w.]+(?:\s+as\s+\w+)?)[ \t]*$)|(?m:^#!.*\bpython[\d.]*\b.*$)"
        r"|\bdef\s+\w+\s*\([^)\n]*\)\s*(?:->\s*[^:\n]+)?:"
        r"|\b(?:os\.system|os\.popen|subprocess\.\w+|__import__)\s*\([^\n]*\)"
        r"|(?m:^[ \t]*class\s+\w+\s*(?:\([^)\n]*\))?\s*:[ \t]*$)|\bif\s+__name__\s*==)"
    ),
    "javascript": (
        r"(?:\bfunction\s*\w*\s*\([^)\n]*\)\s*\{|\b(?:const|let|var)\s+\w+\s*=\s*[^;\n=][^;\n]*;?"
        r"|\([^)\n]*\)\s*=>|\bconsole\.log\s*\([^\n]*\)|<script\b[^>\n]*>"
        r"|\bdocument\.(?:cookie|write|location)\b[^;\n]*|\brequire\s*\(\s*['\"][^'\"\n]+['\"]\s*\))"
    ),
    "c": (
        r"(?:#\s*include\s*[<\"][\w./]+[>\"]|\bint\s+main\s*\([^)\n]*\)|\bprintf\s*\([^\n]*\)\s*;"
        r"|\b(?:malloc|free|strcpy|memcpy)\s*\([^\n]*\)\s*;|\bstd::\w+)"
    ),
    "java": (
        r"(?:\bpublic\s+(?:static\s+)?(?:final\s+)?(?:class|interface|void|int|String|boolean)\s+\w+"
        r"|\bSystem\.out\.print(?:ln)?\s*\([^\n]*\)\s*;?|@Override\b)"
    ),
    "go": (
        r"(?:\bfunc\s+(?:\([^)\n]*\)\s*)?\w+\s*\([^)\n]*\)[^\n{]*\{|(?m:^package\s+\w+[ \t]*$)"
        r"|\bfmt\.\w+\s*\([^\n]*\)|\b\w+\s*:=\s*[^\n]+)"
    ),
    "rust": (
        r"(?:\bfn\s+\w+\s*(?:<[^>\n]*>)?\s*\([^)\n]*\)[^\n{;]*\{|\blet\s+mut\s+\w+"
        r"|\bprintln!\s*\([^\n]*\)|\buse\s+\w+(?:::\w+)+;|\bimpl(?:<[^>\n]*>)?\s+\w+)"
    ),
    "html": (
        r"(?:<(?:html|head|body|div|span|script|style|iframe|form|input|table|img|a|p|ul|li|h[1-6])"
        r"\b[^<>\n]*>|</(?:html|head|body|div|span|script|style|form|table|ul|li|p|a|h[1-6])>)"
    ),
    "php": r"(?:<\?php\b|\$\w+\s*=\s*[^;\n]+;|\becho\s+\$\w+)",
}

FENCE_NAMES: Mapping[str, Language] = {
    **dict.fromkeys(("python", "py", "python3", "py3"), "python"),
    **dict.fromkeys(("javascript", "js", "typescript", "ts", "jsx", "tsx", "node"), "javascript"),
    **dict.fromkeys(("sql", "mysql", "postgresql", "postgres", "sqlite", "plsql"), "sql"),
    **dict.fromkeys(("sh", "bash", "shell", "zsh", "console", "shell-session"), "shell"),
    **dict.fromkeys(("c", "cpp", "c++", "h", "hpp", "cc"), "c"),
    **dict.fromkeys(("java", "kotlin", "csharp", "cs", "c#", "scala"), "java"),
    **dict.fromkeys(("go", "golang"), "go"),
    **dict.fromkeys(("rust", "rs"), "rust"),
    **dict.fromkeys(("html", "xml", "svg", "htm"), "html"),
    "php": "php",
}

# Line-level signals, language-agnostic.
_SIGNALS: tuple[tuple[str, float], ...] = (
    (r"(?:[;{]|^\}.*|\}[;,)]?)$", 0.35),  # statement and block ends
    (
        r"^(?:def\s+\w+\s*\(|class\s+\w+\s*[(:{]|import\s+[\w.]+(?:\s+as\s+\w+)?;?$"
        r"|from\s+[\w.]+\s+import\s|#\s*include\b|package\s+[\w.]+;?$|using\s+[\w.]+;"
        r"|func\s+|fn\s+\w+|(?:async\s+)?function\b|(?:const|let|var)\s+\w+\s*=|<\?php"
        r"|(?:public|private|protected)\s+(?:static\s+)?[\w<>\[\]]+\s+\w+\s*[({=;]"
        r"|(?:SELECT|FROM|WHERE|JOIN|GROUP BY|ORDER BY|INSERT|VALUES|UPDATE|SET|DELETE|CREATE"
        r"|DROP|ALTER|COMMIT|ROLLBACK|BEGIN)\b|\$\s+\S|sudo\s|export\s+\w+=|#!/)",
        0.6,
    ),
    (
        r"^(?:return\b|if\s*\(|for\s*\(|while\s*\(|else\b|elif\b|try\b|catch\b|switch\s*\("
        r"|case\s.*:$|break;?$|continue;?$|print\(|console\.|echo\s)",
        0.3,
    ),
    (r"^(?:if|for|while|def|class|elif|else|try|except|finally|with)\b.*:$", 0.5),
    (r"==|!=|=>|->|::|&&|\|\||\+=|-=|\*=|:=|<=|>=|\+\+|<<", 0.25),
    (r"\w\([^()]*\)", 0.2),
    (r"^[\w.\[\]'\"]+\s*=\s*[^=\s]", 0.3),
    (r"</?[a-zA-Z][\w-]*(?:\s+[\w-]+=\"[^\"]*\")*\s*/?>", 0.4),
    (r"^(?://|/\*|\*/|--\s|#\s)", 0.15),
    (r";\s*(?:do|then)$|^(?:done|fi|esac)$", 0.5),  # shell loops and conditionals
    (r"\$\{?[A-Za-z_]\w*\}?", 0.25),  # shell, PHP and Perl variables (not "$20")
)
_SYMBOLS = frozenset("{}[]()<>=;$&|*/\\_#@+")
_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on
_SENTENCE_END = (".", "?", "!", '."', ".'", ".)", '?"', '!"')


@dataclass(frozen=True)
class Line:
    """One line of a text: `[start, end)` without its line break, and its stripped form."""

    start: int
    end: int
    body: str
    stripped: str

    @property
    def indent(self) -> int:
        """Characters of white space before the line's text."""
        return len(self.body) - len(self.body.lstrip())


def lines_of(text: str) -> list[Line]:
    """Every line of `text` with its offsets."""
    out, start = [], 0
    for piece in text.splitlines(keepends=True):
        body = piece.rstrip(_LINE_BREAKS)
        out.append(Line(start, start + len(body), body, body.strip()))
        start += len(piece)
    return out


class LineScorer:
    """Scores single lines by how much they look like code (see the module docstring)."""

    def __init__(self) -> None:
        # stdlib `re`: lines are at most MAX_LINE characters, which bounds any backtracking,
        # and per call it costs a tenth of the RE2 binding on such short strings
        self._signals = [(re.compile(p), w) for p, w in _SIGNALS]

    def score(self, line: str, after_code: bool, indented: bool) -> float:
        """The line's score in [0, 1]; `after_code`: the line before was a code line."""
        if not line or len(line) > MAX_LINE:
            return 0.0
        if line.startswith("#!/"):
            return 1.0
        score = sum(weight for pattern, weight in self._signals if pattern.search(line))
        # the last character is the end signal's business: "bread;" is no code line
        body = line[:-1] if len(line) > 1 and line[-1] in ";{}" else line
        density = sum(char in _SYMBOLS for char in body) / len(body)
        score += min(0.4, density * 2)
        score += 0.2 if after_code and indented else 0.0
        return max(0.0, min(1.0, score - _prose_penalty(line, density)))


def _prose_penalty(line: str, density: float) -> float:
    """Sentences: mostly plain words, ending like a sentence."""
    tokens = line.split()
    if len(tokens) < 4:
        return 0.0
    words = sum(token.strip(",.;:!?\"'()").isalpha() for token in tokens) / len(tokens)
    penalty = 0.3 if words >= 0.85 else 0.0
    if line.endswith(_SENTENCE_END) and not line.endswith("...") and density < 0.06:
        penalty += 0.5
    return penalty


@dataclass(frozen=True)
class Block:
    """A code region: `[start, end)`, its score and the language its fence names (if any)."""

    start: int
    end: int
    score: float
    fence_language: Language | None = None


def fenced_blocks(lines: Sequence[Line]) -> tuple[list[Block], set[int]]:
    """Fenced blocks, and the indexes of the lines they cover."""
    blocks: list[Block] = []
    covered: set[int] = set()
    opened: tuple[int, str, str] | None = None  # (line index, fence, info string)
    for index, line in enumerate(lines):
        marker = line.stripped[:3]
        if marker not in ("```", "~~~"):
            continue
        if opened is None:
            opened = (index, marker, line.stripped[3:].strip().lower())
        elif marker == opened[1] and not line.stripped[3:].strip():
            blocks.append(_fenced(lines, opened[0], index, opened[2]))
            covered.update(range(opened[0], index + 1))
            opened = None
    if opened is not None:  # an unclosed fence runs to the end
        blocks.append(_fenced(lines, opened[0], len(lines) - 1, opened[2]))
        covered.update(range(opened[0], len(lines)))
    return blocks, covered


def _fenced(lines: Sequence[Line], first: int, last: int, info: str) -> Block:
    name = info.split()[0] if info.split() else ""
    return Block(lines[first].start, lines[last].end, FENCE_SCORE, FENCE_NAMES.get(name))


class BlockFinder:
    """Groups scored lines into code blocks."""

    def __init__(self, min_lines: int) -> None:
        self._scorer = LineScorer()
        self._min_lines = min_lines

    def blocks(self, text: str) -> list[Block]:
        """Fenced blocks and runs of code lines outside them, in text order."""
        lines = lines_of(text)
        fenced, covered = fenced_blocks(lines)
        scores = self._scores(lines, covered)
        return sorted([*fenced, *self._runs(lines, scores)], key=lambda b: b.start)

    def _scores(self, lines: Sequence[Line], covered: set[int]) -> list[float]:
        scores: list[float] = []
        for index, line in enumerate(lines):
            if index in covered:
                scores.append(-1.0)  # inside a fence: never part of a run
                continue
            after = bool(scores) and scores[-1] >= CODE_LINE
            scores.append(self._scorer.score(line.stripped, after, line.indent > 0))
        return scores

    def _runs(self, lines: Sequence[Line], scores: Sequence[float]) -> Iterator[Block]:
        run: list[int] = []  # indexes of the code and weak lines of the current run
        for index, (line, score) in enumerate(zip(lines, scores, strict=True)):
            if score >= WEAK_LINE or (run and not line.stripped and score >= 0):
                run.append(index)
                continue
            yield from self._closed(lines, scores, run)
            run = []
        yield from self._closed(lines, scores, run)

    def _closed(
        self, lines: Sequence[Line], scores: Sequence[float], run: list[int]
    ) -> Iterator[Block]:
        """The run trimmed to its first and last code line, if it has enough code lines."""
        code = [i for i in run if scores[i] >= CODE_LINE]
        if len(code) < self._min_lines:
            return
        inside = [i for i in range(code[0], code[-1] + 1) if lines[i].stripped]
        score = sum(max(scores[i], 0.0) for i in inside) / len(inside)
        first = lines[code[0]]
        yield Block(first.start + first.indent, lines[code[-1]].end, min(1.0, score))


class CodeConfig(GuardConfig):
    """`min_lines` for a block without a fence; `languages` to report only those, by name."""

    model_config = ConfigDict(strict=True)

    kind: Literal["code"] = "code"
    min_lines: int = Field(default=2, ge=1, le=100)
    languages: list[Language] | None = None

    @field_validator("languages")
    @classmethod
    def _some(cls, value: list[Language] | None) -> list[Language] | None:
        if value is not None and not value:
            raise ValueError("languages must not be empty (omit it to report any code)")
        return None if value is None else list(dict.fromkeys(value))


class CodeGuard:
    """Reports code blocks (and, per language, single statements) as scored spans."""

    def __init__(self, name: str, min_lines: int, languages: Sequence[Language] | None) -> None:
        self.name = name
        self._finder = BlockFinder(min_lines)
        self._languages = tuple(languages) if languages else None
        self._statements = {lang: compile_re2(STATEMENTS[lang], name=lang) for lang in LANGUAGES}

    @property
    def reported_labels(self) -> frozenset[str]:
        """`code`, or the chosen languages."""
        return frozenset(self._languages) if self._languages else frozenset({LABEL})

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """None: a rule's threshold (0.5 unless set) applies to the block score."""
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per block (and per statement, by language) with its score and span."""

        def run() -> list[Finding]:
            return [f for index, text in enumerate(texts) for f in self._findings(index, text)]

        return await off_loop(texts, run)

    def _findings(self, index: int, text: str) -> list[Finding]:
        blocks = self._finder.blocks(text)
        if self._languages is None:
            return [self._finding(index, LABEL, b.start, b.end, b.score) for b in blocks]
        found = []
        for block in blocks:
            language = block.fence_language or self._language_of(text[block.start : block.end])
            if language in self._languages:
                found.append(self._finding(index, language, block.start, block.end, block.score))
        for language in self._languages:
            for match in self._statements[language].finditer(text):
                if not any(b.start <= match.start() and match.end() <= b.end for b in blocks):
                    found.append(self._finding(index, language, match.start(), match.end(), 1.0))
        return found

    def _language_of(self, block: str) -> Language | None:
        counts = {
            lang: sum(1 for _ in self._statements[lang].finditer(block)) for lang in LANGUAGES
        }
        best = max(LANGUAGES, key=lambda lang: counts[lang])
        return best if counts[best] else None

    def _finding(self, index: int, label: str, start: int, end: int, score: float) -> Finding:
        span = Span(start=start, end=end, entity=label)
        return Finding(
            guard=self.name, label=label, score=round(score, 4), text_index=index, spans=(span,)
        )


def build(config: CodeConfig, context: BuildContext) -> CodeGuard:
    """Compile the line signals and statement patterns once."""
    return CodeGuard(context.name, config.min_lines, config.languages)


KIND = GuardKind(config=CodeConfig, build=build)
