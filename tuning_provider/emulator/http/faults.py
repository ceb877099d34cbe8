"""Fault injection: what happens to chosen requests instead of a plain answer, so that a client's
retries and its idempotency can be tried against an emulator that fails the way Vertex, and the
network in between, do.

A fault plan is a list of rules, each read once from one line:

    POST tuningJobs after=reset                    the create acts, then its connection is reset
    POST tuningJobs/*:cancel after=503 times=2     two cancels act, then are answered 503
    DELETE models/* after=delay:30                 the delete acts, its answer is held 30 s
    GET tuningJobs/* before=500 skip=1 every=2 times=all

    METHOD PATH EFFECT [skip=N] [every=K] [times=N|all]

- METHOD: GET, POST, DELETE, PATCH, PUT, or `*` for any.
- PATH: a pattern of the request's path, `*` standing for one id (no `/` or `:`) and `**` for
  anything. Without a leading `/` it is matched against a Vertex path after
  `/VERSION/projects/P/locations/L/` (`tuningJobs/*:cancel` is any job's cancel); with one,
  against the whole path (`/storage/v1/b/*/o/**` for Cloud Storage's object reads).
- EFFECT, before the request acts or after:
  `before=STATUS`       answered STATUS with Google's error body; nothing changes;
  `after=reset`         it acts, then the connection is reset: the client gets no answer;
  `after=STATUS`        it acts, then STATUS is answered instead of its answer;
  `after=delay:SECONDS` it acts, then its answer is held SECONDS, or until the client hangs up
                        (a client whose timeout is shorter sees a timeout).
  STATUS is any HTTP error status, 400 to 599.
- Which of the requests a rule matches it faults, by count, never by chance: `skip=N` lets the
  first N pass (default 0), then every Kth is faulted (`every=K`, default 1: each), at most
  `times` of them (default 1; `all`: no limit). Each rule counts every request it matches;
  when several would fault one request, the first in the plan does.

Beside the rules, `rate` answers that share of the other Vertex requests 429 or 503 before
they act, at random (`seed` makes the sequence repeat: `--fault-rate`, `--fault-seed`).

This module decides which fault a request meets; the app enacts a status, and the server
resets or holds the connection (`response.Response.reset`, `hold_seconds`).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

__all__ = [
    "DelayAfter",
    "Effect",
    "FailBefore",
    "FaultPlan",
    "FaultRule",
    "Injected",
    "ResetAfter",
    "StatusAfter",
    "parse_rules",
]

METHODS = frozenset({"GET", "POST", "DELETE", "PATCH", "PUT", "*"})
SYNTAX = "METHOD PATH before=STATUS|after=reset|after=STATUS|after=delay:SECONDS [skip=N] [every=K] [times=N|all]"
# The part of a Vertex path that PATH patterns without a leading slash are matched against.
_VERTEX_PATH = re.compile(r"/v1(?:beta1)?/projects/[^/]+/locations/[^/]+/(?P<rest>.*)")
_STATUSES = range(400, 600)


@dataclass(frozen=True)
class FailBefore:
    """Answered `status` before the request acts: nothing changes."""

    status: int
    message: str = ""  # what the error body says (empty: the status's usual wording)


@dataclass(frozen=True)
class ResetAfter:
    """The request acts, then its connection is reset without an answer."""


@dataclass(frozen=True)
class StatusAfter:
    """The request acts, then `status` is answered instead of its answer."""

    status: int


@dataclass(frozen=True)
class DelayAfter:
    """The request acts, then its answer is held `seconds`, or until the client hangs up."""

    seconds: float


Effect = FailBefore | ResetAfter | StatusAfter | DelayAfter


@dataclass(frozen=True)
class FaultRule:
    """Which requests (`method`, `path`), what happens to them (`effect`), and which of them by
    count: after `skip` pass, every `every`th, at most `times` (None: no limit)."""

    method: str
    path: str
    effect: Effect
    skip: int = 0
    every: int = 1
    times: int | None = 1
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"fault method must be one of {', '.join(sorted(METHODS))}, not {self.method!r}")
        if not self.path or any(c.isspace() for c in self.path):
            raise ValueError(f"fault path must be a pattern without spaces, not {self.path!r}")
        if isinstance(self.effect, FailBefore | StatusAfter) and self.effect.status not in _STATUSES:
            raise ValueError(f"a fault's status must be an HTTP error status, 400 to 599, not {self.effect.status}")
        if isinstance(self.effect, DelayAfter) and not self.effect.seconds > 0:
            raise ValueError(f"a fault's delay must be more than 0 seconds, not {self.effect.seconds}")
        if self.skip < 0 or self.every < 1 or (self.times is not None and self.times < 1):
            raise ValueError("a fault needs skip >= 0, every >= 1 and times >= 1 (or all)")
        object.__setattr__(self, "_pattern", _compile(self.path))

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        """A rule from its line (`POST tuningJobs after=reset times=2`); ValueError naming what
        is wrong and the syntax."""
        try:
            return _parse(text)
        except ValueError as exc:
            raise ValueError(f"fault {text.strip()!r}: {exc}. The syntax: {SYNTAX}") from None

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule is about a `method` request of `path` (percent-encoded or not)."""
        if self.method not in ("*", method):
            return False
        path = unquote(path)
        if not self.path.startswith("/"):
            vertex = _VERTEX_PATH.fullmatch(path)
            if vertex is None:
                return False
            path = vertex["rest"]
        return self._pattern.fullmatch(path) is not None

    def fires(self, seen: int, fired: int) -> bool:
        """Whether the `seen`th request this rule matches is faulted, `fired` having been."""
        counted = seen - self.skip
        return counted > 0 and counted % self.every == 0 and (self.times is None or fired < self.times)

    def __str__(self) -> str:
        words = [self.method, self.path, _effect_text(self.effect)]
        words += [f"skip={self.skip}"] * (self.skip != 0) + [f"every={self.every}"] * (self.every != 1)
        if self.times != 1:
            words.append(f"times={'all' if self.times is None else self.times}")
        return " ".join(words)


@dataclass(frozen=True)
class Injected:
    """The fault a request meets, and what caused it (for the error's message and the log)."""

    effect: Effect
    cause: str


class FaultPlan:
    """The faults an emulator injects: its rules, and the random share of `rate`.

    Thread-safe: concurrent requests are counted in the order they reach `decide`.
    """

    def __init__(self, rules: Iterable[FaultRule | str] = (), *, rate: float = 0.0, seed: int | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, not {rate}")
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._seen: list[int] = []
        self._fired: list[int] = []
        self.add(*rules)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        with self._lock:
            return tuple(self._rules)

    def add(self, *rules: FaultRule | str) -> None:
        """More rules, after the ones there are, each counting from now. A string may hold
        several rules, separated by `;`."""
        parsed = [r for rule in rules for r in ((rule,) if isinstance(rule, FaultRule) else parse_rules(rule))]
        with self._lock:
            self._rules += parsed
            self._seen += [0] * len(parsed)
            self._fired += [0] * len(parsed)

    def clear(self) -> None:
        """No more rules (the random rate stays)."""
        with self._lock:
            self._rules, self._seen, self._fired = [], [], []

    def decide(self, method: str, path: str, *, vertex: bool) -> Injected | None:
        """The fault a `method` request of `path` meets, if any; `vertex` says whether it is one
        of Vertex's (only those meet the random rate)."""
        with self._lock:
            chosen: Injected | None = None
            for index, rule in enumerate(self._rules):
                if not rule.matches(method, path):
                    continue
                self._seen[index] += 1
                if chosen is None and rule.fires(self._seen[index], self._fired[index]):
                    self._fired[index] += 1
                    chosen = Injected(rule.effect, f"fault '{rule}'")
            if chosen is not None or not vertex or self.rate == 0.0:
                return chosen
            roll, kind = self._random.random(), self._random.random()
        if roll >= self.rate:
            return None
        if kind < 0.5:
            return Injected(
                FailBefore(429, "Quota exceeded for tuning requests per minute; retry later."), "--fault-rate"
            )
        return Injected(FailBefore(503, "The service is currently unavailable."), "--fault-rate")


def parse_rules(text: str) -> tuple[FaultRule, ...]:
    """The rules of `text`, separated by `;` or new lines (blank ones ignored)."""
    return tuple(FaultRule.parse(line) for line in re.split(r"[;\n]", text) if line.strip())


def _parse(text: str) -> FaultRule:
    words = text.split()
    if len(words) < 3:
        raise ValueError("it needs a method, a path and an effect")
    method, path, *options = words
    effect: Effect | None = None
    counts: dict[str, int | None] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not value:
            raise ValueError(f"{option!r} is not NAME=VALUE")
        if key in ("before", "after"):
            if effect is not None:
                raise ValueError("a rule has one effect, before= or after=")
            effect = _parse_effect(key, value)
        elif key in ("skip", "every", "times") and key not in counts:
            counts[key] = None if (key, value) == ("times", "all") else _whole_number(key, value)
        else:
            raise ValueError(f"{key}= is unknown or given twice")
    if effect is None:
        raise ValueError("it needs an effect: before=STATUS or after=reset|STATUS|delay:SECONDS")
    skip, every = counts.get("skip", 0), counts.get("every", 1)
    assert skip is not None and every is not None  # only times= takes `all`
    return FaultRule(method.upper(), path, effect, skip=skip, every=every, times=counts.get("times", 1))


def _parse_effect(when: str, value: str) -> Effect:
    if when == "before":
        return FailBefore(_whole_number("before", value))
    if value == "reset":
        return ResetAfter()
    kind, sep, seconds = value.partition(":")
    if kind == "delay" and sep:
        try:
            return DelayAfter(float(seconds))
        except ValueError:
            raise ValueError(f"after=delay:{seconds} needs a number of seconds") from None
    if value.isdigit():
        return StatusAfter(int(value))
    raise ValueError(f"after={value} is not reset, a status or delay:SECONDS")


def _whole_number(key: str, value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"{key}={value} needs a whole number")
    return int(value)


def _effect_text(effect: Effect) -> str:
    if isinstance(effect, FailBefore):
        return f"before={effect.status}"
    if isinstance(effect, ResetAfter):
        return "after=reset"
    if isinstance(effect, StatusAfter):
        return f"after={effect.status}"
    return f"after=delay:{effect.seconds:g}"


def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", pattern)
    return re.compile("".join(".*" if p == "**" else "[^/:]+" if p == "*" else re.escape(p) for p in parts))
