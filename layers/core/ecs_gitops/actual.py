"""Typed snapshots of what AWS reports. Raw boto3 dicts stop at the adapters.

A snapshot holds the managed fields already normalised (see `render`), so the
planner compares like with like and never looks at a raw response.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecs_gitops.render import Refs


@dataclass(frozen=True, slots=True)
class TaskDefinitionSnapshot:
    """A registered task definition: its ARN, family, revision and normalised spec.

    `spec` is `render.normalize_task_definition` of what DescribeTaskDefinition (or
    RegisterTaskDefinition) returned, so it compares equal to a rendered definition that
    means the same. Task definitions are immutable: a snapshot never goes stale.
    """
    arn: str
    family: str
    revision: int
    spec: Mapping[str, Any]  # normalize_task_definition(...) of the registered definition
    raw: Mapping[str, Any] = field(default_factory=dict)  # as ECS reported it (import)

    @property
    def label(self) -> str:
        """`family:revision`, as ECS names a revision."""
        return f"{self.family}:{self.revision}"

    def image(self, container: str | None = None) -> str | None:
        """The image URI of `container`; by default of the first container as registered
        (ecs-gitops registers the app container first), or None without containers."""
        containers = list(self.raw.get("containerDefinitions") or ()) or list(
            self.spec.get("containerDefinitions") or ())
        for c in containers:
            if container is not None and c.get("name") == container:
                return str(c.get("image"))
        return containers[0].get("image") if containers else None


@dataclass(frozen=True, slots=True)
class DeploymentSnapshot:
    """One entry of DescribeServices' `deployments`: PRIMARY is the newest."""
    id: str
    status: str  # PRIMARY | ACTIVE | INACTIVE
    task_definition: str
    rollout_state: str | None  # IN_PROGRESS | COMPLETED | FAILED
    desired_count: int
    running_count: int


@dataclass(frozen=True, slots=True)
class ServiceSnapshot:
    """An ACTIVE service as DescribeServices reported it (counts, deployments, tags, and the
    UpdateService-able fields in `raw_fields`, normalised later by `render`).
    """
    name: str
    arn: str
    status: str
    task_definition: str
    desired_count: int
    running_count: int
    pending_count: int
    raw_fields: Mapping[str, Any]  # the UpdateService-able fields, as DescribeServices gave them
    tags: Mapping[str, str] = field(default_factory=dict)
    deployments: tuple[DeploymentSnapshot, ...] = ()

    @property
    def rollout_state(self) -> str:
        """IN_PROGRESS while more than one deployment runs (and the PRIMARY has not failed),
        else the PRIMARY deployment's rolloutState (COMPLETED, FAILED), UNKNOWN without one.
        """
        primary = next((d for d in self.deployments if d.status == "PRIMARY"), None)
        if primary is None:
            return "UNKNOWN"
        if len(self.deployments) > 1 and primary.rollout_state != "FAILED":
            return "IN_PROGRESS"
        return primary.rollout_state or "UNKNOWN"


@dataclass(frozen=True, slots=True)
class ScalingSnapshot:
    """An ECS service's scalable target (DesiredCount, min/max) and its target-tracking
    policies by name (their TargetTrackingScalingPolicyConfiguration).
    """
    resource_id: str
    min: int
    max: int
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> config


@dataclass(frozen=True, slots=True)
class EnvironmentSnapshot:
    """Everything the planner needs to know about one environment's cluster."""

    cluster: str
    refs: Refs
    services: Mapping[str, ServiceSnapshot]  # ACTIVE services in the cluster, by name
    task_definitions: Mapping[str, TaskDefinitionSnapshot]  # by ARN
    scaling: Mapping[str, ScalingSnapshot]  # by ECS service name
    # Latest ACTIVE revision per family, looked up only for services whose running
    # definition differs from the rendered one: a revision registered by a run that
    # crashed before UpdateService is reused instead of registering another.
    family_latest: Mapping[str, TaskDefinitionSnapshot] = field(default_factory=dict)
