"""The live board (`/v1/board`): one self-contained HTML page, and the headers that keep it self-contained.

The page (board.html) carries its style and script inline and fetches only the queue, beside it on the same
API: no script, font or style sheet from anywhere else. Its Content-Security-Policy says so to the browser
too: the inline script and style are allowed by their hashes, reads go to the page's own origin only, and
nothing else loads. The page takes the token it was opened with (`?access_token=`, kept for the tab and
taken off the address bar) to its queue reads; `no-referrer` keeps that address out of any Referer.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class BoardPage:
    html: str
    headers: dict[str, str]


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


@cache
def board_page() -> BoardPage:
    html = files("infra.query").joinpath("board.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src " + " ".join(_hash(s) for s in scripts),
            "style-src " + " ".join(_hash(s) for s in styles),
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        )
    )
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    return BoardPage(html, headers)
