"""A person's actions on running blue-green, canary and linear deployments, shared by
the CLI (`approve`, `abort`, `local alarm`) and the demo.

`approve` continues a deployment paused at its approval (the PAUSE lifecycle hook that
`deployment.approval` renders): DescribeServiceDeployments names the hook
AWAITING_ACTION, ContinueServiceDeployment(action CONTINUE) releases it (ECS developer
guide, "Continuing service deployments"). `abort` rolls the running deployment back:
StopServiceDeployment with stopType ROLLBACK. Each is kept in the controllers' state
table next to the service's releases (`ecs_gitops.store.Operation`: who, when, which
deployment).
"""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime
from typing import Any

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.desired import Environment
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops.store import Operation, Store, operations_key

# ServiceDeploymentStatus values of a deployment that can still be acted on.
RUNNING = ["PENDING", "IN_PROGRESS"]


def who() -> str:
    """The person acting: `user@host` (the audit record's `who`)."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def running_deployment(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service's running service deployment, as DescribeServiceDeployments reports
    it. Raises EcsGitopsError when none runs (AwsError when a call fails)."""
    with translate("ListServiceDeployments"):
        listed = ecs.list_service_deployments(cluster=cluster, service=service,
                                              status=RUNNING).get("serviceDeployments", [])
    if not listed:
        raise EcsGitopsError(f"no deployment of {service} is in progress in {cluster}")
    arn = listed[0]["serviceDeploymentArn"]
    with translate("DescribeServiceDeployments"):
        found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    deployments = found.get("serviceDeployments") or []
    if not deployments:
        raise EcsGitopsError(f"ECS does not describe {arn}")
    return dict(deployments[0])


def act(env: Environment, service: str, action: str, clients: Clients,
        store: Store | None) -> Operation:
    """`approve` or `abort` the running deployment of `service` (its name in the file);
    the record, also written to `store` when there is one.

    Raises:
        EcsGitopsError: no such service, no deployment running, nothing waits for an
            approval (approve), or ECS refused the call (AwsError)."""
    svc = env.service(service)
    ecs = clients.client("ecs")
    deployment = running_deployment(ecs, env.cluster, svc.ecs_name)
    arn = str(deployment["serviceDeploymentArn"])
    stage = deployment.get("lifecycleStage", "?")
    if action == "approve":
        hook = next((h for h in deployment.get("lifecycleHookDetails") or ()
                     if h.get("targetType") == "PAUSE" and h.get("status") == "AWAITING_ACTION"),
                    None)
        if hook is None:
            raise EcsGitopsError(f"{svc.ecs_name}'s deployment is not waiting for an approval "
                                 f"(stage {stage}): nothing to approve")
        with translate("ContinueServiceDeployment"):
            ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"],
                                            action="CONTINUE")
        detail = f"hook {hook['hookId']} at {stage}"
    elif action == "abort":
        with translate("StopServiceDeployment"):
            ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
        detail = f"rolled back at {stage}"
    else:
        raise ValueError(f"unknown action {action!r}")
    record = Operation(action, env.environment, svc.ecs_name, arn, who(),
                       datetime.now(UTC).isoformat(timespec="seconds"), detail)
    if store is not None:
        remember(store, record)
    return record


# How many of a service's operations the state table keeps (the newest).
KEPT = 100


def remember(store: Store, record: Operation) -> None:
    """Append `record` to its service's operations (compare-and-set: two people acting at
    once both land). Raises EcsGitopsError when the record kept changing under us."""
    key = operations_key(record.environment, record.service)
    for _ in range(8):
        current = store.get_value(key)
        records = [*Operation.decode_list(current), record][-KEPT:]
        if store.compare_and_set(key, current, Operation.encode_list(records)):
            return
    raise EcsGitopsError(f"the operations record {key} kept changing: not recorded")


def recorded(store: Store, environment: str, services: list[str]) -> list[Operation]:
    """The approvals and aborts of `services` in `environment`, oldest first."""
    values = store.get_values([operations_key(environment, s) for s in services])
    records = [r for v in values.values() for r in Operation.decode_list(v)]
    return sorted(records, key=lambda r: r.at)


def set_alarm(clients: Clients, name: str, state: str) -> None:
    """Put CloudWatch alarm `name` into `state` (ALARM or OK), creating it first when it
    does not exist (on a metric of its own name in namespace ecs-gitops/local, which
    nothing publishes: only this moves it). Meant for the embedded cloud: a deployment
    whose `deployment.alarms` names it rolls back while it is in ALARM."""
    cloudwatch = clients.client("cloudwatch")
    with translate("DescribeAlarms"):
        found = cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
    if not found:
        with translate("PutMetricAlarm"):
            cloudwatch.put_metric_alarm(
                AlarmName=name, Namespace="ecs-gitops/local", MetricName=name,
                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold")
    with translate("SetAlarmState"):
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state,
                                   StateReason="set by hand: ecs-gitops local alarm")
