"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): one line of text per alert.

Only `text` is sent, the field every compatible server understands; the webhook URL is the credential,
so it comes from Secrets Manager and is never logged.
"""

from __future__ import annotations

from typing import Any

from infra.notify.http import JsonPoster
from sla.effects import Alert, AlertKind

_MARKS: dict[AlertKind, str] = {
    "warning": ":warning:",
    "trigger": ":rotating_light:",
    "acknowledge": ":eyes:",
    "resolve": ":white_check_mark:",
}


def message_for(alert: Alert, summary: str) -> dict[str, Any]:
    return {"text": f"{_MARKS[alert.kind]} {summary}"}


class SlackWebhook:
    def __init__(self, poster: JsonPoster) -> None:
        self.poster = poster

    def send(self, alert: Alert, webhook_url: str, summary: str) -> None:
        self.poster.post(webhook_url, message_for(alert, summary), "slack")
