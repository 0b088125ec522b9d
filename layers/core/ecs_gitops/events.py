"""Typed models of the EventBridge events the controllers consume.

Each event is the EventBridge envelope (`EventBridgeEvent`, the fields and aliases of
Powertools' `EventBridgeModel`) with our own `detail` model; unknown fields are
tolerated (AWS adds fields over time), missing required ones are a
`pydantic.ValidationError` that the handlers log as a malformed event. The envelope is
our own rather than Powertools' because importing `aws_lambda_powertools.utilities.
parser.models` builds every model Powertools has (about a hundred), which was a third
of a handler's cold start.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_SOURCE = "ecs-gitops"
RECONCILE_REQUESTED = "Reconcile Requested"


class Trigger(StrEnum):
    """Why a reconcile runs (the `reason` of a "Reconcile Requested" event)."""

    SCHEDULE = "schedule"  # the template's schedule: drift correction (selfHeal)
    PUSH = "push"  # a push changed the environment's desired-state file
    SWEEP = "sweep"  # the sweep found a branch tip never reconciled
    REQUESTED = "requested"  # anyone else who put a Reconcile Requested event
    OPERATOR = "operator"  # `ecs-gitops apply`
    CONTINUATION = "continuation"  # a reconcile that stopped at its deadline goes on

    @classmethod
    def parse(cls, value: str | None) -> Trigger:
        """The trigger named by `value`; anything unknown is `REQUESTED`."""
        try:
            return cls(value or cls.REQUESTED)
        except ValueError:
            return cls.REQUESTED


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class CodeCommitReference(_Detail):
    """The detail of CodeCommit's "CodeCommit Repository State Change" event."""
    event: str  # referenceCreated | referenceUpdated | referenceDeleted
    repository_name: str = Field(alias="repositoryName")
    reference_type: str = Field(alias="referenceType")  # branch | tag
    reference_name: str = Field(alias="referenceName")
    commit_id: str | None = Field(default=None, alias="commitId")
    old_commit_id: str | None = Field(default=None, alias="oldCommitId")
    caller_user_arn: str | None = Field(default=None, alias="callerUserArn")


class CodeCommitPullRequestChange(_Detail):
    """The detail of CodeCommit's "CodeCommit Pull Request State Change" event (CodeCommit
    User Guide, "Monitoring CodeCommit events in EventBridge": pullRequestCreated,
    pullRequestSourceBranchUpdated, ...). Only `pullRequestId` is trusted for state: the
    controller reads the pull request itself (invariant 1)."""
    event: str  # pullRequestCreated | pullRequestSourceBranchUpdated | ...
    pull_request_id: str = Field(alias="pullRequestId")
    repository_names: list[str] = Field(default_factory=list, alias="repositoryNames")
    destination_reference: str | None = Field(default=None, alias="destinationReference")
    source_reference: str | None = Field(default=None, alias="sourceReference")
    source_commit: str | None = Field(default=None, alias="sourceCommit")
    destination_commit: str | None = Field(default=None, alias="destinationCommit")
    pull_request_status: str | None = Field(default=None, alias="pullRequestStatus")


class ExportedVariable(_Detail):
    """An exported environment variable of a build (the buildspec's `exported-variables`)."""
    name: str
    value: str


class BuildInformation(_Detail):
    """`additional-information` of a CodeBuild state change (the parts we read)."""
    source_version: str | None = Field(default=None, alias="source-version")
    exported_environment_variables: list[ExportedVariable] = Field(
        default_factory=list, alias="exported-environment-variables")
    initiator: str | None = None


class CodeBuildStateChange(_Detail):
    """The detail of CodeBuild's "CodeBuild Build State Change" event."""
    build_status: str = Field(alias="build-status")
    project_name: str = Field(alias="project-name")
    build_id: str = Field(alias="build-id")
    additional_information: BuildInformation = Field(
        default_factory=BuildInformation, alias="additional-information")

    def exported(self, name: str) -> str | None:
        """The value of the exported variable `name` (e.g. IMAGE_TAG), or None."""
        for variable in self.additional_information.exported_environment_variables:
            if variable.name == name:
                return variable.value
        return None


class EcsDeploymentStateChange(_Detail):
    """The detail of ECS's "ECS Deployment State Change" event, or of its "ECS Hook State
    Change" event (developer guide, "Pause hooks for Amazon ECS service deployments":
    HOOK_AWAITING_ACTION when a deployment pauses at a PAUSE hook). A hook event's
    members besides eventName follow DescribeServiceDeployments' lifecycleHookDetails
    (AWS publishes no full example), so all of them are optional here."""
    event_type: str = Field(default="INFO", alias="eventType")  # INFO | ERROR
    event_name: str = Field(alias="eventName")
    deployment_id: str = Field(default="", alias="deploymentId")
    reason: str | None = None
    service_deployment_arn: str | None = Field(default=None, alias="serviceDeploymentArn")
    hook_id: str | None = Field(default=None, alias="hookId")
    lifecycle_stage: str | None = Field(default=None, alias="lifecycleStage")
    timeout_action: str | None = Field(default=None, alias="timeoutAction")
    expires_at: str | None = Field(default=None, alias="expiresAt")


class ReconcileRequest(_Detail):
    """The detail of our own "Reconcile Requested" event.

    A continuation (reason "continuation") also carries the ECS names of the services
    left (`services`; None: all), how many continuations came before it
    (`continuation`) and the pacing buckets' levels (`pacing`, see
    `ecs_gitops.aws.pacing.Pacer.state`). `commit` is then the revision being applied:
    the reconcile goes on from there only while it is still the branch tip."""
    environment: str | None = None  # None: every environment
    reason: str = "requested"  # a Trigger value (unknown values mean REQUESTED)
    commit: str | None = None
    services: list[str] | None = None
    continuation: int = 0
    pacing: dict[str, list[float]] | None = None

    @property
    def trigger(self) -> Trigger:
        """The reason as a `Trigger`."""
        return Trigger.parse(self.reason)


class EventBridgeEvent(BaseModel):
    """The envelope of every EventBridge event ("Amazon EventBridge events", event
    structure reference): what Powertools' `EventBridgeModel` checks, unknown fields
    ignored. Subclasses narrow `detail`."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any
    replay_name: str | None = Field(default=None, alias="replay-name")


class CodeCommitEvent(EventBridgeEvent):
    """A CodeCommit repository state change, as EventBridge delivers it."""
    detail: CodeCommitReference


class CodeCommitPullRequestEvent(EventBridgeEvent):
    """A CodeCommit pull request state change, as EventBridge delivers it."""
    detail: CodeCommitPullRequestChange


class CodeBuildEvent(EventBridgeEvent):
    """A CodeBuild build state change, as EventBridge delivers it."""
    detail: CodeBuildStateChange


class EcsDeploymentEvent(EventBridgeEvent):
    """An ECS deployment state change, as EventBridge delivers it."""
    detail: EcsDeploymentStateChange

    @property
    def service_arn(self) -> str:
        """The service's ARN (from `resources`), or "" when the event names none."""
        return next((r for r in self.resources if ":service/" in r), "")


class ReconcileEvent(EventBridgeEvent):
    """A "Reconcile Requested" event, as EventBridge delivers it."""
    detail: ReconcileRequest


class ScheduledEvent(EventBridgeEvent):
    """A tick of an EventBridge schedule rule (its detail is empty)."""
    detail: dict[str, Any]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
