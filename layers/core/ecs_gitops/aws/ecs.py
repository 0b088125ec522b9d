"""ECS adapter: services and task definitions as typed snapshots.

Task definitions are immutable, so `describe_task_definition` results (and the
responses of our own registrations) are cached by ARN for the life of the
container: a warm no-op reconcile costs only the DescribeServices batches. With a
`TaskDefinitionMemory` (the state table), they are also remembered across containers:
a fresh container reads the running definitions in batches of 100 (BatchGetItem)
instead of one DescribeTaskDefinition each (ECS's task definition read bucket refills
at 20 a second), and the definitions it registers are remembered at the next safe
point (`flush`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ecs_gitops.actual import DeploymentSnapshot, ServiceSnapshot, TaskDefinitionSnapshot
from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.errors import AwsError, NotFoundError, TimeoutExpiredError
from ecs_gitops.render import normalize_task_definition, register_input, reported_service_fields
from ecs_gitops.store import TaskDefinitionMemory

DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services per call
REMEMBER_BATCH = 25  # one BatchWriteItem

# The per-container cache of immutable task definitions: by endpoint, then by ARN. An
# ARN names one task definition for ever in an account and region (revisions are never
# reused), but a process that talks to several embedded AWS (tests; a CLI session after
# `local up --reset`) meets the same ARN for different task definitions.
_TASK_DEFINITIONS: dict[str, dict[str, TaskDefinitionSnapshot]] = {}


def clear_cache() -> None:
    """Forget every cached task definition (a new container; tests)."""
    _TASK_DEFINITIONS.clear()


def _td_snapshot(raw: Mapping[str, Any], tags: Any = None) -> TaskDefinitionSnapshot:
    data = dict(raw)
    if tags:
        data["tags"] = tags
    return TaskDefinitionSnapshot(
        arn=raw["taskDefinitionArn"], family=raw["family"], revision=int(raw["revision"]),
        spec=normalize_task_definition(data), raw=data,
    )


service_fields = reported_service_fields


def _service_snapshot(raw: Mapping[str, Any]) -> ServiceSnapshot:
    deployments = tuple(
        DeploymentSnapshot(
            id=d.get("id", ""), status=d.get("status", ""),
            task_definition=d.get("taskDefinition", ""), rollout_state=d.get("rolloutState"),
            desired_count=int(d.get("desiredCount", 0)), running_count=int(d.get("runningCount", 0)),
        )
        for d in raw.get("deployments") or ()
    )
    return ServiceSnapshot(
        name=raw["serviceName"], arn=raw["serviceArn"], status=raw.get("status", "ACTIVE"),
        task_definition=raw.get("taskDefinition", ""),
        desired_count=int(raw.get("desiredCount", 0)),
        running_count=int(raw.get("runningCount", 0)),
        pending_count=int(raw.get("pendingCount", 0)),
        raw_fields=service_fields(raw),
        tags={t["key"]: t.get("value", "") for t in raw.get("tags") or ()},
        deployments=deployments,
    )


def _document(raw: Mapping[str, Any]) -> str:
    """A task definition as remembered: DescribeTaskDefinition's `taskDefinition` with
    its `tags`, as JSON (dates as text)."""
    return json.dumps(raw, default=str, separators=(",", ":"), sort_keys=True)


class EcsAdapter:
    """ECS calls as typed snapshots; task definitions cached by ARN for the container's
    life, and remembered across containers when a `memory` is given.

    Args:
        clients: the container's clients.
        memory: where task definitions are remembered by ARN (the state table), or None.
    """

    def __init__(self, clients: Clients, memory: TaskDefinitionMemory | None = None) -> None:
        self.clients = clients
        self.memory = memory
        self._unremembered: dict[str, str] = {}  # ARN -> document, to write at `flush`

    def task_definitions(self, arns: Iterable[str]) -> dict[str, TaskDefinitionSnapshot]:
        """The task definitions `arns`, by ARN: from this container's cache, then the
        memory (batched reads), then DescribeTaskDefinition for the rest (remembered
        for the next container).

        Raises:
            AwsError: a DescribeTaskDefinition failed (NotFoundError: no such ARN).
        """
        wanted = list(dict.fromkeys(arns))
        out = {a: self._cache[a] for a in wanted if a in self._cache}
        missing = [a for a in wanted if a not in out]
        if missing and self.memory is not None:
            for arn, document in self.memory.task_definition_documents(missing).items():
                try:
                    snapshot = _td_snapshot(json.loads(document))
                except (ValueError, KeyError, TypeError):
                    continue  # unreadable: described again below
                if snapshot.arn == arn:
                    self._cache[arn] = out[arn] = snapshot
        described: dict[str, str] = {}
        for arn in (a for a in wanted if a not in out):
            snapshot = self.describe_task_definition(arn)
            out[arn] = snapshot
            described[snapshot.arn] = _document(snapshot.raw)
        if described and self.memory is not None:
            self.memory.remember_task_definitions(described)
        return out

    def flush(self) -> None:
        """Remember the task definitions registered since the last flush (batched)."""
        if self._unremembered and self.memory is not None:
            pending, self._unremembered = self._unremembered, {}
            self.memory.remember_task_definitions(pending)

    @property
    def _cache(self) -> dict[str, TaskDefinitionSnapshot]:
        """This endpoint's part of the container's task-definition cache."""
        return _TASK_DEFINITIONS.setdefault(self.clients.endpoint_url or "", {})

    @property
    def _ecs(self) -> Any:
        return self.clients.ecs

    def list_service_names(self, cluster: str) -> list[str]:
        """Every service name in `cluster` (ListServices, 100 per page, all pages)."""
        names: list[str] = []
        with translate("ListServices"):
            for page in self._ecs.get_paginator("list_services").paginate(
                cluster=cluster, PaginationConfig={"PageSize": 100}
            ):
                names += [arn.rsplit("/", 1)[-1] for arn in page.get("serviceArns", ())]
        return names

    def describe_services(self, cluster: str, names: Iterable[str]) -> dict[str, ServiceSnapshot]:
        """ACTIVE services among `names`, in batches of 10, with their tags."""
        wanted = list(dict.fromkeys(names))
        out: dict[str, ServiceSnapshot] = {}
        for start in range(0, len(wanted), DESCRIBE_BATCH):
            batch = wanted[start:start + DESCRIBE_BATCH]
            with translate("DescribeServices"):
                response = self._ecs.describe_services(
                    cluster=cluster, services=batch, include=["TAGS"])
            for raw in response.get("services", ()):
                if raw.get("status") == "ACTIVE":
                    snapshot = _service_snapshot(raw)
                    out[snapshot.name] = snapshot
        return out

    def describe_task_definition(self, arn: str) -> TaskDefinitionSnapshot:
        """The task definition `arn` (DescribeTaskDefinition at most once per ARN)."""
        cached = self._cache.get(arn)
        if cached is not None:
            return cached
        with translate("DescribeTaskDefinition"):
            response = self._ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        snapshot = _td_snapshot(response["taskDefinition"], response.get("tags"))
        self._cache[snapshot.arn] = snapshot
        return snapshot

    def latest_revision(self, family: str) -> TaskDefinitionSnapshot | None:
        """The family's latest ACTIVE revision (not cacheable: it moves), or None."""
        try:
            with translate("DescribeTaskDefinition"):
                response = self._ecs.describe_task_definition(taskDefinition=family,
                                                              include=["TAGS"])
        except NotFoundError:
            return None
        except AwsError as exc:
            if exc.code == "ClientException":  # ECS says "Unable to describe task definition"
                return None
            raise
        snapshot = _td_snapshot(response["taskDefinition"], response.get("tags"))
        self._cache.setdefault(snapshot.arn, snapshot)
        return snapshot

    def register_task_definition(self, spec: Mapping[str, Any]) -> TaskDefinitionSnapshot:
        """RegisterTaskDefinition of a normalised spec; the new revision's snapshot."""
        with translate("RegisterTaskDefinition"):
            response = self._ecs.register_task_definition(**register_input(spec))
        snapshot = _td_snapshot(response["taskDefinition"], response.get("tags"))
        self._cache[snapshot.arn] = snapshot
        if self.memory is not None:
            self._unremembered[snapshot.arn] = _document(snapshot.raw)
            if len(self._unremembered) >= REMEMBER_BATCH:
                self.flush()
        return snapshot

    def create_service(self, inputs: Mapping[str, Any]) -> str | None:
        """CreateService; the id of the deployment ECS started (None if not reported)."""
        with translate("CreateService"):
            response = self._ecs.create_service(**inputs)
        return primary_deployment_id(response.get("service") or {})

    def update_service(self, cluster: str, service: str, fields: Mapping[str, Any]
                       ) -> str | None:
        """UpdateService with `fields`; the id of the PRIMARY deployment after the call
        (a new one when the call started a deployment, e.g. a new task definition)."""
        with translate("UpdateService"):
            response = self._ecs.update_service(cluster=cluster, service=service, **fields)
        return primary_deployment_id(response.get("service") or {})

    def delete_service(self, cluster: str, service: str) -> None:
        """DeleteService with force=True (ECS scales it to zero and stops its tasks)."""
        with translate("DeleteService"):
            self._ecs.delete_service(cluster=cluster, service=service, force=True)

    def replace_service(self, cluster: str, service: str, inputs: Mapping[str, Any], *,
                        delay: float = 15.0, attempts: int = 40) -> str | None:
        """DeleteService (force), wait until ECS reports it INACTIVE, CreateService.

        ECS refuses to create a service while one of the same name is DRAINING
        (CreateService: "Creation of service was not idempotent"), so the wait is
        botocore's `services_inactive` waiter (15 s between polls by default)."""
        self.delete_service(cluster, service)
        with translate("DescribeServices"):
            self._ecs.get_waiter("services_inactive").wait(
                cluster=cluster, services=[service],
                WaiterConfig={"Delay": delay, "MaxAttempts": attempts})
        return self.create_service(inputs)

    def tag_service(self, arn: str, set_tags: Mapping[str, str], remove: tuple[str, ...]
                    ) -> None:
        """TagResource for new or changed tags, UntagResource for removed ones."""
        if set_tags:
            with translate("TagResource"):
                self._ecs.tag_resource(resourceArn=arn, tags=[
                    {"key": k, "value": v} for k, v in set_tags.items()])
        if remove:
            with translate("UntagResource"):
                self._ecs.untag_resource(resourceArn=arn, tagKeys=list(remove))

    def wait_stable(
        self,
        cluster: str,
        names: list[str],
        *,
        timeout: float,
        interval: float = 5.0,
        on_progress: Callable[[dict[str, ServiceSnapshot]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, ServiceSnapshot]:
        """Poll until every service has one deployment, COMPLETED, running == desired."""
        deadline = clock() + timeout
        while True:
            services = self.describe_services(cluster, names)
            if on_progress:
                on_progress(services)
            if all(is_stable(services.get(n)) for n in names):
                return services
            if clock() >= deadline:
                waiting = [n for n in names if not is_stable(services.get(n))]
                raise TimeoutExpiredError(
                    f"not stable after {timeout:.0f}s: {', '.join(waiting)}")
            sleep(interval)


def primary_deployment_id(raw_service: Mapping[str, Any]) -> str | None:
    """The PRIMARY deployment's id in a CreateService/UpdateService/DescribeServices
    `service` (ECS lists the newest, PRIMARY, deployment first)."""
    for deployment in raw_service.get("deployments") or ():
        if deployment.get("status") == "PRIMARY" and deployment.get("id"):
            return str(deployment["id"])
    return None


def is_stable(service: ServiceSnapshot | None) -> bool:
    """One deployment, COMPLETED (or unreported), running == desired: what
    `aws ecs wait services-stable` waits for, plus the rollout state.
    """
    if service is None:
        return False
    return (
        len(service.deployments) <= 1
        and service.rollout_state in ("COMPLETED", "UNKNOWN")
        and service.running_count == service.desired_count
    )
