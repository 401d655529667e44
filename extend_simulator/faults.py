"""Fault injection: what can go wrong between the portal and Extend, on demand.

A ``FaultRule`` is a set of faults plus a scope (key, workspace, methods, path). Several rules may
be active; each call collects the faults of every rule whose scope it matches. Rules are plain data
so they travel through the control endpoint as JSON::

    {"error_rates": {"500": 0.2, "503": 0.1}, "latency": {"distribution": "normal",
     "mean_ms": 100, "jitter_ms": 20}, "scope": {"methods": ["DELETE"]}}

Faults and where they act, in request order:

- ``latency``: added before anything else (fixed, uniform mean±jitter, or normal mean/sd).
- ``revoked``: the key is refused with 401 UNAUTHORIZED.
- ``storm_seconds`` / ``storm_fraction``: 429 RATE_LIMIT_EXCEEDED regardless of the buckets.
- ``payment_required``: 402 USAGE_BLOCKED.
- ``error_rates``: any status with a probability; ``error_body`` picks JSON, HTML, text or empty.
- ``delete_not_found``: every DELETE answers 404 and deletes nothing (a misconfigured workspace).
- ``delete_success_body``: every DELETE answers a success that is not Extend's and deletes
  nothing, as a proxy or maintenance page would: ``html`` (200, a page), ``empty`` (204) or
  ``other_id`` (200, ``{"id"}`` of another run or file), or ``ignored`` (Extend's own 200
  ``{"id"}`` while the run or file stays: what a verification GET must catch).

Every fault acts on file calls (``/files``) as on run calls; ``scope.path_prefix`` ("/files",
"/parse_runs") aims a rule at one of them.
- ``drop_rate``: the call is carried out, then the connection is closed without an answer.
- ``slow_rate`` + ``slow_ms``: the call is carried out, then answered after ``slow_ms``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

BODY_FORMATS = ("auto", "json", "html", "text", "empty")
SUCCESS_BODIES = ("html", "empty", "other_id", "ignored")
DISTRIBUTIONS = ("fixed", "uniform", "normal")


@dataclass
class Latency:
    """Added latency: ``fixed`` mean, ``uniform`` mean±jitter, ``normal`` mean with sd=jitter."""

    distribution: str = "fixed"
    mean_ms: float = 0.0
    jitter_ms: float = 0.0

    def sample(self, rng: random.Random) -> float:
        """One delay, in seconds, never negative."""
        if self.distribution == "uniform":
            value = rng.uniform(self.mean_ms - self.jitter_ms, self.mean_ms + self.jitter_ms)
        elif self.distribution == "normal":
            value = rng.gauss(self.mean_ms, self.jitter_ms)
        else:
            value = self.mean_ms
        return max(0.0, value) / 1000


@dataclass
class FaultScope:
    """Which calls a rule applies to; an empty field matches everything."""

    key_last4: str | None = None
    workspace_id: str | None = None
    methods: tuple[str, ...] = ()
    path_prefix: str | None = None

    def matches(self, call: CallInfo) -> bool:
        """Whether ``call`` is inside this scope."""
        return (
            (self.key_last4 is None or call.key_last4 == self.key_last4)
            and (self.workspace_id is None or call.workspace_id == self.workspace_id)
            and (not self.methods or call.method in self.methods)
            and (self.path_prefix is None or call.path.startswith(self.path_prefix))
        )


@dataclass(frozen=True)
class CallInfo:
    """What a fault scope can look at."""

    method: str
    path: str
    key_last4: str | None
    workspace_id: str | None


@dataclass
class FaultRule:
    """A set of faults and the scope they apply to."""

    scope: FaultScope = field(default_factory=FaultScope)
    latency: Latency | None = None
    error_rates: dict[int, float] = field(default_factory=dict)
    error_body: str = "auto"
    storm_until: float | None = None  # monotonic clock
    storm_fraction: float = 0.0
    storm_retry_after: int = 1
    revoked: bool = False
    payment_required: bool = False
    delete_not_found: bool = False
    delete_success_body: str | None = None
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], now: float | None = None) -> FaultRule:
        """Build a rule from JSON-like data; raise ValueError for anything unknown or invalid."""
        known = {
            "scope", "latency", "latency_ms", "error_rates", "error_body", "storm_seconds",
            "storm_fraction", "storm_retry_after", "revoked", "payment_required",
            "delete_not_found", "delete_success_body", "drop_rate", "slow_rate", "slow_ms",
        }  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        current = time.monotonic() if now is None else now
        rule = cls()
        scope = data.get("scope") or {}
        if not isinstance(scope, Mapping):
            raise ValueError("scope must be an object")
        methods = scope.get("methods") or ()
        rule.scope = FaultScope(
            key_last4=scope.get("key_last4"),
            workspace_id=scope.get("workspace_id"),
            methods=tuple(str(m).upper() for m in methods),
            path_prefix=scope.get("path_prefix"),
        )
        latency = data.get("latency")
        if isinstance(latency, Mapping):
            rule.latency = Latency(
                distribution=str(latency.get("distribution", "fixed")),
                mean_ms=float(latency.get("mean_ms", 0)),
                jitter_ms=float(latency.get("jitter_ms", 0)),
            )
            if rule.latency.distribution not in DISTRIBUTIONS:
                raise ValueError(f"latency distribution must be one of {DISTRIBUTIONS}")
        elif data.get("latency_ms") is not None:
            rule.latency = Latency(mean_ms=float(data["latency_ms"]))
        rates = data.get("error_rates") or {}
        rule.error_rates = {int(status): _fraction(rate) for status, rate in rates.items()}
        if any(not 400 <= status <= 599 for status in rule.error_rates):
            raise ValueError("error_rates statuses must be 4xx or 5xx")
        rule.error_body = str(data.get("error_body", "auto"))
        if rule.error_body not in BODY_FORMATS:
            raise ValueError(f"error_body must be one of {BODY_FORMATS}")
        if data.get("storm_seconds"):
            rule.storm_until = current + float(data["storm_seconds"])
        rule.storm_fraction = _fraction(data.get("storm_fraction", 0))
        rule.storm_retry_after = max(1, int(data.get("storm_retry_after", 1)))
        rule.revoked = bool(data.get("revoked", False))
        rule.payment_required = bool(data.get("payment_required", False))
        rule.delete_not_found = bool(data.get("delete_not_found", False))
        success_body = data.get("delete_success_body")
        if success_body is not None and success_body not in SUCCESS_BODIES:
            raise ValueError(f"delete_success_body must be one of {SUCCESS_BODIES}")
        rule.delete_success_body = success_body
        rule.drop_rate = _fraction(data.get("drop_rate", 0))
        rule.slow_rate = _fraction(data.get("slow_rate", 0))
        rule.slow_ms = float(data.get("slow_ms", 0))
        return rule

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        """JSON-ready form (``storm_seconds`` is what remains of a storm)."""
        current = time.monotonic() if now is None else now
        scope = self.scope
        return {
            "scope": {
                "key_last4": scope.key_last4,
                "workspace_id": scope.workspace_id,
                "methods": list(scope.methods),
                "path_prefix": scope.path_prefix,
            },
            "latency": None
            if self.latency is None
            else {
                "distribution": self.latency.distribution,
                "mean_ms": self.latency.mean_ms,
                "jitter_ms": self.latency.jitter_ms,
            },
            "error_rates": {str(status): rate for status, rate in self.error_rates.items()},
            "error_body": self.error_body,
            "storm_seconds": max(0.0, self.storm_until - current) if self.storm_until else 0.0,
            "storm_fraction": self.storm_fraction,
            "storm_retry_after": self.storm_retry_after,
            "revoked": self.revoked,
            "payment_required": self.payment_required,
            "delete_not_found": self.delete_not_found,
            "delete_success_body": self.delete_success_body,
            "drop_rate": self.drop_rate,
            "slow_rate": self.slow_rate,
            "slow_ms": self.slow_ms,
        }


@dataclass
class Decision:
    """The faults that apply to one call, decided when it arrives."""

    latency: float = 0.0
    revoked: bool = False
    storm_retry_after: int | None = None
    payment_required: bool = False
    error_status: int | None = None
    error_body: str = "auto"
    delete_not_found: bool = False
    delete_success_body: str | None = None
    drop: bool = False
    slow: float = 0.0


class FaultInjector:
    """The active rules and a seeded random source, both behind a lock."""

    def __init__(self, seed: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)
        self._clock = clock

    def set_rules(self, rules: list[FaultRule]) -> None:
        """Replace every active rule."""
        with self._lock:
            self._rules = list(rules)

    def add_rule(self, rule: FaultRule) -> None:
        """Add a rule to the active ones."""
        with self._lock:
            self._rules.append(rule)

    def rules(self) -> list[dict[str, Any]]:
        """The active rules, JSON-ready."""
        with self._lock:
            now = self._clock()
            return [rule.to_dict(now) for rule in self._rules]

    def decide(self, call: CallInfo) -> Decision:
        """Roll the dice for one call against every rule whose scope matches it."""
        decision = Decision()
        with self._lock:
            now = self._clock()
            rng = self._rng
            for rule in self._rules:
                if not rule.scope.matches(call):
                    continue
                if rule.latency is not None:
                    decision.latency += rule.latency.sample(rng)
                decision.revoked |= rule.revoked
                storming = (rule.storm_until is not None and now < rule.storm_until) or (
                    rule.storm_fraction > 0 and rng.random() < rule.storm_fraction
                )
                if storming and decision.storm_retry_after is None:
                    decision.storm_retry_after = rule.storm_retry_after
                decision.payment_required |= rule.payment_required
                if decision.error_status is None:
                    for status, rate in rule.error_rates.items():
                        if rate > 0 and rng.random() < rate:
                            decision.error_status = status
                            decision.error_body = rule.error_body
                            break
                decision.delete_not_found |= rule.delete_not_found
                decision.delete_success_body = (
                    decision.delete_success_body or rule.delete_success_body
                )
                if rule.drop_rate > 0 and rng.random() < rule.drop_rate:
                    decision.drop = True
                if rule.slow_rate > 0 and rng.random() < rule.slow_rate:
                    decision.slow = max(decision.slow, rule.slow_ms / 1000)
        return decision


def _fraction(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not 0.0 <= number <= 1.0:
        raise ValueError("rates and fractions must be between 0 and 1")
    return number
