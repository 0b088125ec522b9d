"""Blue/green, canary and linear deployments in the desired-state file (issue 14): each
strategy validates and renders as ECS's DeploymentConfiguration takes it; bad settings
fail with file:line: field; ECS's ranges (botocore 1.44.8's ECS model docs) hold
exactly; what ECS echoes normalises to what was rendered."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from ecs_gitops.desired import load_environment_text
from ecs_gitops.desired.model import tenths_in
from ecs_gitops.errors import DesiredStateError
from ecs_gitops.render import (
    Refs,
    create_service_input,
    normalize_service_fields,
    render_service_fields,
)
from ecs_gitops_tools.local import ecs_echo

LISTENER = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/"
            "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee")
TEST_LISTENER = LISTENER.replace("9683b2d02a6cabee", "1111b2d02a6cabee")
ROLE = "arn:aws:iam::123456789012:role/ecs-gitops-infrastructure"
HOOK = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"

BASE = f"""\
schemaVersion: 1
environment: production
branch: main
region: us-east-1
cluster: dbscluster
roles:
  infrastructure: {ROLE}
services:
  - name: api
    image: {{repository: api, tag: abc123}}
    cpu: 256
    memory: 512
    port: 5000
    desiredCount: 2
    loadBalancer:
      targetGroup: api-blue
      alternateTargetGroup: api-green
      productionListenerRule: {LISTENER}
    deployment:
      strategy: STRATEGY
"""

GOOD = {
    "blue-green": "      bakeMinutes: 5\n      approval: manual\n",
    "canary": "      canary: {percent: 10, bakeMinutes: 3}\n      alarms: {alarmNames: [api-5xx], "
              "rollback: true, enable: true}\n",
    "linear": "      linear: {stepPercent: 25, stepBakeMinutes: 2}\n      bakeMinutes: 1\n"
              f"      hooks:\n        - lambda: {HOOK}\n          stages: [POST_SCALE_UP]\n",
}


def text(strategy: str, extra: str = "") -> str:
    return BASE.replace("STRATEGY", strategy) + extra


def problems(source: str) -> list[str]:
    with pytest.raises(DesiredStateError) as info:
        load_environment_text(source, "f.yaml")
    return [str(p) for p in info.value.problems]


REFS = Refs(registry="123456789012.dkr.ecr.us-east-1.amazonaws.com", target_groups={
    "api-blue": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-blue/1",
    "api-green": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-green/2",
})


def rendered(source: str) -> tuple[Any, Any]:
    env = load_environment_text(source, "f.yaml")
    return env, env.services[0]


@pytest.mark.parametrize("strategy", sorted(GOOD))
def test_each_strategy_validates_and_renders_as_ecs_takes_it(strategy: str) -> None:
    env, service = rendered(text(strategy, GOOD[strategy]))
    inputs = create_service_input(service, env, REFS, "api:1")
    dc = inputs["deploymentConfiguration"]
    assert dc["strategy"] == strategy.upper().replace("-", "_")
    assert dc["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}
    (lb,) = inputs["loadBalancers"]
    assert lb["advancedConfiguration"] == {
        "alternateTargetGroupArn": REFS.target_groups["api-green"],
        "productionListenerRule": LISTENER, "roleArn": ROLE}
    if strategy == "blue-green":
        assert dc["bakeTimeInMinutes"] == 5
        assert dc["lifecycleHooks"] == [{
            "targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"],
            "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}}]
    if strategy == "canary":
        assert dc["canaryConfiguration"] == {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}
        assert dc["bakeTimeInMinutes"] == 0
        assert dc["alarms"] == {"alarmNames": ("api-5xx",), "rollback": True, "enable": True}
    if strategy == "linear":
        assert dc["linearConfiguration"] == {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}
        assert dc["lifecycleHooks"] == [{"targetType": "AWS_LAMBDA", "hookTargetArn": HOOK,
                                         "lifecycleStages": ["POST_SCALE_UP"],
                                         "roleArn": ROLE}]


@pytest.mark.parametrize("strategy", sorted(GOOD))
def test_what_ecs_echoes_normalises_to_what_was_rendered(strategy: str) -> None:
    env, service = rendered(text(strategy, GOOD[strategy]))
    inputs = create_service_input(service, env, REFS, "api:1")
    echoed = ecs_echo.service(inputs)
    echoed.pop("availabilityZoneRebalancing")  # left out of the file: ECS decides
    echoed["tags"] = inputs["tags"]
    echoed["desiredCount"] = inputs["desiredCount"]
    assert normalize_service_fields(echoed, manage_count=True) == \
        render_service_fields(service, env, REFS)


def test_defaults_are_spelt_out_and_an_approval_can_continue_on_timeout() -> None:
    env, service = rendered(text("canary", "      approval: {stage: PRE_PRODUCTION_TRAFFIC_SHIFT, "
                                  "timeoutMinutes: 5, onTimeout: continue}\n"))
    dc = create_service_input(service, env, REFS, "api:1")["deploymentConfiguration"]
    assert dc["canaryConfiguration"] == {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10}
    assert dc["lifecycleHooks"][0]["timeoutConfiguration"] == {"timeoutInMinutes": 5,
                                                               "action": "CONTINUE"}
    env, service = rendered(text("linear"))
    dc = create_service_input(service, env, REFS, "api:1")["deploymentConfiguration"]
    assert dc["linearConfiguration"] == {"stepPercent": 10.0, "stepBakeTimeInMinutes": 6}


def test_a_rolling_service_is_rendered_as_before() -> None:
    source = text("rolling").replace(
        f"      alternateTargetGroup: api-green\n      productionListenerRule: {LISTENER}\n", "")
    env, service = rendered(source)
    inputs = create_service_input(service, env, REFS, "api:1")
    assert inputs["deploymentConfiguration"] == {
        "maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "ROLLING",
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    assert "advancedConfiguration" not in inputs["loadBalancers"][0]
    # what ECS keeps of an earlier canary's settings does nothing on a rolling service
    echoed = ecs_echo.service(inputs)
    echoed["deploymentConfiguration"]["bakeTimeInMinutes"] = 5
    echoed["deploymentConfiguration"]["canaryConfiguration"] = {"canaryPercent": 5.0}
    echoed.pop("availabilityZoneRebalancing")  # left out of the file: ECS decides
    echoed["tags"] = inputs["tags"]
    echoed["desiredCount"] = 2
    assert normalize_service_fields(echoed, manage_count=True) == \
        render_service_fields(service, env, REFS)


def test_a_test_listener_rule_and_own_roles_are_rendered() -> None:
    source = text("blue-green", "      bakeMinutes: 0\n").replace(
        f"      productionListenerRule: {LISTENER}\n",
        f"      productionListenerRule: {LISTENER}\n      testListenerRule: {TEST_LISTENER}\n"
        "      role: arn:aws:iam::123456789012:role/own\n").replace(
        f"roles:\n  infrastructure: {ROLE}\n", "")
    env, service = rendered(source)
    (lb,) = create_service_input(service, env, REFS, "api:1")["loadBalancers"]
    assert lb["advancedConfiguration"]["testListenerRule"] == TEST_LISTENER
    assert lb["advancedConfiguration"]["roleArn"] == "arn:aws:iam::123456789012:role/own"


# (what is wrong, strategy, extra `deployment:` lines or an edit, expected start)
BAD = [
    ("canary percent below ECS's range", "canary", "      canary: {percent: 0}\n",
     "f.yaml:21:25: services[0].deployment.canary.percent: percent 0.0: ECS takes multiples "
     "of 0.1 from 0.1 to 100.0"),
    ("canary percent not a tenth", "canary", "      canary: {percent: 10.25}\n",
     "f.yaml:21:25: services[0].deployment.canary.percent: percent 10.25"),
    ("linear step below 3", "linear", "      linear: {stepPercent: 2.9}\n",
     "f.yaml:21:29: services[0].deployment.linear.stepPercent: stepPercent 2.9: ECS takes "
     "multiples of 0.1 from 3.0 to 100.0"),
    ("bake time over a day", "canary", "      canary: {bakeMinutes: 1441}\n",
     "f.yaml:21:29: services[0].deployment.canary.bakeMinutes: Input should be less than or "
     "equal to 1440"),
    ("blue-green without bake time", "blue-green", "",
     "f.yaml:20:7: services[0].deployment.bakeMinutes: ECS requires a bake time with "
     "blue-green"),
    ("circuit breaker with canary", "canary", "      circuitBreaker: true\n",
     "f.yaml:21:23: services[0].deployment.circuitBreaker: ECS's circuit breaker works with "
     "the rolling strategy only, not canary"),
    ("canary settings on linear", "linear", "      canary: {percent: 10}\n",
     "f.yaml:21:15: services[0].deployment.canary: canary settings need strategy: canary"),
    ("bake time on rolling", "rolling", "      bakeMinutes: 3\n",
     "f.yaml:21:20: services[0].deployment.bakeMinutes: bakeMinutes needs strategy"),
    ("unknown strategy", "sideways", "",
     "f.yaml:20:17: services[0].deployment.strategy: Input should be 'rolling'"),
    ("unknown stage", "blue-green", "      bakeMinutes: 1\n      approval: {stage: LATER}\n",
     "f.yaml:22:25: services[0].deployment.approval.stage: Input should be"),
    ("approval while traffic moves", "blue-green",
     "      bakeMinutes: 1\n      approval: {stage: PRODUCTION_TRAFFIC_SHIFT}\n",
     "f.yaml:22:25: services[0].deployment.approval.stage: ECS does not pause during "
     "PRODUCTION_TRAFFIC_SHIFT"),
    ("approval neither manual nor a mapping", "blue-green",
     "      bakeMinutes: 1\n      approval: yes-please\n",
     "f.yaml:22:17: services[0].deployment.approval: approval must be 'manual'"),
    ("hook not a Lambda ARN", "linear",
     "      hooks: [{lambda: smoke, stages: [POST_SCALE_UP]}]\n",
     "f.yaml:21:24: services[0].deployment.hooks[0].lambda: String should match pattern"),
]


@pytest.mark.parametrize(("what", "strategy", "extra", "expected"), BAD,
                         ids=[b[0] for b in BAD])
def test_bad_settings_fail_with_file_line_and_field(what: str, strategy: str, extra: str,
                                                    expected: str) -> None:
    found = problems(text(strategy, extra))
    assert any(p.startswith(expected) for p in found), (what, found)


def test_a_shifting_strategy_needs_a_load_balancer_with_its_rules() -> None:
    without = text("canary").replace(
        "    loadBalancer:\n      targetGroup: api-blue\n      alternateTargetGroup: api-green\n"
        f"      productionListenerRule: {LISTENER}\n", "")
    found = problems(without)
    assert any(p.startswith("f.yaml:16:17: services[0].deployment.strategy: a canary "
                            "deployment shifts traffic: it needs a loadBalancer") for p in found), found
    no_alternate = text("linear").replace("      alternateTargetGroup: api-green\n", "")
    found = problems(no_alternate)
    assert any("services[0].loadBalancer.alternateTargetGroup: a linear deployment behind a "
               "load balancer needs alternateTargetGroup" in p for p in found), found
    rolling = text("rolling")
    found = problems(rolling)
    assert any("services[0].loadBalancer.alternateTargetGroup: alternateTargetGroup is for "
               "blue-green, canary and linear deployments" in p for p in found), found


def test_a_role_is_needed_for_the_listener_rules_and_the_hooks() -> None:
    source = text("linear", GOOD["linear"]).replace(f"roles:\n  infrastructure: {ROLE}\n", "")
    found = problems(source)
    assert any("services[0].loadBalancer.alternateTargetGroup: ECS needs a role to change the "
               "listener rules" in p for p in found), found
    source = source.replace("      productionListenerRule:", f"      role: {ROLE}\n"
                            "      productionListenerRule:")
    found = problems(source)
    assert any("services[0].deployment.hooks[0].lambda: ECS needs a role to invoke the "
               "function" in p for p in found), found


@given(st.integers(min_value=1, max_value=1000))
def test_every_tenth_in_the_canary_range_is_taken(tenths: int) -> None:
    value = tenths / 10
    assert tenths_in(value, 0.1, 100.0, "percent") == value
    if tenths >= 30:
        assert tenths_in(value, 3.0, 100.0, "stepPercent") == value
    else:
        with pytest.raises(PydanticCustomError):
            tenths_in(value, 3.0, 100.0, "stepPercent")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_anything_else_is_refused_never_crashes(value: float) -> None:
    tenths = None
    try:
        from fractions import Fraction
        tenths = Fraction(repr(value)) * 10
    except (ValueError, OverflowError):
        pass
    ok = tenths is not None and tenths.denominator == 1 and 1 <= tenths <= 1000
    if ok:
        assert tenths_in(value, 0.1, 100.0, "percent") == value
    else:
        with pytest.raises(PydanticCustomError):
            tenths_in(value, 0.1, 100.0, "percent")


@pytest.mark.parametrize("value", [True, "10", None, [10]])
def test_a_percent_that_is_not_a_number_is_refused(value: object) -> None:
    with pytest.raises(PydanticCustomError):
        tenths_in(value, 0.1, 100.0, "percent")  # type: ignore[arg-type]


def test_the_roles_ecs_is_handed_include_the_infrastructure_role() -> None:
    env, _ = rendered(text("linear", GOOD["linear"]))
    assert ROLE in env.passed_roles()
    own = "arn:aws:iam::123456789012:role/own"
    source = text("blue-green", "      bakeMinutes: 0\n").replace(
        "      productionListenerRule:", f"      role: {own}\n      productionListenerRule:")
    env, _ = rendered(source)
    assert own in env.passed_roles()
    assert ROLE not in env.passed_roles()  # every load balancer names its own
    env, _ = rendered(text("rolling").replace(
        f"      alternateTargetGroup: api-green\n      productionListenerRule: {LISTENER}\n", ""))
    assert env.passed_roles() == set()


def test_the_readme_example_validates() -> None:
    """README.md's blue/green, canary and linear example, put into the production file."""
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    section = readme.split("### Blue/green, canary and linear deployments", 1)[1]
    block = re.search(r"```yaml\n(.*?)\n```", section, re.S)
    assert block is not None
    example = yaml.safe_load(block.group(1))
    data = yaml.safe_load((root / "desired_state/production.yaml").read_text())
    data["roles"].update(example["roles"])
    api = next(s for s in data["services"] if s["name"] == "api")
    api["deployment"] = example["services"][0]["deployment"]
    api["loadBalancer"] = {**api["loadBalancer"], **example["services"][0]["loadBalancer"]}
    env = load_environment_text(yaml.safe_dump(data), "README.md")
    assert env.service("api").deployment.strategy.value == "canary"


def test_the_schema_takes_approval_manual() -> None:
    """Editors check files against schema.json: `approval: manual` must pass there too."""
    import json

    from ecs_gitops.desired.schema import json_schema_text

    jsonschema = pytest.importorskip("jsonschema")  # moto's openapi validators bring it

    schema = json.loads(json_schema_text())
    deployment = {"$defs": schema["$defs"], "$ref": "#/$defs/Deployment"}
    jsonschema.validate({"strategy": "blue-green", "bakeMinutes": 1, "approval": "manual"},
                        deployment)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"approval": "please"}, deployment)


def test_a_deployment_that_waits_on_purpose_is_not_stuck_before_its_waits() -> None:
    """The release deadline (past it, a release still in progress is STUCK) counts the
    bake times, the linear steps and an approval's time-out."""
    from datetime import UTC, datetime

    from ecs_gitops.engine import release_deadline, waiting_minutes

    _, canary = rendered(text("canary", "      canary: {percent: 10, bakeMinutes: 30}\n"
                                        "      bakeMinutes: 15\n      approval: manual\n"))
    assert waiting_minutes(canary) == 30 + 15 + 60
    _, linear = rendered(text("linear", "      linear: {stepPercent: 25, stepBakeMinutes: 4}\n"))
    assert waiting_minutes(linear) == 3 * 4  # no bake after the last of the four steps
    _, rolling = rendered(text("rolling").replace(
        f"      alternateTargetGroup: api-green\n      productionListenerRule: {LISTENER}\n", ""))
    assert waiting_minutes(rolling) == 0
    start = datetime(2026, 11, 30, tzinfo=UTC)
    gap = release_deadline(canary, start) - release_deadline(rolling, start)
    assert gap.total_seconds() == 105 * 60
