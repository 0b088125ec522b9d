"""Stand up the controllers' stack on the embedded AWS, from `template.yaml`.

Creates what the functions use at run time (the state table with its TTL, the
dead-letter queue, the notification topic with a queue subscribed so that people
and tests can read what was notified, the ECR repositories and CodeBuild projects)
and returns the logical-id -> physical-value map that resolves the template's
intrinsics. Roles, log groups and policies are not simulated: moto does not
enforce IAM, so creating them would prove nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops_tools.local.template import ACCOUNT, Template, resolve

STACK = "ecs-gitops"
NOTIFICATIONS_QUEUE = "ecs-gitops-notifications"
LOCAL_ROLES = {
    "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-gitops-task",
    "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-gitops-execution",
}


def create_stack(template: Template, clients: Clients,
                 parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """Create the stack's resources on the embedded AWS: the ones the controllers use
    (the DynamoDB table, SQS queues, SNS topics, ECR repositories, CodeBuild projects),
    with `parameters` over the template's defaults and the local roles.

    Returns:
        The references the functions' environment resolves against: parameters, and
        each created resource's logical id -> its physical name or ARN.
    """
    region = clients.region
    refs: dict[str, str] = {**template.parameter_defaults(), **LOCAL_ROLES, **(parameters or {})}
    refs.setdefault("NotificationEmail", "")

    def r(value: Any) -> Any:
        return resolve(value, refs, region=region)

    ddb, sqs, sns = clients.client("dynamodb"), clients.client("sqs"), clients.client("sns")
    for logical_id, resource in template.resources_of("AWS::DynamoDB::Table").items():
        props = resource.get("Properties", {})
        name = f"{STACK}-{logical_id}"
        ddb.create_table(TableName=name, KeySchema=props["KeySchema"],
                         AttributeDefinitions=props["AttributeDefinitions"],
                         BillingMode="PAY_PER_REQUEST")
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": True})
        refs[logical_id] = name
        refs[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
    for logical_id in template.resources_of("AWS::SQS::Queue"):
        url = sqs.create_queue(QueueName=f"{STACK}-{logical_id}")["QueueUrl"]
        refs[logical_id] = url
        refs[f"{logical_id}.Arn"] = f"arn:aws:sqs:{region}:{ACCOUNT}:{STACK}-{logical_id}"
        refs[f"{logical_id}.QueueName"] = f"{STACK}-{logical_id}"
    inbox = sqs.create_queue(QueueName=NOTIFICATIONS_QUEUE)["QueueUrl"]
    refs["NotificationsQueueUrl"] = inbox
    for logical_id in template.resources_of("AWS::SNS::Topic"):
        arn = sns.create_topic(Name=f"{STACK}-{logical_id}")["TopicArn"]
        refs[logical_id] = arn
        refs[f"{logical_id}.TopicName"] = f"{STACK}-{logical_id}"
        sns.subscribe(TopicArn=arn, Protocol="sqs", Attributes={"RawMessageDelivery": "true"},
                      Endpoint=f"arn:aws:sqs:{region}:{ACCOUNT}:{NOTIFICATIONS_QUEUE}")
    ecr = clients.client("ecr")
    for logical_id, resource in template.resources_of("AWS::ECR::Repository").items():
        name = r(resource.get("Properties", {}).get("RepositoryName", logical_id.lower()))
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
        refs[logical_id] = name
        refs[f"{logical_id}.Arn"] = f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{name}"
    codebuild = clients.client("codebuild")
    for logical_id, resource in template.resources_of("AWS::CodeBuild::Project").items():
        props = resource.get("Properties", {})
        name = r(props.get("Name", logical_id))
        env = r(props.get("Environment", {}))
        codebuild.create_project(
            name=name,
            source={"type": "CODECOMMIT",
                    "location": f"https://git-codecommit.{region}.amazonaws.com/v1/repos/"
                                f"{refs.get('RepositoryName', STACK)}",
                    "buildspec": r(props.get("Source", {}).get("BuildSpec", "buildspec.yml"))},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": env.get("Type", "LINUX_CONTAINER"),
                         "image": env.get("Image", "aws/codebuild/standard:7.0"),
                         "computeType": env.get("ComputeType", "BUILD_GENERAL1_SMALL"),
                         "privilegedMode": bool(env.get("PrivilegedMode", False)),
                         "environmentVariables": [
                             {"name": v["Name"], "value": str(v["Value"]),
                              "type": v.get("Type", "PLAINTEXT")}
                             for v in env.get("EnvironmentVariables", [])]},
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/{name}-build")
        refs[logical_id] = name
        refs[f"{logical_id}.Arn"] = f"arn:aws:codebuild:{region}:{ACCOUNT}:project/{name}"
    for logical_id in template.functions():
        refs[logical_id] = f"{STACK}-{logical_id}"
        refs[f"{logical_id}.Arn"] = (f"arn:aws:lambda:{region}:{ACCOUNT}:function:"
                                     f"{STACK}-{logical_id}")
    refs.setdefault("CoreLayer", f"arn:aws:lambda:{region}:{ACCOUNT}:layer:ecs-gitops-core:1")
    return refs
