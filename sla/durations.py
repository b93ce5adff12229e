"""Human-written durations ("4h", "1h30m") as integer seconds, the unit of every SLA computation."""

import re
from typing import Annotated

from pydantic import BeforeValidator

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(text: object) -> int:
    """Turn "4h", "30m", "1h30m", "2d" or "90s" into seconds; anything else, zero or negative, is an error."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError("must be a duration string like '4h' or '30m'")
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration like '4h', '30m' or '1h30m'")
    seconds = sum(int(value) * _UNIT_SECONDS[unit] for unit, value in match.groupdict().items() if value)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be a positive duration")
    return seconds


def format_duration(seconds: int) -> str:
    """The inverse of parse_duration, for tables and JSON that people read."""
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[int, BeforeValidator(parse_duration)]
