"""Shared fixtures: an in-process AWS (moto) and the resources of template.yaml built on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local_stack import LocalResources, create_resources

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A moto backend with fake credentials, so no test can reach (or bill) a real account."""
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def resources(aws: boto3.Session) -> LocalResources:
    """Table, queues, topics and bus exactly as template.yaml declares them."""
    return create_resources(aws)


@pytest.fixture
def table(aws: boto3.Session, resources: LocalResources) -> Any:
    """The boto3 Table resource of SlaTable."""
    return aws.resource("dynamodb").Table(resources.table_name)
