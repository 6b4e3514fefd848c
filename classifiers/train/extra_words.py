"""English words the WordPiece vocabulary lacks as whole words, for the decoders' dictionary.

    python -m classifiers.train.extra_words          # rewrites guardrail/data/words_en_extra.txt

`guardrail/data/words_en.txt` holds the whole words of guard-minilm's vocabulary; words it
splits into pieces (`override`, `admin`, `delete`, `unrestricted`, `phishing` ...) are missing,
so a decoded or respelled order that uses them did not read as words. This script lists the
lower-case words of five letters or more that appear in at least `MIN_ROWS` rows of at least
two of the prompt and document files of ../shared/data (never dev/) and are not in
words_en.txt, minus `NOT_WORDS` (names, paths and foreign words that pass the counts). Only the
words are written, never a row.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
FILES = (
    "benign/prompts.jsonl",
    "injection/prompts.jsonl",
    "injection/documents.jsonl",
    "harm/prompts.jsonl",
)
MIN_ROWS = 25
MIN_FILES = 2
MIN_LETTERS = 5
# a lower-case word on its own: not part of an identifier, a path, an address or a call
_WORD = re.compile(r"(?<![A-Za-z'_\-./@])[a-z]{5,}(?![A-Za-z'_\-./@(])")
NOT_WORDS = frozenset(
    {
        "anglaisischer", "cambiando", "cdnjs", "githubrelative", "historique", "ngtemplates",
        "originallyinger", "textitspanifying", "doesnt", "whats", "walmart", "github",
        "openai", "mysql", "numpy", "pytest", "urllib", "smtplib", "kwargs", "dtype", "rtype",
        "mkdir", "stdin", "stdout", "whois",
    }
)  # fmt: skip


def extra_words(data: Path = DATA) -> list[str]:
    """The words, sorted."""
    known = set((ROOT / "guardrail/data/words_en.txt").read_text("utf-8").split())
    rows: collections.Counter[str] = collections.Counter()
    files: dict[str, set[str]] = collections.defaultdict(set)
    for name in FILES:
        with open(data / name, encoding="utf-8") as fh:
            for line in fh:
                for word in set(_WORD.findall(json.loads(line).get("text", ""))):
                    rows[word] += 1
                    files[word].add(name)
    return sorted(
        w
        for w, n in rows.items()
        if n >= MIN_ROWS
        and len(files[w]) >= MIN_FILES
        and len(w) >= MIN_LETTERS
        and w not in known
        and w not in NOT_WORDS
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "guardrail/data/words_en_extra.txt")
    args = parser.parse_args(argv)
    words = extra_words(args.data)
    args.out.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {args.out}")


if __name__ == "__main__":
    main()
