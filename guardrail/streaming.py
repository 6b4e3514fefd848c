"""Output guarding of a token stream with a bounded hold-back window.

Only checked text is released, and only in whole units. A `Holdback` keeps one text channel
of a stream (a choice's content, or one tool call's arguments): it holds what came in, and
once `window` characters wait it checks them -- with the last released characters in front
as context -- and releases a prefix of what it checked. The prefix ends:

- at a sentence end (`.`, `!`, `?` or `…` and then white space, or a line break) that is at
  least a look-ahead of `3/4 * window` characters (and at least `MIN_LOOKAHEAD`, 96) before
  the end of the checked text, so a sentence is judged whole, together with what follows it,
  before any of it is released, and so is anything with white space inside up to 96
  characters long (a spaced-out card number or e-mail address);
- when no sentence has ended for `4 * window` characters, at a word boundary instead (the
  look-ahead still applies), so run-on text is not held without bound;
- never inside an open candidate: a cut falls only on white space, so a run of token-like
  characters (a key, a JWT, an address, a URL) is held until white space or the end of the
  stream closes it; nor inside a run of number groups joined by single spaces (a card,
  phone or IBAN number; up to `MAX_NUMBER_RUN` characters, a longer run is cut like text)
  or a `-----BEGIN` block before its `-----END ...-----` line.

When more than `max_held` characters wait and none of them can be released (one candidate
that long), the stream fails closed with a `stream-hold-limit` block (code
`limit_exceeded`) instead of releasing a piece of it. So:

- a violating span of up to the look-ahead, or one whole token-like run, is seen whole
  before any of its characters could be released, wherever the chunk boundaries fall; at the
  end of the stream the rest is checked before it is released;
- time-to-first-token grows by the first sentence plus the look-ahead (at least `window` and
  96 characters); text then arrives a sentence at a time;
- a redaction that straddles the release point is held back whole and released as its
  placeholder the next time; a placeholder in the upstream's text (`<EMAIL_1>`, also when it
  arrives split over several chunks) is never cut, so it is restored whole.

Without a check (only placeholders to restore) text is released as it comes, less a partial
placeholder at the end.

`StreamGuard.guard` applies holdbacks to an OpenAI chunk stream (chat or legacy text): on a block
it ends the stream with a final chunk whose `finish_reason` is `content_filter` (the SSE
layer then sends `[DONE]`) and closes the upstream. It knows nothing about HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

from guardrail.errors import LimitExceeded, UpstreamBadResponse
from guardrail.types import Action, Block, Decision, Stage
from guardrail.upstream.formats import CHAT, AnswerFormat
from guardrail.wire import Json

CheckFn = Callable[[str], Awaitable[Decision]]
RestoreFn = Callable[[str], str]
Chunk = Json  # one OpenAI stream chunk
Opcodes = Sequence[tuple[str, int, int, int, int]]

CONTENT_FILTER = "content_filter"
BLOCK_KEY = "guardrail"
"""The key of a choice cut by a block: `{"rule", "stage", "code"}`, as a block error names them."""
HOLD_LIMIT_RULE = "stream-hold-limit"  # the rule name of a fail-closed hold-back block
DEFAULT_MAX_HELD = 4096
# Longer than any value the guards find that contains white space and has no end marker of
# its own: card, phone and IBAN numbers with spaced separators ("DE89 / 3704 / ..." is ~75
# characters), addresses with the "@" and dots spelled out ("jane DOT doe AT example DOT com").
MIN_LOOKAHEAD = 96
_TOKEN = re.compile(r"<[A-Z0-9_]*>?")
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>")
# a sentence end: terminator, closing quotes/brackets/markup, then white space; or a line break
_UNIT_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]*_]*\s|\n")
# a PEM block, open (no END line yet: it runs to the end of the text) or closed
_PEM = re.compile(r"-----BEGIN.*?(?:-----END[^\n]*?-----|\Z)", re.S)
_WORD = re.compile(r"\S+")
_DIGIT = re.compile(r"[0-9]")
_CAPS = re.compile(r"[A-Z]{1,4}")  # an IBAN's letter group ("GB82 WEST 1234")
# Longer than the longest number a run protects (an IBAN: 34 characters plus separators). A
# longer run (a numeric table, a hex dump) may be cut at its white space like other text --
# the look-ahead still shows every released piece's neighbours to the guards -- so that it
# does not outgrow `max_held` and end a benign stream.
MAX_NUMBER_RUN = 48


def chunk_index(item: dict[str, Any]) -> int:
    """A choice's or tool call's `index` (absent: 0); anything but a whole number >= 0 is
    UpstreamBadResponse, so the client gets the clean upstream-error ending, not a crash."""
    value = item.get("index")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UpstreamBadResponse("upstream sent a stream chunk with an index that is not a number")
    return value


def _no_restore(text: str) -> str:
    return text


def _no_placeholders() -> int:
    return 0


@dataclass(frozen=True)
class Release:
    """What a holdback lets through now: text for the client, or the block that stopped it."""

    text: str = ""
    blocked: Decision | None = None


class Holdback:
    """One text channel of a stream; see the module docstring.

    `check` returns the Decision for a text (None: nothing to check, only placeholders to keep
    whole for `restore`). `placeholder_len` is the longest placeholder issued so far.
    """

    def __init__(
        self,
        check: CheckFn | None,
        restore: RestoreFn = _no_restore,
        *,
        window: int = 128,
        placeholder_len: Callable[[], int] = _no_placeholders,
        max_held: int = DEFAULT_MAX_HELD,
    ) -> None:
        self._check = check
        self._restore = restore
        self._placeholder_len = placeholder_len
        self.window = max(1, window) if check is not None else 1
        # never shorter than MIN_LOOKAHEAD, whatever the window: what contains white space is
        # seen whole only through the look-ahead (cuts fall on white space)
        lookahead = max(self.window * 3 // 4, MIN_LOOKAHEAD)
        self.lookahead = lookahead if check is not None else 0
        self.max_unit = 4 * self.window  # past this, a sentence is released at word boundaries
        # never below what ordinary text may need: a long sentence, the look-ahead, one step
        self.max_held = max(max_held, 8 * self.window)
        self._step = max(1, self.window // 4)
        self._pending = ""  # received, not yet released (upstream text)
        self._context = ""  # the last `window` released characters, as checked
        self._checked_at = 0  # len(_pending) at the last check that released nothing

    @property
    def held(self) -> int:
        """Characters held back right now."""
        return len(self._pending)

    async def feed(self, delta: str) -> Release:
        """Take the next piece of upstream text; release what is proven clean."""
        self._pending += delta
        # nothing can be released before more than the look-ahead waits: no check until then
        if len(self._pending) < max(self.window, self.lookahead + self._step):
            return Release()
        # something is held whole: wait for more before checking again; the wait grows with
        # what is held, so a long candidate costs a few checks, not one per `step`
        step = max(self._step, self._checked_at // 4)
        if self._checked_at and len(self._pending) - self._checked_at < step:
            return Release()
        return await self._release(final=False)

    async def close(self) -> Release:
        """The stream ended: check and release the rest."""
        if not self._pending:
            return Release()
        return await self._release(final=True)

    async def _release(self, *, final: bool) -> Release:
        segment = self._context + self._pending
        new = segment
        if self._check is not None:
            decision = await self._check(segment)
            if decision.blocked:
                self._pending = ""
                return Release(blocked=decision)
            new = decision.texts[0]
        ops: Opcodes | None = None if new == segment else _opcodes(segment, new)
        start = _to_new(len(self._context), ops, inside="end")
        start = _around_placeholder(new, start, after=True)
        cut = _to_new(self._cut(segment, final=final), ops, inside="start")
        if not final:
            cut = _around_placeholder(new, cut, after=False)
            cut = _safe_cut(new, cut, start, self._placeholder_len())
        if cut <= start:
            return self._hold()
        consumed = _to_old(cut, ops) - len(self._context)
        out = new[start:cut]
        self._pending = self._pending[max(0, consumed) :] if not final else ""
        self._context = (self._context + out)[-self.window :]
        self._checked_at = 0
        return Release(text=self._restore(out))

    def _cut(self, segment: str, *, final: bool) -> int:
        """Where the checked text may be cut (in its own positions); see the module docstring."""
        if final or self._check is None:
            return len(segment)
        low, limit = len(self._context), len(segment) - self.lookahead
        if limit <= low:
            return low
        cut = _last_unit_end(segment, low, limit)
        if cut <= low and limit - low >= self.max_unit:
            cut = _last_space(segment, low, limit)
        return _outside_candidates(segment, cut)

    def _hold(self) -> Release:
        """Nothing can be released now; fail closed when too much waits."""
        self._checked_at = len(self._pending)
        if self._check is not None and len(self._pending) > self.max_held:
            self._pending = ""
            return Release(blocked=hold_limit_block(self.max_held))
        return Release()


def hold_limit_block(max_held: int) -> Decision:
    """The block for a candidate that outgrew the hold-back: it is never released in part."""
    message = f"A streamed span ran past {max_held} characters before it could be checked whole."
    block = Block(
        rule=HOLD_LIMIT_RULE, stage=Stage.OUTPUT, code=LimitExceeded.code, message=message
    )
    return Decision(stage=Stage.OUTPUT, action=Action.BLOCK, texts=(), block=block)


def _last_unit_end(text: str, low: int, limit: int) -> int:
    """The last sentence end in `text[low:limit]` (a position after it), else `low`."""
    cut = low
    for match in _UNIT_END.finditer(text, max(0, low - 8), limit):
        if match.end() > low:
            cut = match.end()
    return cut


def _last_space(text: str, low: int, limit: int) -> int:
    """The position after the last white space in `text[low:limit]`, else `low`."""
    for pos in range(limit, low, -1):
        if text[pos - 1].isspace():
            return pos
    return low


def _outside_candidates(text: str, cut: int) -> int:
    """`cut`, moved back to the start of every candidate that it falls strictly inside."""
    for start, end in sorted(_candidates(text), reverse=True):
        if start < cut < end:
            cut = start
    return cut


def _candidates(text: str) -> Iterator[tuple[int, int]]:
    """Spans that hold white space but must be released whole: PEM blocks, number groups."""
    for match in _PEM.finditer(text):
        yield match.start(), match.end()
    yield from _number_runs(text)


def _number_runs(text: str) -> Iterator[tuple[int, int]]:
    """Runs of two or more number-like words joined by single spaces or tabs, up to
    `MAX_NUMBER_RUN` characters long (a longer run is no candidate)."""
    run_start, run_end, words = 0, 0, 0
    for word in _WORD.finditer(text):
        value = word.group()
        numberish = _DIGIT.search(value) is not None or _CAPS.fullmatch(value) is not None
        if numberish and words and text[run_end : word.start()] in (" ", "\t"):
            run_end, words = word.end(), words + 1
            continue
        if words > 1 and run_end - run_start <= MAX_NUMBER_RUN:
            yield run_start, run_end
        run_start, run_end, words = word.start(), word.end(), int(numberish)
    if words > 1 and run_end - run_start <= MAX_NUMBER_RUN:
        yield run_start, run_end


def _opcodes(old: str, new: str) -> Opcodes:
    """Edit regions between the checked and the rewritten text, coarsened.

    A character diff may align stray characters of a redacted span with its placeholder
    (`EMAIL@X.COM` -> `<EMAIL_1>`); equal runs of up to two characters between edits are
    folded into the edit so that a cut does not land inside it.
    """
    merged: list[tuple[str, int, int, int, int]] = []
    for op in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if merged and merged[-1][0] != "equal" and (op[0] != "equal" or op[2] - op[1] <= 2):
            _, i1, _, j1, _ = merged.pop()
            merged.append(("replace", i1, op[2], j1, op[4]))
        else:
            merged.append(op)
    return merged


def _to_new(pos: int, ops: Opcodes | None, *, inside: Literal["start", "end"]) -> int:
    """Map a position in the checked text to the rewritten one.

    A position strictly inside an edited region maps to the region's start (hold the edit
    back whole) or its end (the region was partly released before: skip the rest of it).
    """
    if ops is None:
        return pos
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal" and i1 <= pos <= i2:
            return j1 + (pos - i1)
        if i1 <= pos < i2 or (i1 == i2 == pos):
            return j1 if inside == "start" or pos == i1 else j2
    return ops[-1][4] if ops else pos


def _to_old(pos: int, ops: Opcodes | None) -> int:
    """Map a cut in the rewritten text back to the checked text (cuts sit on region edges)."""
    if ops is None:
        return pos
    for tag, i1, _i2, j1, j2 in ops:
        if tag == "equal" and j1 <= pos <= j2:
            return i1 + (pos - j1)
        if j1 <= pos < j2:
            return i1
    return ops[-1][2] if ops else pos


def _around_placeholder(text: str, pos: int, *, after: bool) -> int:
    """`pos`, moved to the end (`after`) or start of a placeholder it falls inside."""
    for match in _PLACEHOLDER.finditer(text, max(0, pos - 64), pos + 64):
        if match.start() < pos < match.end():
            return match.end() if after else match.start()
    return pos


def _safe_cut(text: str, cut: int, start: int, max_len: int) -> int:
    """Move `cut` back so that it does not split a placeholder (complete or still arriving)."""
    if max_len <= 0 or cut <= start:
        return cut
    lt = text.rfind("<", max(start, cut - max_len), cut)
    if lt < 0:
        return cut
    token = _TOKEN.match(text, lt, min(len(text), lt + max_len))
    if token is None:
        return cut
    end = token.end()
    if token.group().endswith(">"):
        return lt if end > cut else cut  # a whole placeholder straddles the cut
    # no '>' yet: a placeholder may still be arriving if the token runs to the end of the text
    return lt if end == len(text) and end - lt < max_len else cut


# ------------------------------------------------------------------ OpenAI chunk streams


MakeHoldback = Callable[[], Holdback]


@dataclass
class _Choice:
    channels: dict[int, Holdback] = field(default_factory=dict)


def block_fields(decision: Decision) -> Json:
    """What a cut stream says about its block: the fields a block error carries."""
    block = decision.block
    if block is None:
        return {}
    return {"rule": block.rule, "stage": block.stage.value, "code": block.code}


@dataclass
class StreamGuard:
    """Applies holdbacks to an OpenAI chunk stream (`format`: chat or legacy text; a choice's
    text is read and written through it, so this guard only knows chat deltas)."""

    make_holdback: MakeHoldback
    format: AnswerFormat = CHAT
    refusal: str | None = None  # on a block, say this in the final chunk (on_block: refusal)
    blocked: Decision | None = None
    _choices: dict[int, _Choice] = field(default_factory=dict)
    _last: Chunk = field(default_factory=dict)

    def adopt(self, decision: Decision) -> None:
        """A block found in front of this guard (side fields): the stream ends with it."""
        if self.blocked is None:
            self.blocked = decision

    async def guard(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
        """The guarded stream. Closes `chunks` when it stops early."""
        try:
            async for chunk in chunks:
                self._last = chunk
                async for out in self._on_chunk(chunk):
                    yield out
                if self.blocked is not None:
                    return
            for index in list(self._choices):
                async for out in self._flush(index, None):
                    yield out
                if self.blocked is not None:
                    return
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    async def _on_chunk(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        choices = chunk.get("choices")
        if not choices:
            yield chunk  # usage / keep-alive chunks carry no text
            return
        for choice in choices:
            index = chunk_index(choice)
            state = self._choices.setdefault(index, _Choice())
            delta = await self._delta(state, choice)
            if self.blocked is not None:
                yield self._block_chunk(index)
                return
            finish = choice.get("finish_reason")
            if delta:
                yield self._chunk(index, delta, None)
            if finish is not None:
                async for out in self._flush(index, finish):
                    yield out
                if self.blocked is not None:
                    return

    async def _delta(self, state: _Choice, choice: dict[str, Any]) -> dict[str, Any]:
        """The part of a choice's delta that may go out now."""
        delta = self.format.read_delta(choice)
        # other keys (role, refusal, ...) pass; empty ones (litellm sends many nulls) do not
        out = {
            k: v for k, v in delta.items() if k not in ("content", "tool_calls") and v is not None
        }
        released = await self._feed(state, -1, delta.get("content"))
        if released:
            out["content"] = released
        calls = [await self._tool_delta(state, call) for call in delta.get("tool_calls") or ()]
        calls = [c for c in calls if c is not None]
        if calls:
            out["tool_calls"] = calls
        return out

    async def _tool_delta(self, state: _Choice, call: dict[str, Any]) -> dict[str, Any] | None:
        k = chunk_index(call)
        function = dict(call.get("function") or {})
        released = await self._feed(state, k, function.pop("arguments", None))
        header = {key: value for key, value in call.items() if key not in ("index", "function")}
        if not released and not header and not function:
            return None
        if released or function:
            header["function"] = {**function, "arguments": released}
        return {"index": k, **header}

    async def _feed(self, state: _Choice, channel: int, text: Any) -> str:
        if not isinstance(text, str) or not text or self.blocked is not None:
            return ""
        holdback = state.channels.get(channel)
        if holdback is None:
            holdback = state.channels[channel] = self.make_holdback()
        release = await holdback.feed(text)
        self.blocked = release.blocked
        return release.text

    async def _flush(self, index: int, finish: str | None) -> AsyncIterator[Chunk]:
        """Release the rest of a choice's channels, then its finish chunk."""
        state = self._choices.pop(index, _Choice())
        for channel, holdback in sorted(state.channels.items()):
            release = await holdback.close()
            if release.blocked is not None:
                self.blocked = release.blocked
                yield self._block_chunk(index)
                return
            if release.text:
                yield self._chunk(index, self._channel_delta(channel, release.text), None)
        if finish is not None:
            yield self._chunk(index, {}, finish)

    def _channel_delta(self, channel: int, text: str) -> dict[str, Any]:
        if channel < 0:
            return {"content": text}
        return {"tool_calls": [{"index": channel, "function": {"arguments": text}}]}

    def _block_chunk(self, index: int) -> Chunk:
        delta: dict[str, Any] = {"content": self.refusal} if self.refusal else {}
        block = block_fields(self.blocked) if self.blocked is not None else None
        return self._chunk(index, delta, CONTENT_FILTER, block)

    def _chunk(
        self, index: int, delta: dict[str, Any], finish: str | None, block: Json | None = None
    ) -> Chunk:
        choice = self.format.make_choice(index, delta, finish)
        if block:
            choice[BLOCK_KEY] = block
        drop = ("choices",) if finish is not None else ("choices", "usage")
        base = {k: v for k, v in self._last.items() if k not in drop}
        return {**base, "choices": [choice]}
