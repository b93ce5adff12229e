"""The on-call SNS topic: the alert as JSON, with attributes so subscribers can filter by route and kind.

Subscription filter policies on `route` and `kind` let each team subscribe to its own part of the ladder
without a code change (e.g. an SMS subscription that takes only `trigger` for `duty-manager`).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.notify.errors import from_aws
from sla.effects import Alert

MAX_SUBJECT = 99  # SNS subjects: under 100 ASCII characters, no line breaks
# json.dumps with an option builds an encoder per call; one, shared, writes the same text.
_MESSAGE_JSON = json.JSONEncoder(ensure_ascii=False)


def subject_for(summary: str) -> str:
    """The summary folded to what SNS accepts as an e-mail subject (ASCII, one line)."""
    text = summary.replace("—", "-").replace("\n", " ")
    # Most summaries are printable ASCII already, which both steps would hand back unchanged.
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if not text.isprintable():
        text = "".join(ch for ch in text if ch.isprintable())
    return text[:MAX_SUBJECT].strip() or "SLA alert"


class SnsPublisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, alert: Alert, document: Mapping[str, Any], summary: str) -> str:
        """Publish and return the SNS message id."""
        attributes = {
            "route": {"DataType": "String", "StringValue": alert.route},
            "paged_route": {"DataType": "String", "StringValue": alert.delivered_to},
            "kind": {"DataType": "String", "StringValue": alert.kind},
            "metric": {"DataType": "String", "StringValue": alert.metric},
        }
        if alert.support_level:
            attributes["support_level"] = {"DataType": "String", "StringValue": alert.support_level}
        try:
            answer = self.client.publish(
                TopicArn=self.topic_arn,
                Message=_MESSAGE_JSON.encode({**document, "summary": summary}),
                Subject=subject_for(summary),
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as error:
            raise from_aws(error, "sns") from error
        return str(answer["MessageId"])
