"""A platform's sessions and their state: healthy, backing off (exponential with jitter) or retired.

Pure bookkeeping with the clock and the randomness passed in, so the policy's arithmetic is tested without a
crawl. The pool logs one line per state change and counts into ``adwatch/<platform>/sessions/<event>`` and
``adwatch/<platform>/refusals/<event>``.

"Refusals in a row" are counted per kind of request (its callback: ``parse_search``, ``parse_profile`` …) and in
the order the evidence came, by the pool's own event numbers (:meth:`SessionPool.sent`), never the wall clock.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from crawler.sessions.specs import SessionsConfig, SessionSpec

logger = logging.getLogger("adwatch.sessions")


class State(Enum):
    HEALTHY = "healthy"
    BACKING_OFF = "backing off"
    RETIRED = "retired"


@dataclass
class Session:
    """One session's live state in this run."""

    spec: SessionSpec
    state: State = State.HEALTHY
    refusals_in_a_row: int = 0
    not_before: float = 0.0  # clock time before which it must not send (its back-off)
    last_used: float = 0.0

    @property
    def name(self) -> str:
        return self.spec.name


class SessionPool:
    """The sessions of one platform for one run, and the refusal policy's decisions over them."""

    def __init__(self, platform: str, specs: list[SessionSpec], config: SessionsConfig,
                 count: Callable[[str], None] = lambda event: None,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        if not specs:
            raise ValueError(f"{platform}: a session pool needs at least one session")
        self.platform = platform
        self.config = config
        self.sessions = {spec.name: Session(spec) for spec in specs}
        self._count = count
        self._clock = clock
        self._rng = rng or random.Random()
        # Refusals in a row per kind of request, across all sessions; a success of that kind resets it. Per kind:
        # the successes of another kind (Bilibili's key fetches between refused searches) say nothing about it.
        self.in_a_row: dict[str, int] = {}
        self._events = 0  # the pool's event order: requests put on a session, refusals counted
        self._last_refusal: dict[str, int] = {}  # per kind: the event number of its last counted refusal
        self.stopped: str | None = None  # the reason, once the platform is stopped
        self.stopped_kind: str | None = None  # the kind of request that stopped it

    # --- choosing ------------------------------------------------------------------------------------------
    def pick(self, avoid: str | None = None) -> tuple[Session, float]:
        """The session to send the next request on, and how long to wait before sending it.

        The first healthy session in order (a session is kept until it is refused: its cookies stay coherent and a
        browser platform keeps one context's worth of pages open), else the one whose back-off ends soonest; the
        session that was just refused (``avoid``) only when no other one is usable.
        """
        live = [s for s in self.sessions.values() if s.state is not State.RETIRED]
        if not live:  # cannot happen while the platform runs (the last session is never retired); be safe
            live = list(self.sessions.values())
        others = [s for s in live if s.name != avoid] or live
        now = self._clock()
        self._recover(others, now)
        order = list(self.sessions)
        session = min(others, key=lambda s: (max(s.not_before - now, 0.0), order.index(s.name)))
        session.last_used = now
        return session, max(session.not_before - now, 0.0)

    def _recover(self, sessions: list[Session], now: float) -> None:
        for s in sessions:
            if s.state is State.BACKING_OFF and s.not_before <= now:
                s.state = State.HEALTHY
                logger.info("%s: session %s healthy again", self.platform, s.name)

    # --- the order of events --------------------------------------------------------------------------------
    def sent(self) -> int:
        """The next event number, for a request being put on a session (kept on its meta by the session
        middleware): a refusal can then tell whether it was sent before or after the last refusal of its kind."""
        return self._event()

    def _event(self) -> int:
        self._events += 1
        return self._events

    def in_flight(self, kind: str, sent: int | None) -> bool:
        """Whether a request of ``kind`` sent at event ``sent`` was already on its way when the last refusal of its
        kind was counted: refused in that same moment, it is no new evidence (a request never numbered is)."""
        return sent is not None and sent < self._last_refusal.get(kind, 0)

    # --- outcomes ------------------------------------------------------------------------------------------
    def succeeded(self, name: str | None, kind: str = "parse") -> None:
        """A response of ``kind`` on ``name`` was handled without a refusal: that kind's count and the session's
        start over (another kind's count does not)."""
        self.in_a_row.pop(kind, None)
        session = self.sessions.get(name or "")
        if session is not None:
            session.refusals_in_a_row = 0

    def refused(self, name: str | None, reason: str, kind: str = "parse", sent: int | None = None) -> bool:
        """Record a refusal on session ``name`` of a request of ``kind`` sent at event ``sent`` (:meth:`sent`);
        True when the platform must stop (``stop_after`` refusals of one kind in a row).

        "In a row" is in the order the evidence came: a request already on its way when the last refusal of its kind
        was counted (a browser opening twenty profile pages at once meets one intermittent refusal five times over)
        is counted in ``refusals/in_flight`` only: no refusal in a row, no back-off. A ban also refuses the retries
        sent after each refusal, so it still stops the platform after N (later by the requests in flight)."""
        self._count(f"refused/{reason}")
        if self.stopped:
            return True
        if self.in_flight(kind, sent):
            self._count("refusals/in_flight")
            return False
        self._last_refusal[kind] = self._event()
        in_a_row = self.in_a_row[kind] = self.in_a_row.get(kind, 0) + 1
        session = self.sessions.get(name or "") or next(iter(self.sessions.values()))
        session.refusals_in_a_row += 1
        live = [s for s in self.sessions.values() if s.state is not State.RETIRED]
        if in_a_row >= self.config.stop_after:
            self.stopped, self.stopped_kind = reason, kind
            self._count(f"refusals/stopped_by/{kind}")
            return True
        if session.refusals_in_a_row >= self.config.retire_after and len(live) > 1:
            session.state = State.RETIRED
            self._count("sessions/retired")
            logger.warning("%s: session %s retired after %d refusals in a row (%s); %d left",
                           self.platform, session.name, session.refusals_in_a_row, reason, len(live) - 1)
            return False
        delay = self.backoff(session.refusals_in_a_row)
        session.not_before = self._clock() + delay
        if session.state is not State.RETIRED:
            session.state = State.BACKING_OFF
        self._count("sessions/backoff")
        logger.info("%s: session %s backing off %.1fs after %s (%d in a row)",
                    self.platform, session.name, delay, reason, session.refusals_in_a_row)
        return False

    def backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter: ``backoff * 2**(attempt-1)``, capped, times 0.5–1.5."""
        base = min(self.config.max_backoff, self.config.backoff * 2 ** max(attempt - 1, 0))
        return base * (0.5 + self._rng.random())

    def describe(self) -> str:
        """``anon-1 healthy, anon-2 retired`` (names and states only: no cookie, no proxy credentials)."""
        return ", ".join(f"{s.name} {s.state.value}" for s in self.sessions.values())
