"""Customer notifications by SES: plain text, UTF-8, from the one verified sender the notifier may use."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.notify.errors import from_aws
from sla.messages import CustomerMessage

CHARSET = "UTF-8"


class SesMailer:
    def __init__(self, client: Any, sender: str) -> None:
        self.client = client
        self.sender = sender

    def send(self, to: str, message: CustomerMessage) -> str:
        """Send and return the SES message id; a rejected address is permanent, throttling transient."""
        try:
            answer = self.client.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": CHARSET},
                    "Body": {"Text": {"Data": message.body, "Charset": CHARSET}},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise from_aws(error, "ses") from error
        return str(answer["MessageId"])
