"""boto3 clients, built once per container: standard retries, ECS calls paced.

ECS's API is paced on our side to its own token buckets (`ecs_gitops.aws.pacing`), one
bucket per throttling category, so that throttling is avoided rather than retried and a
throttled category never slows another. The clients use botocore's standard retry mode
(exponential backoff with jitter, throttling and transient errors retried), not the
adaptive mode, whose rate limiter is shared by every operation of a client. Callers
never sleep-and-retry by hand. Every call is counted by operation: the benchmarks read
`calls` to show what a reconcile costs.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ecs_gitops.aws.pacing import Pacer
from ecs_gitops.errors import AwsError, NotFoundError

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
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


# botocore's data loader (service models, endpoints) with its parsed-file cache, shared by
# every session this process makes: a Lambda container makes one, but the CLI, the
# embedded cloud and the tests make many, and parsing a service model again costs
# about 80 ms a client.
_LOADER: Any = None


def _new_session(region: str | None) -> boto3.session.Session:
    global _LOADER
    core = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core, region_name=region)


class Clients:
    """One boto3 session and its clients; `endpoint_url` points them at moto.

    Args:
        region: the Region (default: the session's, else AWS_DEFAULT_REGION, else
            us-east-1).
        endpoint_url: every client's endpoint (the embedded AWS), None for AWS.
        session: a boto3 session to use (default: a new one).
        config: botocore configuration (retries, timeouts).
        embedded: True when these clients talk to the embedded AWS.
        pacer: ECS's token buckets (default: the documented rates, `Pacer()`).
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.session.Session | None = None,
        config: Config = RETRY_CONFIG,
        embedded: bool = False,
        pacer: Pacer | None = None,
    ) -> None:
        self.session = session or _new_session(region)
        self.region = region or self.session.region_name or os.environ.get(
            "AWS_DEFAULT_REGION", "us-east-1")
        self.endpoint_url = endpoint_url
        # True when these clients talk to the embedded AWS (moto), in-process or served.
        self.embedded = embedded or endpoint_url is not None
        self.config = config
        self.pacer = pacer or Pacer()
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
            self.pacer.attach(client)
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
