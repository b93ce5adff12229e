"""Reading a JSON Lines file of events as `replay`, `report`, `sample` and `dlq --replay` take it.

Line by line, so that one bad line costs only itself: a byte order mark before the first line is dropped
(utf-8-sig), a line that is not UTF-8 text is kept as its bytes (to be reported by its number) and lines end
at a line feed or a carriage return only, never at the Unicode separators (U+2028...) a JSON string may
hold. A file with no line of text (binary) or holding a JSON array is not JSON Lines at all: NotJsonLines.
Light on purpose (no engine): the commands that only read a file import it.
"""

from __future__ import annotations

import json

BOM = b"\xef\xbb\xbf"
JSON_ARRAY = "expected one JSON object per line (JSONL); this looks like a JSON array"
BINARY = "not UTF-8 text (a binary file?); expected one JSON object per line (JSONL)"


class NotJsonLines(ValueError):
    """A file that is not JSON Lines at all (binary, a JSON array): nothing in it can be read as events."""


def decode_lines(data: bytes) -> list[str | bytes]:
    """The file's lines, in order, each as text or, when it is not UTF-8 text, as its bytes."""
    lines: list[str | bytes] = []
    for raw in data.removeprefix(BOM).splitlines():
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw)
    filled = [line for line in lines if line.strip()]
    texts = [line for line in filled if isinstance(line, str)]
    if filled and not texts:
        raise NotJsonLines(BINARY)
    if b"\x00" in data and not any(text.lstrip().startswith("{") for text in texts):
        raise NotJsonLines(BINARY)  # decodes, but as control characters: no line is even an object
    if texts and _json_array(texts):
        raise NotJsonLines(JSON_ARRAY)
    return lines


def _json_array(texts: list[str]) -> bool:
    """A file that is one JSON array (on one line or pretty-printed), not JSON Lines with a bad line."""
    first = texts[0].lstrip()
    if not first.startswith("["):
        return False
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        return True  # `[` opening an array over several lines
    return len(texts) == 1  # the whole file, an array on one line


def text_of(line: str | bytes) -> str:
    """A line as text, its undecodable bytes as U+FFFD: what a reason or a raw copy can quote."""
    return line if isinstance(line, str) else line.decode("utf-8", errors="replace")
