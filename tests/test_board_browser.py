"""The live board in a real browser: Debian's headless `chromium` loads it from `sla-engine serve`'s server.

The server answers as of the story's instant (tests/query_story.py) and stands there, so two loads of the
page differ only by how long the browser ran them: Chromium's virtual time (`--virtual-time-budget`) runs
the page's timers and clock that long at once. The proxy points nowhere, so the page works only if it needs
nothing from outside (its own server is on the loopback, which Chromium never proxies). A missing chromium
fails these tests, never skips them: `make test` installs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.serve import Served, serving
from tests.browser import headless
from tests.query_story import NOW, QUEUE, epoch, story_lines

AGENT_BOARD = "/v1/board?x-sla-scope=sla/agent"


def browse(url: str, profile: Path, *flags: str) -> str:
    return headless(url, profile, *flags).stdout


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Served, list[str]]]:
    requests: list[str] = []
    with serving(story_lines(), epoch(NOW), port=0, log=requests.append) as server:
        yield server, requests


def rows(dom: str) -> dict[str, tuple[str, str]]:
    """ticket -> (the row's class, its countdown), in the page's order."""
    found = {}
    for attributes, cells in re.findall(r"<tr (data-ticket=[^>]*)>(.*?)</tr>", dom, flags=re.DOTALL):
        ticket = re.search(r'data-ticket="([^"]+)"', attributes)
        kind = re.search(r'class="([^"]*)"', attributes)
        countdown = re.search(r'<td class="countdown">([^<]*)</td>', cells)
        assert ticket and countdown, attributes
        found[ticket.group(1)] = (kind.group(1) if kind else "", countdown.group(1))
    return found


def seconds(countdown: str) -> int:
    sign = -1 if countdown.startswith("−") else 1
    hours, minutes, secs = (int(part) for part in countdown.lstrip("−").split(":"))
    return sign * (hours * 3600 + minutes * 60 + secs)


def test_the_board_shows_the_queue_and_its_countdowns_tick(
    served: tuple[Served, list[str]], tmp_path: Path
) -> None:
    server, _ = served
    early = rows(
        browse(server.url + AGENT_BOARD, tmp_path / "early", "--virtual-time-budget=1500", "--dump-dom")
    )
    later = rows(
        browse(server.url + AGENT_BOARD, tmp_path / "later", "--virtual-time-budget=3500", "--dump-dom")
    )

    assert list(early) == list(later) == QUEUE
    assert early["T-A1"][0] == "breached"  # an hour overdue at 12:00, and counting
    assert all("breached" not in kind for ticket, (kind, _) in early.items() if ticket != "T-A1")
    # Two seconds later in the browser, every countdown moved by two seconds: down to the due instant, and
    # up for the breached one.
    for ticket in QUEUE:
        assert seconds(early[ticket][1]) - seconds(later[ticket][1]) == 2, ticket
    assert 298 <= seconds(early["T-B1"][1]) < 300  # due 12:05, five minutes after the server's 12:00
    assert seconds(early["T-A1"][1]) <= -3600


def test_the_board_refreshes_every_30_seconds_without_reloading(
    served: tuple[Served, list[str]], tmp_path: Path
) -> None:
    server, requests = served
    requests.clear()
    dom = browse(server.url + AGENT_BOARD, tmp_path / "refresh", "--virtual-time-budget=31500", "--dump-dom")

    assert requests.count("GET /v1/board") == 1  # loaded once
    assert requests.count("GET /v1/queue") == 2  # its data read at once, then after 30 s
    assert list(rows(dom)) == QUEUE
    assert "Updated" in dom


@pytest.mark.parametrize(("screen", "size"), [("laptop", "1366,768"), ("wall", "3840,2160")])
def test_a_screenshot_of_the_board(
    served: tuple[Served, list[str]], tmp_path: Path, screen: str, size: str
) -> None:
    server, _ = served
    shot = tmp_path / f"board-{screen}.png"
    browse(
        server.url + AGENT_BOARD,
        tmp_path / f"shot-{screen}",
        "--virtual-time-budget=2000",
        f"--window-size={size}",
        f"--screenshot={shot}",
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert f"{width},{height}" == size
