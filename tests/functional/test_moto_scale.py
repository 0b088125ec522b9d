"""The embedded AWS pages like AWS at the scale of a real account
(`ecs_gitops_tools.local.moto_scale`), and finds services by key."""

from __future__ import annotations

from typing import Any

from ecs_gitops.aws.autoscaling import AutoscalingAdapter
from ecs_gitops.aws.ecs import EcsAdapter


def _services(aws: Any, n: int) -> list[str]:
    ecs = aws.ecs
    ecs.create_cluster(clusterName="big")
    arn = ecs.register_task_definition(family="big", containerDefinitions=[
        {"name": "app", "image": "nginx:1", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    names = [f"svc-{i:03d}" for i in range(n)]
    for name in names:
        ecs.create_service(cluster="big", serviceName=name, taskDefinition=arn, desiredCount=1)
    return names


def test_list_services_pages_by_max_results(aws: Any) -> None:
    names = _services(aws, 115)
    ecs = aws.ecs
    first = ecs.list_services(cluster="big")
    assert len(first["serviceArns"]) == 10  # ECS's default page
    assert "nextToken" in first
    sizes = [len(p["serviceArns"]) for p in ecs.get_paginator("list_services").paginate(
        cluster="big", PaginationConfig={"PageSize": 100})]
    assert sizes == [100, 15]
    aws.calls.clear()
    assert sorted(EcsAdapter(aws).list_service_names("big")) == names
    assert aws.calls["ecs:ListServices"] == 2


def test_scaling_reads_page_and_filter_like_aws(aws: Any) -> None:
    names = _services(aws, 55)
    aas = aws.autoscaling
    for name in names:
        rid = f"service/big/{name}"
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid,
                                     ScalableDimension="ecs:service:DesiredCount",
                                     MinCapacity=1, MaxCapacity=2)
        aas.put_scaling_policy(
            PolicyName=f"{name}-cpu", ServiceNamespace="ecs", ResourceId=rid,
            ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 80.0, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    aws.calls.clear()
    everything = AutoscalingAdapter(aws).describe("big")
    assert len(everything) == 55
    assert all(len(s.policies) == 1 for s in everything.values())
    # 55 targets by 50, 55 policies by 10 (AWS's page sizes; moto gave them all at once)
    assert aws.calls["application-autoscaling:DescribeScalableTargets"] == 2
    assert aws.calls["application-autoscaling:DescribeScalingPolicies"] == 6
    aws.calls.clear()
    some = AutoscalingAdapter(aws).describe("big", only=names[:25],
                                            policy_names=[f"{n}-cpu" for n in names[:25]])
    assert sorted(some) == names[:25]
    assert aws.calls["application-autoscaling:DescribeScalableTargets"] == 1  # 50 ids a call
    assert aws.calls["application-autoscaling:DescribeScalingPolicies"] == 3  # named only


def test_services_are_found_by_name_or_arn(aws: Any) -> None:
    names = _services(aws, 3)
    ecs = aws.ecs
    arn = ecs.describe_services(cluster="big", services=[names[1]])["services"][0]["serviceArn"]
    for ref in (names[1], arn):
        ecs.update_service(cluster="big", service=ref, desiredCount=2)
    assert ecs.describe_services(cluster="big", services=[names[1]])["services"][0][
        "desiredCount"] == 2
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]
