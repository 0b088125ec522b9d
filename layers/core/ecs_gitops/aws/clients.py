"""boto3 clients, built once per container, with adaptive retries.

Adaptive retry mode absorbs ECS throttling (client-side rate limiting plus
exponential backoff), so callers never sleep-and-retry by hand. Every call is
counted by operation: the benchmarks read `calls` to show what a reconcile costs.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ecs_gitops.errors import AwsError, NotFoundError

RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="ecs-gitops",
)

THROTTLING = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalFailure", "ServerException", "LimitExceededException",
}
NOT_FOUND = {
    "ServiceNotFoundException", "ClusterNotFoundException", "RepositoryNotFoundException",
    "ImageNotFoundException", "ParameterNotFound", "TargetGroupNotFound",
    "ObjectNotFoundException", "ResourceNotFoundException", "TargetGroupNotFoundException",
    "InvalidSubnetID.NotFound", "InvalidGroup.NotFound", "FileSystemNotFound",
}


class Clients:
    """One boto3 session and its clients; `endpoint_url` points them at moto."""

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.session.Session | None = None,
        config: Config = RETRY_CONFIG,
        embedded: bool = False,
    ) -> None:
        self.session = session or boto3.session.Session(region_name=region)
        self.region = region or self.session.region_name or os.environ.get(
            "AWS_DEFAULT_REGION", "us-east-1")
        self.endpoint_url = endpoint_url
        # True when these clients talk to the embedded AWS (moto), in-process or served.
        self.embedded = embedded or endpoint_url is not None
        self.config = config
        self.calls: Counter[str] = Counter()
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        """The boto3 client for `name` (built on first use, with `config`, counted by call)."""
        if name not in self._clients:
            session: Any = self.session  # the stubs overload client() per literal service name
            client = session.client(
                name, region_name=self.region, endpoint_url=self.endpoint_url, config=self.config
            )
            client.meta.events.register("before-call", self._count)
            self._clients[name] = client
        return self._clients[name]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    @cached_property
    def account_id(self) -> str:
        """This account's id (STS GetCallerIdentity, asked once)."""
        return str(self.client("sts").get_caller_identity()["Account"])

    @property
    def ecs(self) -> Any:
        """The ECS client."""
        return self.client("ecs")

    @property
    def autoscaling(self) -> Any:
        """The Application Auto Scaling client."""
        return self.client("application-autoscaling")


@contextmanager
def translate(operation: str) -> Iterator[None]:
    """Turn botocore errors into ours, marking throttling and outages as transient."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", ""))
        if code in NOT_FOUND:
            raise NotFoundError(operation, code, message) from exc
        raise AwsError(operation, code, message, transient=code in THROTTLING) from exc
    except BotoCoreError as exc:
        raise AwsError(operation, type(exc).__name__, str(exc), transient=True) from exc
