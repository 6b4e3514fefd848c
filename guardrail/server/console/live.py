"""Recent decisions for the console's live view: a ring buffer and server-sent events.

`DecisionLog.record` is a `Metrics` tap: it sees every stage decision the proxy counts, on
the event loop, and keeps a short summary of it -- time, tenant, policy, stage, action,
rules, the highest score per rule, guard time. Never the text, unless the tenant's policy
says `options: {log_text: true}` (then the checked text, as forwarded, cut short). The
buffer has a fixed size; each open live view gets its own bounded queue, and a viewer that
does not keep up misses events (counted in `dropped`) instead of holding memory.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from guardrail.server.config import ConsoleConfig
from guardrail.types import Decision

TEXT_CHARS = 300  # characters of each logged text shown (when the policy logs text at all)
TEXTS = 3  # texts shown per decision
QUEUE = 256  # events waiting for one viewer before it starts missing some
# Live streams open at once, all viewers together: every decision is handed to each on the
# proxy's event loop, so their number must not grow with whoever keeps opening them (a
# browser holds about 6 connections per server: this is a few operators' tabs).
MAX_VIEWERS = 16
# A stream ends after STREAM_S and the browser reconnects RETRY_MS later, resuming after the
# last event it saw: an open live view can hold up a server's graceful shutdown (which waits
# for responses in flight, and an ASGI app is not told it began) by STREAM_S at most, and no
# idle stream lives long enough for a proxy in between to time it out.
STREAM_S = 5.0
RETRY_MS = 500


@dataclass(frozen=True)
class Summary:
    """One stage decision, as the live view shows it."""

    id: int
    at: float  # time.time()
    tenant: str
    policy: str
    stage: str
    action: str
    rules: list[str]
    shadow_rules: list[str]
    scores: dict[str, float]  # rule -> highest score of its hits
    block_code: str | None
    guard_ms: float
    texts: list[str] | None = None  # only when the policy logs text

    def event(self) -> str:
        """The summary as one server-sent event."""
        return f"id: {self.id}\nevent: decision\ndata: {json.dumps(asdict(self))}\n\n"


def summarize(
    number: int, decision: Decision, tenant: str, policy: str, with_text: bool
) -> Summary:
    """A decision's summary (no text unless `with_text`)."""
    scores: dict[str, float] = {}
    for hit in (*decision.hits, *decision.shadow_hits):
        scores[hit.rule] = round(max(scores.get(hit.rule, 0.0), hit.score), 4)
    texts = [t[:TEXT_CHARS] for t in decision.texts[:TEXTS]] if with_text else None
    return Summary(
        id=number,
        at=time.time(),
        tenant=tenant,
        policy=policy,
        stage=decision.stage.value,
        action=decision.action.value,
        rules=list(decision.rules_fired),
        shadow_rules=sorted({h.rule for h in decision.shadow_hits}),
        scores=scores,
        block_code=decision.block.code if decision.block else None,
        guard_ms=round(decision.guard_ms, 3),
        texts=texts,
    )


@dataclass
class DecisionLog:
    """The last `buffer` decision summaries, and the live views that follow new ones.

    `settings()` and `logs_text(tenant)` are asked on every decision: they read the config
    the server serves now, so a reload that turns the console off stops the recording, and
    one that changes `console.buffer` resizes the buffer.
    """

    settings: Callable[[], ConsoleConfig | None]  # None: no server config, console off
    logs_text: Callable[[str], bool]
    recent: deque[Summary] = field(default_factory=lambda: deque(maxlen=ConsoleConfig().buffer))
    viewers: set[asyncio.Queue[Summary]] = field(default_factory=set)
    dropped: int = 0
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, decision: Decision, tenant: str = "", policy: str = "") -> None:
        """Keep a summary of one decision and hand it to every open live view."""
        settings = self.settings()
        if settings is None or not settings.enabled:
            return
        if settings.buffer != self.recent.maxlen:
            self.recent = deque(self.recent, maxlen=settings.buffer)
        summary = summarize(next(self._numbers), decision, tenant, policy, self.logs_text(tenant))
        self.recent.append(summary)
        for queue in self.viewers:
            try:
                queue.put_nowait(summary)
            except asyncio.QueueFull:
                self.dropped += 1

    def full(self) -> bool:
        """Whether MAX_VIEWERS live streams are open (the route refuses another with 429)."""
        return len(self.viewers) >= MAX_VIEWERS

    def since(self, last_id: int) -> list[Summary]:
        """Buffered summaries newer than `last_id` (0: all), oldest first."""
        return [s for s in self.recent if s.id > last_id]

    async def events(self, last_id: int = 0, lifetime_s: float = STREAM_S) -> AsyncIterator[str]:
        """Server-sent events: the buffer after `last_id`, then each new decision, for
        `lifetime_s`; then the stream ends and the browser resumes it (`Last-Event-ID`)."""
        if self.full():  # streams that passed the route's check together: the bound holds
            yield f"retry: {RETRY_MS}\n\n"
            return
        queue: asyncio.Queue[Summary] = asyncio.Queue(maxsize=QUEUE)
        self.viewers.add(queue)  # before reading the buffer: nothing falls between the two
        loop = asyncio.get_running_loop()
        deadline = loop.time() + lifetime_s
        try:
            yield f"retry: {RETRY_MS}\n\n"
            # an id from before a restart is past the newest: start from the newest
            sent = min(last_id, self.recent[-1].id if self.recent else 0)
            for summary in self.since(last_id):
                sent = summary.id
                yield summary.event()
            while (left := deadline - loop.time()) > 0:
                try:
                    summary = await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    break
                if summary.id > sent:
                    sent = summary.id
                    yield summary.event()
        finally:
            self.viewers.discard(queue)


def counts(log: DecisionLog) -> dict[str, Any]:
    """Numbers about the buffer, for the page."""
    settings = log.settings()
    size = settings.buffer if settings is not None else log.recent.maxlen
    return {"size": size, "kept": len(log.recent), "viewers": len(log.viewers)}
