"""Structural invariants of template.yaml, the single source of the controllers' routing.

The linters (cfn-lint, checkov, sam validate) check that the template is valid; this
checks that it says what the design says: which function takes which event, that every
sample in events/ reaches exactly the functions it should, that every asynchronous path
ends in the dead-letter queue, and that the IAM policies stay least-privilege.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ecs_gitops_tools.local.template import load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"

# What the pseudo parameters resolve to when patterns are checked against the samples
# (the samples' account and region).
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "ecs-gitops",
}

FUNCTIONS = {
    "PushFunction": "push",
    "PullRequestFunction": "pull_request",
    "BuildFinishedFunction": "build_finished",
    "ReconcileFunction": "reconcile",
    "DeploymentEventsFunction": "deployment_events",
    "SweepFunction": "sweep",
}

PROJECTS = ["simpleweb-production", "api-production", "simpleweb-development", "api-development"]
IMAGE_REPOSITORIES = {
    "simpleweb-production": "simpleweb",
    "api-production": "api",
    "simpleweb-development": "simplewebdevelopment",
    "api-development": "apidevelopment",
}

# ------------------------------------------------------------------ loading


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_yaml(TEMPLATE)  # the library's CloudFormation reader


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


def _merge(base: Any, override: Any) -> Any:
    """SAM's Globals semantics: maps merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override


def _function(template: dict[str, Any], name: str) -> dict[str, Any]:
    """A function's properties as SAM deploys them (Globals applied)."""
    merged: dict[str, Any] = _merge(
        template["Globals"]["Function"], template["Resources"][name]["Properties"]
    )
    return merged


# ---------------------------------------------------------------- resolving


class _Resolver:
    """Resolves the intrinsic functions the event patterns use, with parameter defaults."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.conditions: dict[str, Any] = template.get("Conditions", {})
        self.values: dict[str, Any] = dict(PSEUDO)
        for name, parameter in template["Parameters"].items():
            if "Default" in parameter:
                self.values[name] = parameter["Default"]
        for name, resource in template["Resources"].items():
            # Ref of a CodeBuild project is its name.
            if resource["Type"] == "AWS::CodeBuild::Project":
                self.values[name] = resource["Properties"]["Name"]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.values[value["Ref"]]
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self.values[m.group(1)]), value["Fn::Sub"])
        if set(value) == {"Fn::If"}:
            name, then, otherwise = value["Fn::If"]
            return self(then if self.condition(name) else otherwise)
        if set(value) == {"Fn::Split"}:
            sep, text = value["Fn::Split"]
            return str(self(text)).split(sep)
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            raise AssertionError(f"pattern uses an intrinsic this test cannot resolve: {value}")
        return {key: self(item) for key, item in value.items()}


    def condition(self, name: str) -> bool:
        """A condition of the template, with parameter defaults (Equals, Not)."""
        def holds(expression: Any) -> bool:
            (function, args), = expression.items()
            if function == "Fn::Equals":
                return bool(self(args[0]) == self(args[1]))
            if function == "Fn::Not":
                return not holds(args[0])
            if function == "Condition":
                return self.condition(args)
            raise AssertionError(f"condition {name} uses {function}, not resolved here")
        return holds(self.conditions[name])


# ------------------------------------------------------------ pattern matcher


def _value_matches(candidates: list[Any], actual: Any) -> bool:
    """One field: any candidate matches the value (or any element of an array value)."""
    values = actual if isinstance(actual, list) else [actual]
    for candidate in candidates:
        for value in values:
            if isinstance(candidate, dict):
                (operator, operand), *rest = candidate.items()
                assert not rest, f"one operator per object: {candidate}"
                if operator != "prefix":
                    raise AssertionError(f"operator {operator!r} is not supported by this matcher")
                if isinstance(value, str) and value.startswith(operand):
                    return True
            elif candidate == value:
                return True
    return False


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge matching for equality lists and `prefix`, the operators template.yaml uses.

    Every key of the pattern must be present in the event; a nested object descends,
    a list matches when any of its entries matches the value.
    """
    for key, expected in pattern.items():
        if key not in event:
            return False
        if isinstance(expected, dict):
            if not isinstance(event[key], dict) or not matches(expected, event[key]):
                return False
        elif not _value_matches(expected, event[key]):
            return False
    return True


def test_matcher_follows_eventbridge_semantics() -> None:
    pattern = {"source": ["a"], "resources": [{"prefix": "arn:x/"}], "detail": {"s": ["1", "2"]}}
    assert matches(pattern, {"source": "a", "resources": ["arn:x/y"], "detail": {"s": "2"}})
    assert not matches(pattern, {"source": "a", "resources": ["arn:z/y"], "detail": {"s": "2"}})
    assert not matches(pattern, {"source": "a", "resources": ["arn:x/y"], "detail": {"s": "3"}})
    assert not matches(pattern, {"source": "a", "resources": ["arn:x/y"], "detail": {}})
    assert not matches(pattern, {"source": "b", "resources": ["arn:x/y"], "detail": {"s": "1"}})


# ------------------------------------------------------------ the functions


def _events_of(template: dict[str, Any], function: str, kind: str) -> dict[str, Any]:
    events = template["Resources"][function]["Properties"].get("Events", {})
    return {name: event["Properties"] for name, event in events.items() if event["Type"] == kind}


@pytest.mark.parametrize(("function", "directory"), FUNCTIONS.items())
def test_function_runtime_layer_and_code(template: dict[str, Any], function: str, directory: str) -> None:
    properties = _function(template, function)
    assert template["Resources"][function]["Type"] == "AWS::Serverless::Function"
    assert properties["Runtime"] == "python3.12"
    assert properties["Handler"] == "app.lambda_handler"
    assert properties["CodeUri"] == f"functions/{directory}/"
    assert {"Ref": "CoreLayer"} in properties["Layers"]
    assert properties["Tracing"] == "Active"
    assert (ROOT / "functions" / directory / "requirements.txt").is_file()
    # Each function has its own role and log group.
    assert properties["Role"] == {"Fn::GetAtt": [f"{function}Role", "Arn"]}
    log_group = function.removesuffix("Function") + "LogGroup"
    assert properties["LoggingConfig"]["LogGroup"] == {"Ref": log_group}


def test_layer_is_built_for_the_functions_runtime_and_architecture(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    layer = resources["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/core/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    # layers/core/Makefile builds it as python3.12 would, and compiles it (test_layer.py)
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "layers" / "core" / "Makefile").read_text()
    assert "build-CoreLayer:" in makefile
    assert "--python-version 3.12" in makefile
    assert "PLATFORM = manylinux2014_aarch64" in makefile  # arm64, as BuildArchitecture
    architectures = {arch for f in FUNCTIONS for arch in _function(template, f)["Architectures"]}
    assert len(architectures) == 1, "one architecture for every function and the layer"
    assert layer["Properties"]["CompatibleArchitectures"] == sorted(architectures)
    assert layer["Metadata"]["BuildArchitecture"] == architectures.pop()
    assert (ROOT / "layers" / "core" / "requirements.txt").is_file()
    assert (ROOT / "layers" / "core" / "ecs_gitops" / "__init__.py").is_file()


def test_environment_is_the_one_the_handlers_read(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) == {
        "CLUSTER_NAME", "ACCOUNT_ID", "REPOSITORY_NAME", "APPLICATION_REPOSITORIES",
        "BRANCH_ENVIRONMENTS", "TABLE_NAME",
        "TOPIC_ARN",
        "EVENT_BUS_NAME", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_TRACE_DISABLED", "PYDANTIC_DISABLE_PLUGINS",
        "DRY_RUN",
    }  # fmt: skip
    resolved = _Resolver(template)(
        {k: v for k, v in variables.items() if k not in ("TABLE_NAME", "TOPIC_ARN")}
    )
    assert resolved["CLUSTER_NAME"] == "dbscluster"
    assert resolved["ACCOUNT_ID"] == "123456789012"  # the handlers ignore other accounts
    assert resolved["REPOSITORY_NAME"] == "ecs-gitops"
    assert json.loads(resolved["BRANCH_ENVIRONMENTS"]) == {
        "main": "production",
        "development": "development",
    }
    assert resolved["EVENT_BUS_NAME"] == "default"
    assert resolved["DRY_RUN"] == "false"
    assert resolved["POWERTOOLS_TRACE_DISABLED"] == "true"  # TraceAwsCalls: off by default
    assert resolved["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    assert variables["TABLE_NAME"] == {"Ref": "StateTable"}
    assert variables["TOPIC_ARN"] == {"Ref": "NotificationTopic"}


# The rule of each function, with parameter defaults and the samples' account resolved.
EXPECTED_PATTERNS: dict[str, dict[str, Any]] = {
    "PushFunction": {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "account": ["123456789012"],
        # the configuration repository (ApplicationRepositories: none by default)
        "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"],
                   "repositoryName": ["ecs-gitops"]},
    },
    "PullRequestFunction": {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Pull Request State Change"],
        "account": ["123456789012"],
        "detail": {"event": ["pullRequestCreated", "pullRequestSourceBranchUpdated"],
                   "repositoryNames": ["ecs-gitops"]},
    },
    "BuildFinishedFunction": {
        "source": ["aws.codebuild"],
        "detail-type": ["CodeBuild Build State Change"],
        "account": ["123456789012"],
        "detail": {
            "build-status": ["SUCCEEDED", "FAILED", "STOPPED", "FAULT", "TIMED_OUT"],
            "project-name": PROJECTS,
        },
    },
    "ReconcileFunction": {"source": ["ecs-gitops"], "detail-type": ["Reconcile Requested"],
                          "account": ["123456789012"]},
    "DeploymentEventsFunction": {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change", "ECS Hook State Change"],
        "resources": [{"prefix": "arn:aws:ecs:us-east-1:123456789012:service/dbscluster/"}],
        "detail": {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED",
                                 "HOOK_AWAITING_ACTION"]},
    },
}

EXPECTED_SCHEDULES = {
    "ReconcileFunction": ("ReconcileSchedule", "rate(5 minutes)"),
    "SweepFunction": ("SweepSchedule", "rate(15 minutes)"),
}


def _patterns(template: dict[str, Any], **parameters: str) -> dict[str, list[dict[str, Any]]]:
    resolve = _Resolver(template)
    resolve.values.update(parameters)
    return {
        function: [resolve(r["Pattern"]) for r in _events_of(template, function, "EventBridgeRule").values()]
        for function in FUNCTIONS
    }


def test_event_patterns_are_the_designed_ones(template: dict[str, Any]) -> None:
    patterns = _patterns(template)
    for function in FUNCTIONS:
        expected = [EXPECTED_PATTERNS[function]] if function in EXPECTED_PATTERNS else []
        assert patterns[function] == expected, function


@pytest.mark.parametrize(("repository", "routed"), [
    ("ecs-gitops", True), ("api", True), ("simpleweb", True), ("api-old", False), ("other", False)])
def test_application_repositories_pushes_and_pull_requests_are_routed(
        template: dict[str, Any], repository: str, routed: bool) -> None:
    # CodeCommit names the repository in detail.repositoryName of a push and in the
    # array detail.repositoryNames of a pull request (User Guide, "Monitoring CodeCommit
    # events in Amazon EventBridge"); a pattern's list matches any element of the array.
    patterns = _patterns(template, ApplicationRepositories="api,simpleweb")
    for sample, function in (("codecommit-push-main.json", "PushFunction"),
                             ("codecommit-pull-request-created.json", "PullRequestFunction"),
                             ("codecommit-pull-request-source-updated.json",
                              "PullRequestFunction")):
        event = json.loads((EVENTS / sample).read_text())
        detail = event["detail"]
        if "repositoryNames" in detail:
            detail["repositoryNames"] = [repository]
        else:
            detail["repositoryName"] = repository
        event["resources"] = [f"arn:aws:codecommit:us-east-1:123456789012:{repository}"]
        assert any(matches(p, event) for p in patterns[function]) is routed, sample


def test_the_previews_merge_commits_reach_no_function(template: dict[str, Any]) -> None:
    # Every preview of a diverged pull request calls CreateUnreferencedMergeCommit, and
    # CodeCommit announces each such commit as a "CodeCommit Repository State Change"
    # (event unreferencedMergeCommitCreated, no referenceType: User Guide, "Monitoring
    # CodeCommit events in Amazon EventBridge"), the push rule's detail-type.
    event = {
        "version": "0", "id": "01234567-0123-0123-0123-012345678901",
        "detail-type": "CodeCommit Repository State Change", "source": "aws.codecommit",
        "account": "123456789012", "time": "2026-11-21T15:30:03Z", "region": "us-east-1",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:ecs-gitops"],
        "detail": {"event": "unreferencedMergeCommitCreated", "repositoryName": "ecs-gitops",
                   "repositoryId": "5d1a7c3e-8b2f-4e6a-9c0d-1f2e3a4b5c6d",
                   "commitId": "7f0103f" + "0" * 33, "baseCommitId": "3e5a9bf" + "0" * 33,
                   "sourceCommitId": "26a8f2" + "0" * 34,
                   "destinationCommitId": "3e5983" + "0" * 34,
                   "mergeOption": "THREE_WAY_MERGE"}}
    for function, patterns in _patterns(template, ApplicationRepositories="api").items():
        assert not any(matches(p, event) for p in patterns), function


def test_schedules(template: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        schedules = _events_of(template, function, "Schedule")
        if function not in EXPECTED_SCHEDULES:
            assert not schedules, function
            continue
        parameter, default = EXPECTED_SCHEDULES[function]
        (schedule,) = schedules.values()
        assert schedule["Schedule"] == {"Ref": parameter}
        assert template["Parameters"][parameter]["Default"] == default


# ------------------------------------------------------------ event routing

# Every sample in events/ and the functions the template routes it to. An empty set
# means no rule matches it: the event never invokes anything. Samples the handler
# itself must ignore are marked so: the pattern cannot express the condition.
SCHEDULED = "schedule"
ROUTES: dict[str, tuple[set[str] | str, str]] = {
    "codecommit-push-development.json": ({"PushFunction"}, "builds the changed apps"),
    "codecommit-push-main.json": ({"PushFunction"}, "merge into main"),
    "codecommit-branch-created.json": ({"PushFunction"}, "a tracked branch appears"),
    "codecommit-push-untracked-branch.json": (
        {"PushFunction"},
        "HANDLER IGNORES: tracked branches are BRANCH_ENVIRONMENTS, which a pattern cannot read",
    ),
    "codecommit-pull-request-created.json": ({"PullRequestFunction"}, "plan preview posted"),
    "codecommit-pull-request-source-updated.json": ({"PullRequestFunction"}, "preview updated"),
    "codecommit-tag-created.json": (set(), "referenceType tag"),
    "codecommit-branch-deleted.json": (set(), "referenceDeleted"),
    "codebuild-succeeded-api-development.json": ({"BuildFinishedFunction"}, "tag write-back"),
    "codebuild-succeeded-simpleweb-production.json": ({"BuildFinishedFunction"}, "tag write-back"),
    "codebuild-failed-api-development.json": ({"BuildFinishedFunction"}, "recorded, notified"),
    "codebuild-stopped-simpleweb-development.json": ({"BuildFinishedFunction"}, "recorded"),
    "codebuild-in-progress-api-development.json": (set(), "not a terminal state"),
    "codebuild-succeeded-unmanaged-project.json": (set(), "not one of the four projects"),
    "ecs-deployment-completed-api-production.json": ({"DeploymentEventsFunction"}, "healthy"),
    "ecs-deployment-failed-api-production.json": ({"DeploymentEventsFunction"}, "revert"),
    "ecs-deployment-in-progress-api-production.json": (set(), "not an outcome"),
    "ecs-hook-awaiting-action-api-production.json": (
        {"DeploymentEventsFunction"}, "a deployment waits for approval: notified"),
    "ecs-deployment-completed-other-cluster.json": (set(), "another cluster"),
    "reconcile-requested-production.json": ({"ReconcileFunction"}, "from the push controller"),
    "reconcile-requested-development.json": ({"ReconcileFunction"}, "from an operator"),
    "scheduled-reconcile.json": (SCHEDULED, "ReconcileFunction"),
    "scheduled-sweep.json": (SCHEDULED, "SweepFunction"),
}


def test_every_sample_is_routed_in_this_table() -> None:
    assert {path.name for path in EVENTS.glob("*.json")} == set(ROUTES)


@pytest.mark.parametrize("sample", sorted(ROUTES))
def test_sample_reaches_exactly_its_functions(template: dict[str, Any], sample: str) -> None:
    event = json.loads((EVENTS / sample).read_text())
    assert event["account"] == PSEUDO["AWS::AccountId"]
    assert event["region"] == PSEUDO["AWS::Region"]
    matched = {
        function
        for function, patterns in _patterns(template).items()
        if any(matches(pattern, event) for pattern in patterns)
    }
    expected, why = ROUTES[sample]
    if expected == SCHEDULED:
        # A scheduled event is delivered by its own rule, not by a pattern: no pattern
        # may take it, and its rule is the target function's Schedule event.
        assert matched == set()
        function = why
        (schedule_name,) = _events_of(template, function, "Schedule")
        assert event["source"] == "aws.events"
        assert event["detail-type"] == "Scheduled Event"
        assert f"{function}{schedule_name}" in event["resources"][0]
    else:
        assert matched == expected, why


# ------------------------------------------------- failures: retries and the DLQ

DLQ = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_an_on_failure_destination(template: dict[str, Any], function: str) -> None:
    config = _function(template, function)["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": DLQ}
    assert 0 <= config["MaximumRetryAttempts"] <= 2
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 3600


def test_every_rule_has_a_retry_policy_and_the_dlq(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    rule_ids = set()
    for function in FUNCTIONS:
        for kind in ("EventBridgeRule", "Schedule"):
            for name, rule in _events_of(template, function, kind).items():
                assert rule["DeadLetterConfig"] == {"Arn": DLQ}, (function, name)
                assert 60 <= rule["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600
                assert 0 <= rule["RetryPolicy"]["MaximumRetryAttempts"] <= 185
                rule_ids.add(f"{function}{name}")  # the logical id SAM gives the rule
    # The queue accepts dead letters from exactly these rules.
    (allow,) = [
        s
        for s in resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    sources = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert {s["Fn::GetAtt"][0] for s in sources} == rule_ids


def test_state_queue_and_topic(resources: dict[str, Any]) -> None:
    table = resources["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("pk", "HASH"),
        ("sk", "RANGE"),
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    queue = resources["DeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    assert resources["NotificationSubscription"]["Condition"] == "HasNotificationEmail"


# ------------------------------------------------------------ build side


def test_image_repositories(resources: dict[str, Any]) -> None:
    repositories = {
        r["Properties"]["RepositoryName"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ECR::Repository"
    }
    assert set(repositories) == set(IMAGE_REPOSITORIES.values())
    for properties in repositories.values():
        assert properties["ImageTagMutability"] == "IMMUTABLE"
        assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert properties["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        policy = properties["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"]
        rules = json.loads(policy.replace("${ImageRetentionCount}", "30"))["rules"]
        assert rules[-1]["selection"] == {
            "tagStatus": "any",
            "countType": "imageCountMoreThan",
            "countNumber": 30,
        }


def test_build_projects_push_only_to_their_repository(resources: dict[str, Any]) -> None:
    projects = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CodeBuild::Project"
    }
    assert set(projects) == set(PROJECTS)
    for name, project in projects.items():
        app = name.split("-")[0]
        repository = IMAGE_REPOSITORIES[name]
        assert project["Source"]["Type"] == "CODECOMMIT"
        assert project["Source"]["BuildSpec"] == f"apps/{app}/buildspec.yml"
        assert project["Environment"]["PrivilegedMode"] is True
        variables = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
        assert variables["IMAGE_REPO_NAME"] == repository
        assert variables["APP_DIR"] == f"apps/{app}"
        assert variables["AWS_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
        role = resources[project["ServiceRole"]["Fn::GetAtt"][0]]
        statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
        pushes = [s for s in statements if "ecr:PutImage" in _as_list(s["Action"])]
        arn = "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/" + repository
        assert [s["Resource"] for s in pushes] == [{"Fn::Sub": arn}]


# ------------------------------------------------------------------- IAM

# Actions that IAM cannot scope to a resource, so "*" is their only valid Resource.
RESOURCE_STAR_JUSTIFIED = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "ecs:RegisterTaskDefinition": "no resource type for this action",
    "ecs:DescribeTaskDefinition": "no resource type for this action",
    "ecs:ListServices": "no resource type; the statement is scoped by the ecs:cluster condition",
    "application-autoscaling:DescribeScalableTargets": "no resource type for Describe*",
    "application-autoscaling:DescribeScalingPolicies": "no resource type for Describe*",
    "elasticloadbalancing:DescribeTargetGroups": "ELBv2 Describe* has no resource type",
    "ssm:DescribeParameters": "no resource type; returns names and types, never values",
    "ecr:GetAuthorizationToken": "no resource type for this action",
    "ec2:DescribeSubnets": "EC2 Describe* has no resource type",
    "ec2:DescribeSecurityGroups": "EC2 Describe* has no resource type",
    "logs:DescribeLogGroups": "lists log groups by prefix; no narrower resource for a prefix",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every permission statement in the template, with the resource that holds it."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::SQS::QueuePolicy"):
            documents.append(properties["PolicyDocument"])
        documents += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        for document in documents:
            found += [(name, statement) for statement in document["Statement"]]
    return found


def test_no_wildcard_actions(resources: dict[str, Any]) -> None:
    for holder, statement in _statements(resources):
        for action in _as_list(statement["Action"]):
            assert action != "*", holder
            if statement["Effect"] == "Allow":
                assert "*" not in action, (holder, action)


def test_resource_star_only_where_iam_has_no_resource_type(resources: dict[str, Any]) -> None:
    for holder, statement in _statements(resources):
        if statement["Effect"] != "Allow" or "*" not in _as_list(statement["Resource"]):
            continue
        unjustified = set(_as_list(statement["Action"])) - set(RESOURCE_STAR_JUSTIFIED)
        assert not unjustified, (holder, statement.get("Sid"), unjustified)
        if "ecs:ListServices" in _as_list(statement["Action"]):
            assert "ecs:cluster" in statement["Condition"]["ArnEquals"]


# What each role may do, beyond the shared ControllerBasePolicy (state table, the DLQ,
# X-Ray) and writing its own log group. Each line is a call the controller makes; a
# change here is a change of the controllers' privileges, to be reviewed as such.
_REPOSITORY_READ = {"codecommit:GetBranch", "codecommit:GetFile"}
_PUSH = _REPOSITORY_READ | {
    "codecommit:GetCommit",
    "codecommit:GetDifferences",  # changed paths, write-back marker
    "codecommit:GetMergeCommit",  # ancestry of the last tip seen
    "codebuild:StartBuild",
    "events:PutEvents",
    "sns:Publish",
}
_BUILD_FINISHED = _REPOSITORY_READ | {
    "codecommit:GetCommit",
    "codecommit:GetMergeCommit",  # ancestry
    "codecommit:CreateCommit",
    "ecr:DescribeImages",
    "sns:Publish",
}
EXPECTED_ACTIONS = {
    "PushFunctionRole": _PUSH,
    # The preview reads the pull request and what runs, and writes only its comment.
    "PullRequestFunctionRole": _REPOSITORY_READ | {
        "codecommit:GetPullRequest", "codecommit:GetDifferences", "codecommit:GetMergeCommit",
        "codecommit:CreateUnreferencedMergeCommit",  # the merge, on no branch
        "codecommit:GetCommentsForPullRequest", "codecommit:PostCommentForPullRequest",
        "codecommit:UpdateComment",
        "ecs:ListServices", "ecs:DescribeServices", "ecs:DescribeTaskDefinition",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "elasticloadbalancing:DescribeTargetGroups",
    },
    "BuildFinishedFunctionRole": _BUILD_FINISHED,
    "ReconcileFunctionRole": _REPOSITORY_READ | {
        "ecs:ListServices", "ecs:DescribeServices", "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition", "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService",
        "ecs:TagResource", "ecs:UntagResource", "iam:PassRole",
        "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "logs:DescribeLogGroups",
        "elasticfilesystem:DescribeFileSystems", "secretsmanager:DescribeSecret",
        "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeregisterScalableTarget", "iam:CreateServiceLinkedRole",
        "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
        "elasticloadbalancing:DescribeTargetGroups", "ssm:DescribeParameters", "ecr:DescribeImages",
        "events:PutEvents",  # its continuation, when it stops before its deadline
        "sns:Publish",
    },
    "DeploymentEventsFunctionRole": _REPOSITORY_READ | {
        "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "codecommit:CreateCommit", "sns:Publish",
    },
    # The sweep handles missed pushes and builds as the push and build controllers would.
    "SweepFunctionRole": _PUSH | _BUILD_FINISHED | {
        "codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds",
    },
}  # fmt: skip
BASE_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
    "sqs:SendMessage", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
}  # fmt: skip


def test_each_controller_role_grants_exactly_what_its_controller_calls(resources: dict[str, Any]) -> None:
    granted: dict[str, set[str]] = {}
    for holder, statement in _statements(resources):
        actions = set(_as_list(statement["Action"])) - {"logs:CreateLogStream", "logs:PutLogEvents"}
        granted.setdefault(holder, set()).update(actions)
    assert granted["ControllerBasePolicy"] == BASE_ACTIONS
    for role, expected in EXPECTED_ACTIONS.items():
        assert granted[role] == expected, (role, granted[role] ^ expected)
        assert resources[role]["Properties"]["ManagedPolicyArns"] == [{"Ref": "ControllerBasePolicy"}]


def test_pass_role_only_for_the_task_roles_and_only_to_ecs_tasks(resources: dict[str, Any]) -> None:
    """The task roles go to ecs-tasks only; the infrastructure role (blue-green, canary,
    linear: ECS shifts listener rules and invokes hooks with it) to ECS itself only."""
    holders, sids = set(), set()
    for holder, statement in _statements(resources):
        if "iam:PassRole" not in _as_list(statement["Action"]):
            continue
        holders.add(holder)
        sids.add(statement["Sid"])
        assert _as_list(statement["Action"]) == ["iam:PassRole"]
        if statement["Sid"] == "PassInfrastructureRole":
            assert statement["Resource"]["Fn::If"][:2] == [
                "HasInfrastructureRole", {"Ref": "InfrastructureRoleArn"}]
            assert statement["Resource"]["Fn::If"][2]["Fn::Sub"].endswith(
                ":role/ecs-gitops-infrastructure")
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
            continue
        assert statement["Resource"] == [{"Ref": "TaskRoleArn"}, {"Ref": "ExecutionRoleArn"}]
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert holders == {"ReconcileFunctionRole"}
    assert sids == {"PassTaskRoles", "PassInfrastructureRole"}


def test_service_linked_role_creation_is_scoped(resources: dict[str, Any]) -> None:
    for holder, statement in _statements(resources):
        if "iam:CreateServiceLinkedRole" in _as_list(statement["Action"]):
            assert holder == "ReconcileFunctionRole"
            condition = statement["Condition"]["StringLike"]["iam:AWSServiceName"]
            assert condition == "ecs.application-autoscaling.amazonaws.com"


def test_checkov_skips_are_justified(resources: dict[str, Any]) -> None:
    skips = 0
    for name, resource in resources.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), name
            assert len(skip.get("comment", "")) > 20, (name, skip["id"])
            skips += 1
    # One line each: the reason on the `comment:` line itself, never folded.
    text = TEMPLATE.read_text()
    assert len(re.findall(r"^\s+comment: \S.*$", text, re.M)) == skips


def test_outputs(template: dict[str, Any]) -> None:
    outputs = set(template["Outputs"])
    assert {f"{function}Arn" for function in FUNCTIONS} <= outputs
    assert {"StateTableName", "NotificationTopicArn", "DeadLetterQueueUrl"} <= outputs
    assert sum(name.endswith("RepositoryUri") for name in outputs) == 4
    assert sum(name.endswith("ProjectName") for name in outputs) == 4


# ------------------------------------------------ IAM, evaluated as AWS would decide
# The reconcile role's policies, resolved as CloudFormation would deploy them, through
# the static evaluator of tests/support/iam_policy.py (documented there; no library on
# PyPI decides a request offline).

ACCOUNT, REGION = PSEUDO["AWS::AccountId"], PSEUDO["AWS::Region"]
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/dbscluster"
MANAGED = {"aws:ResourceTag/ecs-gitops:managed-by": "ecs-gitops",
           "aws:ResourceTag/ecs-gitops:environment": "production"}


def _service_arn(name: str, cluster: str = "dbscluster") -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}"


@pytest.fixture(scope="module")
def policies_of(template: dict[str, Any]) -> Any:
    from iam_policy import TemplateResolver

    physical: dict[str, str] = {}
    for name in template["Resources"]:
        physical[name] = f"{name}-physical"
        physical[f"{name}.Arn"] = f"arn:aws:test:{REGION}:{ACCOUNT}:{name}"
    resolver = TemplateResolver(
        template,
        values={**PSEUDO,
                "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-gitops-task",
                "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-gitops-execution"},
        conditions={"HasNotificationEmail": False, "ShouldCreateImageRepositories": True,
                    "HasInfrastructureRole": False,
                    "HasApplicationRepositories": False},
        physical=physical,
    )
    return resolver.role_policies


def _decide(policies: Any, action: str, resource: str, context: dict[str, Any] | None = None) -> str:
    from iam_policy import Request, evaluate

    return evaluate(policies, Request(action, resource, context or {})).value


@pytest.mark.parametrize("action", ["ecs:UpdateService", "ecs:DeleteService"])
def test_reconciler_changes_only_services_tagged_as_managed(policies_of: Any, action: str) -> None:
    reconcile = policies_of("ReconcileFunctionRole")
    context = {**MANAGED, "ecs:cluster": CLUSTER_ARN}
    assert _decide(reconcile, action, _service_arn("api"), context) == "allowed"
    # A service of the same cluster that ecs-gitops did not create: no tag, another
    # owner's tag, or the right key with another value.
    for tags in ({}, {"aws:ResourceTag/team": "payments"},
                 {"aws:ResourceTag/ecs-gitops:managed-by": "someone-else"}):
        assert _decide(reconcile, action, _service_arn("legacy-billing"),
                       {**tags, "ecs:cluster": CLUSTER_ARN}) == "implicitDeny", tags
    # Nor a managed-looking service of another cluster.
    assert _decide(reconcile, action, _service_arn("api", "other"), context) == "implicitDeny"


def test_reconciler_creates_services_only_with_its_tags(policies_of: Any) -> None:
    reconcile = policies_of("ReconcileFunctionRole")
    # What render.create_service_input sends: the two tags, authorised as CreateService
    # (aws:RequestTag, aws:TagKeys) and as ecs:TagResource with ecs:CreateAction.
    from ecs_gitops.render import ENVIRONMENT_TAG, MANAGED_BY_TAG

    tags = {MANAGED_BY_TAG: "ecs-gitops", ENVIRONMENT_TAG: "development"}
    request = {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}
    service = _service_arn("api-development")
    assert _decide(reconcile, "ecs:CreateService", service, request) == "allowed"
    assert _decide(reconcile, "ecs:TagResource", service,
                   {**request, "ecs:CreateAction": "CreateService"}) == "allowed"
    assert _decide(reconcile, "ecs:CreateService", service, {}) == "implicitDeny"
    # The file's own tags may come with the markers (issue 11), never without them.
    extra = {**request, "aws:RequestTag/owner": "x", "aws:TagKeys": [*sorted(tags), "owner"]}
    assert _decide(reconcile, "ecs:CreateService", service, extra) == "allowed"
    unmarked = {"aws:RequestTag/owner": "x", "aws:TagKeys": ["owner"]}
    assert _decide(reconcile, "ecs:CreateService", service, unmarked) == "implicitDeny"
    # Tagging an existing service (to take it over) is not a create.
    assert _decide(reconcile, "ecs:TagResource", _service_arn("legacy-billing"), request) == "implicitDeny"


@pytest.mark.parametrize("action", ["ecs:TagResource", "ecs:UntagResource"])
def test_reconciler_changes_the_files_tags_of_its_services_but_never_the_markers(
        policies_of: Any, action: str) -> None:
    reconcile = policies_of("ReconcileFunctionRole")
    managed = {"aws:ResourceTag/ecs-gitops:managed-by": "ecs-gitops"}
    team = {**managed, "aws:TagKeys": ["team"], "aws:RequestTag/team": "payments"}
    assert _decide(reconcile, action, _service_arn("api"), team) == "allowed"
    # Not on a service it does not manage (no taking over), and not the markers (no
    # letting one go, no claiming one for another environment).
    unmanaged = {"aws:TagKeys": ["team"], "aws:RequestTag/team": "payments"}
    assert _decide(reconcile, action, _service_arn("legacy-billing"), unmanaged) == "implicitDeny"
    marker = {**managed, "aws:TagKeys": ["ecs-gitops:environment"]}
    assert _decide(reconcile, action, _service_arn("api"), marker) == "implicitDeny"


def test_reconciler_reads_only_the_services_target_tracking_alarms(policies_of: Any) -> None:
    reconcile = policies_of("ReconcileFunctionRole")
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:"
    ours = alarm + "TargetTracking-service/dbscluster/api-AlarmHigh-0a1b2c3d"
    for action in ("cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"):
        assert _decide(reconcile, action, ours) == "allowed", action
        assert _decide(reconcile, action, alarm + "billing-5xx") == "implicitDeny", action
        assert _decide(reconcile, action, alarm + "TargetTracking-service/other/x") == "implicitDeny"


@pytest.mark.parametrize("project", PROJECTS)
def test_builds_read_only_the_docker_hub_parameters(
    resources: dict[str, Any], policies_of: Any, project: str
) -> None:
    [role] = [r["Properties"]["ServiceRole"]["Fn::GetAtt"][0] for r in resources.values()
              if r["Type"] == "AWS::CodeBuild::Project" and r["Properties"]["Name"] == project]
    build = policies_of(role)
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
    for name in ("/docker/username", "/docker/password"):
        assert _decide(build, "ssm:GetParameters", parameter + name) == "allowed"
    for name in ("/simpleweb/db-password", "/simpleweb/db-endpoint", "/other/x"):
        for action in ("ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"):
            assert _decide(build, action, parameter + name) == "implicitDeny", (action, name)


def test_no_controller_reads_a_parameter_value(resources: dict[str, Any], policies_of: Any) -> None:
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
    for role in EXPECTED_ACTIONS:
        for name in ("/simpleweb/db-password", "/docker/password"):
            for action in ("ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"):
                assert _decide(policies_of(role), action, parameter + name) == "implicitDeny", role


def test_reconciler_may_put_only_its_continuation(policies_of: Any) -> None:
    reconcile = policies_of("ReconcileFunctionRole")
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    ours = {"events:source": "ecs-gitops", "events:detail-type": "Reconcile Requested"}
    assert _decide(reconcile, "events:PutEvents", bus, ours) == "allowed"
    for context in ({**ours, "events:detail-type": "CodeBuild Build State Change"},
                    {**ours, "events:source": "aws.codebuild"}, {}):
        assert _decide(reconcile, "events:PutEvents", bus, context) == "implicitDeny", context
    other_bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/payments"
    assert _decide(reconcile, "events:PutEvents", other_bus, ours) == "implicitDeny"


@pytest.mark.parametrize("role", sorted(EXPECTED_ACTIONS))
def test_every_controller_reads_and_writes_its_state_in_batches(policies_of: Any, role: str) -> None:
    table = f"arn:aws:test:{REGION}:{ACCOUNT}:StateTable"
    for action in ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"):
        assert _decide(policies_of(role), action, table) == "allowed", action
        assert _decide(policies_of(role), action,
                       f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other") == "implicitDeny"


def test_the_reconciler_stops_before_its_timeout(template: dict[str, Any]) -> None:
    function = _function(template, "ReconcileFunction")
    variables = function["Environment"]["Variables"]
    margin = float(variables["DEADLINE_MARGIN_SECONDS"])
    assert 0 < margin < function["Timeout"] / 5
    assert 1 <= int(variables["MAX_CONTINUATIONS"]) < 16  # Lambda's recursion limit


def test_reconciler_passes_the_infrastructure_role_to_ecs_only(policies_of: Any) -> None:
    """Blue-green, canary and linear services name the infrastructure role; the reconciler
    may hand it to ECS (CreateService/UpdateService) and to nothing else."""
    reconciler = policies_of("ReconcileFunctionRole")
    role = f"arn:aws:iam::{ACCOUNT}:role/ecs-gitops-infrastructure"
    assert _decide(reconciler, "iam:PassRole", role,
                   {"iam:PassedToService": "ecs.amazonaws.com"}) == "allowed"
    assert _decide(reconciler, "iam:PassRole", role,
                   {"iam:PassedToService": "ecs-tasks.amazonaws.com"}) != "allowed"
    assert _decide(reconciler, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin",
                   {"iam:PassedToService": "ecs.amazonaws.com"}) != "allowed"


@pytest.mark.parametrize(("role", "action"), [
    ("PushFunctionRole", "codecommit:GetDifferences"),
    ("BuildFinishedFunctionRole", "codecommit:GetMergeCommit"),
    ("SweepFunctionRole", "codecommit:GetFile"),
    ("ApiDevelopmentBuildRole", "codecommit:GitPull"),
    ("PullRequestFunctionRole", "codecommit:PostCommentForPullRequest"),
])
def test_application_repositories_are_reached_only_when_tagged_for_the_stack(
        policies_of: Any, role: str, action: str) -> None:
    policies = policies_of(role)
    api = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:api"
    assert _decide(policies, action, api, {"aws:ResourceTag/ecs-gitops:stack": "ecs-gitops"}) \
        == "allowed"
    for tags in ({}, {"aws:ResourceTag/ecs-gitops:stack": "another-stack"}):
        assert _decide(policies, action, api, tags) == "implicitDeny", tags
    # nor a tagged repository of another account or region
    assert _decide(policies, action, f"arn:aws:codecommit:eu-west-1:{ACCOUNT}:api",
                   {"aws:ResourceTag/ecs-gitops:stack": "ecs-gitops"}) == "implicitDeny"
    # and nothing but reading (and, for the builds, cloning)
    assert _decide(policies, "codecommit:CreateCommit", api,
                   {"aws:ResourceTag/ecs-gitops:stack": "ecs-gitops"}) == "implicitDeny"
