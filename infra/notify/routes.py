"""Routes (the names in the catalog's ladders) and their channels, as configuration in SSM Parameter Store.

The parameter holds JSON like:

    {"oncall-l2": [{"type": "sns"}, {"type": "pagerduty", "secret": "sla-engine/pagerduty/oncall-l2"}],
     "account-manager": [{"type": "sns"}, {"type": "slack", "secret": "sla-engine/slack/account-manager"}]}

Only secret *names* live here; the PagerDuty integration keys and webhook URLs stay in Secrets Manager
(SPEC 6). Both are read at use through Powertools Parameters with a cache, never at import, so an
operator's change takes effect within `max_age` seconds without a deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, model_validator

from infra.notify.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from sla.effects import AlertKind

ALL_KINDS: frozenset[AlertKind] = frozenset({"warning", "trigger", "acknowledge", "resolve"})
# A warning is a heads-up, not an incident: it would open a PagerDuty incident that no resolve ever closes
# when the clock is then met in time.
PAGERDUTY_KINDS: frozenset[AlertKind] = frozenset({"trigger", "acknowledge", "resolve"})


class RoutesConfigError(Exception):
    """The routes parameter is missing or invalid: every alert is affected, so the batch is retried."""


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    kinds: frozenset[AlertKind] = ALL_KINDS

    def takes(self, kind: AlertKind) -> bool:
        return kind in self.kinds

    @property
    def key(self) -> str:
        """Identifies the channel within a route, for idempotency: two webhooks of one type stay distinct."""
        return self.type


class SnsChannel(_Channel):
    type: Literal["sns"]


class PagerDutyChannel(_Channel):
    type: Literal["pagerduty"]
    secret: str = Field(min_length=1, description="Secrets Manager name of the Events API v2 integration key")
    kinds: frozenset[AlertKind] = PAGERDUTY_KINDS

    @property
    def key(self) -> str:
        return f"{self.type}:{self.secret}"


class SlackChannel(_Channel):
    type: Literal["slack"]
    secret: str = Field(min_length=1, description="Secrets Manager name of the incoming-webhook URL")

    @property
    def key(self) -> str:
        return f"{self.type}:{self.secret}"


ChannelConfig = Annotated[SnsChannel | PagerDutyChannel | SlackChannel, Field(discriminator="type")]


class Routes(RootModel[dict[Annotated[str, Field(min_length=1)], list[ChannelConfig]]]):
    """Route name -> channels. A route with no channel is an error: it would drop alerts silently."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _each_route_delivers(self) -> Routes:
        for route, channels in self.root.items():
            if not channels:
                raise ValueError(f"route {route!r} has no channel")
            keys = [channel.key for channel in channels]
            if len(set(keys)) != len(keys):
                raise ValueError(f"route {route!r} lists a channel twice")
            if not any(channel.kinds for channel in channels):
                raise ValueError(f"route {route!r}: no channel takes any alert kind")
        return self

    def channels(self, route: str) -> list[ChannelConfig] | None:
        return self.root.get(route)

    def secret_names(self) -> set[str]:
        return {
            channel.secret
            for channels in self.root.values()
            for channel in channels
            if isinstance(channel, PagerDutyChannel | SlackChannel)
        }


def parse_routes(data: Any, secrets_prefix: str = "") -> Routes:
    """Validate the routes document; a secret outside the notifier's prefix could never be read (IAM)."""
    try:
        routes = Routes.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()
        )
        raise RoutesConfigError(problems) from None
    outside = sorted(name for name in routes.secret_names() if not name.startswith(secrets_prefix))
    if outside:
        raise RoutesConfigError(f"secrets outside the prefix {secrets_prefix!r}: {', '.join(outside)}")
    return routes


class RouteSource:
    """The routes parameter and the channel secrets, read at use and cached for `max_age` seconds."""

    def __init__(
        self,
        ssm: SSMProvider,
        secrets: SecretsProvider,
        parameter_name: str,
        secrets_prefix: str,
        max_age: int = 300,
    ) -> None:
        self.ssm = ssm
        self.secrets = secrets
        self.parameter_name = parameter_name
        self.secrets_prefix = secrets_prefix
        self.max_age = max_age
        self._parsed: tuple[Any, Routes] | None = None  # the document last validated, and its routes

    def routes(self) -> Routes:
        """The routes in force. The provider hands back its cached document until `max_age` runs out; that
        document is validated once, not for every alert."""
        try:
            data = self.ssm.get(self.parameter_name, transform="json", max_age=self.max_age)
        except TransformParameterError as error:
            raise RoutesConfigError(f"{self.parameter_name}: not JSON ({error})") from None
        except GetParameterError as error:
            raise RoutesConfigError(f"{self.parameter_name}: cannot be read ({_cause(error)})") from None
        if self._parsed is None or self._parsed[0] is not data:
            self._parsed = (data, parse_routes(data, self.secrets_prefix))
        return self._parsed[1]

    def secret(self, name: str) -> str:
        """A secret's value; a missing one is permanent (the effect is parked), throttling is transient."""
        try:
            value = self.secrets.get(name, max_age=self.max_age)
        except GetParameterError as error:
            raise _secret_error(error) from None
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str) or not value.strip():
            raise PermanentDeliveryError("secret_empty", f"secret {name} has no string value")
        return value.strip()


def _cause(error: BaseException) -> str:
    cause = error.__cause__ or error.__context__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", "ClientError"))
    return type(cause or error).__name__


def _secret_error(error: GetParameterError) -> DeliveryError:
    code = _cause(error)
    if code in (
        "ResourceNotFoundException",
        "InvalidRequestException",
        "DecryptionFailure",
        "AccessDeniedException",
    ):
        return PermanentDeliveryError(f"secret_{code}", "the channel's secret cannot be used")
    return TransientDeliveryError(f"secret_{code}", "the channel's secret could not be read")


def default_routes(prefix: str) -> Mapping[str, list[dict[str, Any]]]:
    """The routes of the default catalog's ladders (SPEC 2) and support lines (SPEC 10: `oncall-l1`, the
    second line's fallback, and `oncall-l3`), every one on the SNS topic as well."""
    return {
        "oncall-l1": [{"type": "sns"}, {"type": "pagerduty", "secret": f"{prefix}pagerduty/oncall-l1"}],
        "oncall-l2": [{"type": "sns"}, {"type": "pagerduty", "secret": f"{prefix}pagerduty/oncall-l2"}],
        "oncall-l3": [{"type": "sns"}, {"type": "pagerduty", "secret": f"{prefix}pagerduty/oncall-l3"}],
        "duty-manager": [{"type": "sns"}, {"type": "pagerduty", "secret": f"{prefix}pagerduty/duty-manager"}],
        "account-manager": [{"type": "sns"}, {"type": "slack", "secret": f"{prefix}slack/account-manager"}],
    }
