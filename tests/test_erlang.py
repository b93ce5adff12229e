"""Erlang C (`sla.erlang`) against values worked by hand and against the closed formula in exact arithmetic.

The closed formula, for N agents offered A Erlangs (N > A):

    C(N, A) = (A^N / N! · N / (N − A)) / (Σ_{k<N} A^k / k! + A^N / N! · N / (N − A))

is computed here with integers and fractions, so it is exact at any size; the implementation under test uses
the Erlang B recursion in floats and must agree to 1e-12 relative, including where the formula's terms
would overflow a float (A^N / N! with N in the hundreds).

By hand:
- C(3, 2): A^3/3! · 3/(3 − 2) = 8/6 · 3 = 4; Σ_{k<3} 2^k/k! = 1 + 2 + 2 = 5; C = 4 / (5 + 4) = 4/9.
- C(5, 3), the textbook call centre (a call a minute, 3 minutes each, 5 agents): 3^5/5! · 5/2 = 5.0625;
  Σ_{k<5} 3^k/k! = 1 + 3 + 4.5 + 4.5 + 3.375 = 16.375; C = 5.0625 / 21.4375 = 0.23615…, so 76.4 % of the
  calls are answered at once.
- C(1, A) = A: one agent is busy a share A of the time, and a call waits exactly then.
- Erlang B, 10 lines offered 5 Erlangs: 0.018385 (the classic table's 1.8 % blocking at 5 Erlangs).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from sla.erlang import agents_for_mix, agents_needed, erlang_b, erlang_c, service_level


def exact_c(servers: int, load: Fraction) -> Fraction:
    """The closed formula, exactly: every term multiplied by N! so the sum is of integers over powers."""
    factorial = math.factorial(servers)
    below = sum(load**k * Fraction(factorial, math.factorial(k)) for k in range(servers))
    top = load**servers * Fraction(servers) / (servers - load)
    return top / (below + top)


def exact_level(servers: int, load: Fraction, handling: float, target: float) -> float:
    waiting = float(exact_c(servers, load))
    return 1.0 - waiting * math.exp(-(servers - float(load)) * target / handling)


def test_values_worked_by_hand() -> None:
    assert erlang_c(3, 2) == pytest.approx(4 / 9, rel=1e-14)
    assert erlang_c(5, 3) == pytest.approx(5.0625 / 21.4375, rel=1e-14)
    assert round(1 - erlang_c(5, 3), 3) == 0.764
    for load in (0.1, 0.5, 0.9):
        assert erlang_c(1, load) == pytest.approx(load, rel=1e-14)
    assert erlang_b(10, 5) == pytest.approx(0.018385, abs=5e-7)


@pytest.mark.parametrize("load", [Fraction(1, 2), Fraction(2), Fraction(5), Fraction(47, 2), Fraction(100)])
def test_erlang_c_is_the_closed_formula(load: Fraction) -> None:
    first = math.floor(load) + 1
    for servers in range(first, first + 20):
        assert erlang_c(servers, float(load)) == pytest.approx(float(exact_c(servers, load)), rel=1e-12)


def test_large_loads_stay_exact_where_the_textbook_formula_overflows() -> None:
    load, servers = 900, 950
    with pytest.raises(OverflowError):
        float(load) ** servers / math.factorial(servers)  # the textbook formula's first term, in floats
    assert erlang_c(servers, load) == pytest.approx(float(exact_c(servers, Fraction(load))), rel=1e-12)


def test_an_overloaded_queue_always_waits_and_never_meets_a_target() -> None:
    assert erlang_c(4, 4.0) == 1.0
    assert erlang_c(3, 7.5) == 1.0
    assert service_level(3, 7.5, 600, 3600) == 0.0


@pytest.mark.parametrize(
    ("load", "handling", "target", "probability"),
    [
        (0.4, 1500, 1800, 0.8),
        (11.1, 2513, 900, 0.8),
        (48, 240, 15, 0.9),
        (48, 240, 20, 0.8),
        (300, 600, 60, 0.95),
    ],
)
def test_agents_needed_is_the_least_number_that_reaches_the_probability(
    load: float, handling: float, target: float, probability: float
) -> None:
    needed = agents_needed(load, handling, target, probability)
    exact = Fraction(load)
    assert exact_level(needed, exact, handling, target) >= probability
    fewer = needed - 1
    assert fewer <= load or exact_level(fewer, exact, handling, target) < probability


def test_the_worked_staffing_hour_of_the_what_if_test() -> None:
    """One ticket an hour, 25 minutes of work each: A = 5/12. One agent answers 89.7 % within an hour
    (1 − 5/12 · e^(−7/12 · 3600/1500)) but only 79.3 % within 30 minutes, so a 30-minute promise needs two."""
    load = 1500 / 3600
    assert service_level(1, load, 1500, 3600) == pytest.approx(1 - load * math.exp(-1.4), rel=1e-12)
    assert service_level(1, load, 1500, 1800) == pytest.approx(1 - load * math.exp(-0.7), rel=1e-12)
    assert agents_needed(load, 1500, 3600, 0.8) == 1
    assert agents_needed(load, 1500, 1800, 0.8) == 2


def test_a_mix_of_targets_weighs_each_by_its_tickets() -> None:
    load, handling = 10.0, 1200.0
    tight, loose = agents_needed(load, handling, 60, 0.8), agents_needed(load, handling, 7200, 0.8)
    assert tight > loose
    assert agents_for_mix(load, handling, [(60, 1)], 0.8) == tight
    mixed = agents_for_mix(load, handling, [(60, 1), (7200, 9)], 0.8)
    assert loose <= mixed <= tight

    def share(servers: int) -> float:
        tight_share = service_level(servers, load, handling, 60)
        return (tight_share + 9 * service_level(servers, load, handling, 7200)) / 10

    assert share(mixed) >= 0.8 > share(mixed - 1)


def test_no_load_needs_no_agent_and_bad_inputs_are_refused() -> None:
    assert agents_needed(0, 600, 60, 0.8) == 0
    for probability in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="probability"):
            agents_needed(2, 600, 60, probability)
    with pytest.raises(ValueError, match="load"):
        erlang_c(2, float("nan"))
    with pytest.raises(ValueError, match="servers"):
        erlang_b(-1, 1.0)
