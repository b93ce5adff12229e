"""Erlang C: how many agents a queue of tickets needs so that most are answered within a target.

The model is M/M/N (Erlang's delay system): tickets arrive at random (Poisson) at a rate λ, each takes an
agent a mean handling time h (exponentially distributed), N agents take them first come first served, and
nobody gives up. The offered load is A = λ·h Erlangs (how many agents would be busy on average).

- `erlang_c(N, A)` is the probability that a ticket has to wait at all.
- `service_level(N, A, h, t)` = 1 − C(N, A)·exp(−(N − A)·t / h) is the probability that it waits at most t.
- `agents_needed(A, h, t, p)` is the least N whose service level reaches p; `agents_for_mix` the least N
  that takes a share p of the tickets within each one's own target, when they are owed different ones.

Numerically stable for any load a support desk has: the textbook formula divides A^N / N! by a sum of such
terms, which overflows a float past N ≈ 170 and loses precision long before. Erlang B has a recursion that
stays in [0, 1], B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)), and C follows from it:
C = N·B / (N − A·(1 − B)). Pure functions of floats: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _check(servers: int, load: float) -> None:
    if servers < 0:
        raise ValueError(f"servers must be 0 or more, got {servers}")
    if not math.isfinite(load) or load < 0:
        raise ValueError(f"load must be a finite number of Erlangs, 0 or more, got {load}")


def erlang_b(servers: int, load: float) -> float:
    """The probability that all `servers` are busy in a loss system offered `load` Erlangs (Erlang B)."""
    _check(servers, load)
    blocking = 1.0
    for n in range(1, servers + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def _c_from_b(servers: int, load: float, blocking: float) -> float:
    if servers <= load:
        return 1.0  # an overloaded queue: every ticket waits, and the wait grows without end
    return servers * blocking / (servers - load * (1.0 - blocking))


def erlang_c(servers: int, load: float) -> float:
    """The probability that a ticket waits for an agent (Erlang C); 1 when the agents cannot keep up."""
    return _c_from_b(servers, load, erlang_b(servers, load))


def _level(servers: int, load: float, handling: float, target: float, waiting: float) -> float:
    if servers <= load:
        return 0.0 if load > 0 else 1.0
    return 1.0 - waiting * math.exp(-(servers - load) * target / handling)


def service_level(servers: int, load: float, handling: float, target: float) -> float:
    """The probability that a ticket is taken within `target` (seconds) by `servers` agents offered `load`
    Erlangs of mean handling time `handling` (seconds); 0 when the agents cannot keep up."""
    if handling <= 0 or target < 0:
        raise ValueError("handling must be positive and target 0 or more")
    return _level(servers, load, handling, target, erlang_c(servers, load))


def agents_needed(load: float, handling: float, target: float, probability: float) -> int:
    """The least number of agents that take a ticket within `target` seconds with `probability` (0 < p < 1)."""
    return agents_for_mix(load, handling, ((target, 1.0),), probability)


def agents_for_mix(
    load: float, handling: float, targets: Sequence[tuple[float, float]], probability: float
) -> int:
    """The least number of agents such that a share `probability` of the tickets is taken within its own
    target, one first-come-first-served queue for all: `targets` are (target seconds, weight), the weights
    the tickets owed each target. Σ weight × service_level(target) / Σ weight grows with the agents.

    No load needs no agent. One pass of the Erlang B recursion up to the answer: the agents are tried from
    the first number that can keep up (N > A), each step reusing the previous blocking probability, so the
    cost is O(N) whatever the load.
    """
    _check(0, load)
    if not 0 < probability < 1:
        raise ValueError(f"probability must be between 0 and 1, exclusive, got {probability}")
    total = sum(weight for _, weight in targets)
    if handling <= 0 or any(target < 0 or weight < 0 for target, weight in targets) or total <= 0:
        raise ValueError("handling must be positive, targets 0 or more, and some weight positive")
    if load == 0:
        return 0
    servers = math.floor(load) + 1
    blocking = erlang_b(servers, load)
    while True:
        waiting = _c_from_b(servers, load, blocking)
        met = sum(weight * _level(servers, load, handling, target, waiting) for target, weight in targets)
        if met / total >= probability:
            return servers
        servers += 1
        blocking = load * blocking / (servers + load * blocking)
