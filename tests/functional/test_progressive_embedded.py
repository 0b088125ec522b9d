"""Blue/green, canary and linear deployments played by the embedded cloud, through the
controllers (issue 14): a canary rolled back by an alarm (git reverted, no loop), a
linear deployment completing in its steps, a blue/green deployment waiting for its
manual approval and continued by `ecs-gitops approve`, an abort, and a PAUSE that
times out. The rollout simulator walks ECS's lifecycle stages on a clock the test
moves (one ECS minute = one second of it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner
from world import World, load_event

from ecs_gitops.aws.dynamodb import DynamoStore
from ecs_gitops_tools.cli.main import app
from ecs_gitops_tools.local import time_scale
from ecs_gitops_tools.local.builder import Image
from ecs_gitops_tools.local.progressive import REGISTRY
from ecs_gitops_tools.local.rollout import RolloutSimulator
from ecs_gitops_tools.operations import recorded, set_alarm

ROOT = Path(__file__).resolve().parents[2]
OLD = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
NEW = "1b2c3d4e5f60718293a4b5c6d7e8f90123456789"
LISTENER = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/"
            "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee")
ROLE = "arn:aws:iam::123456789012:role/ecs-gitops-infrastructure"
HANDLED = ("SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED", "HOOK_AWAITING_ACTION")
runner = CliRunner()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    monkeypatch.setenv("ECS_GITOPS_LOCAL_MINUTE_SECONDS", "1")
    tick = Clock()
    time_scale.set_clock(tick)
    REGISTRY.clear()
    yield tick
    time_scale.set_clock(None)
    REGISTRY.clear()


@pytest.fixture
def simulator(world: World, clock: Clock, tmp_path: Path) -> Iterator[RolloutSimulator]:
    # NEW's image is an app that exits at once: its health probe fails (OLD is a
    # placeholder image, assumed healthy); `broken` switches it on per test.
    image = Image("simpleweb", NEW, "sha256:0", tmp_path,
                  ("python", "-c", "raise SystemExit(3)"), ("python", "-c", "raise SystemExit(1)"))
    sim = RolloutSimulator(world.clients, BROKEN)
    BROKEN.clear()
    BROKEN[("simpleweb", "broken")] = image
    yield sim
    sim.close()
    BROKEN.clear()


BROKEN: dict[tuple[str, str], Image] = {}


def production(deployment: dict[str, Any], tag: str = OLD) -> str:
    data: dict[str, Any] = yaml.safe_load((ROOT / "desired_state/production.yaml").read_text())
    data["roles"]["infrastructure"] = ROLE
    web = next(s for s in data["services"] if s["name"] == "simpleweb")
    web["image"]["tag"] = tag
    web["deployment"] = deployment
    web["loadBalancer"].update({"alternateTargetGroup": "simpleweb-production-green",
                                "productionListenerRule": LISTENER})
    return yaml.safe_dump(data, sort_keys=False)


def start(world: World, sim: RolloutSimulator, deployment: dict[str, Any]) -> None:
    """The services run with `deployment` (first deployments complete at once); then
    git pins NEW for simpleweb and a reconcile starts its progressive deployment."""
    elbv2 = world.clients.client("elbv2")
    blue = elbv2.describe_target_groups(Names=["simpleweb-production"])["TargetGroups"][0]
    elbv2.create_target_group(Name="simpleweb-production-green", Protocol="HTTP", Port=80,
                              VpcId=blue["VpcId"], TargetType="instance")
    world.commit("main", {"desired_state/production.yaml": production(deployment)})
    first = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert first["kind"] == "applied", first
    deliver(world, sim)
    world.put_image("simpleweb", NEW)
    world.commit("main", {"desired_state/production.yaml": production(deployment, NEW)})
    second = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert second["kind"] == "applied", second


def deliver(world: World, sim: RolloutSimulator) -> list[dict[str, Any]]:
    """Poll the simulator and hand the events the template routes to the deployment
    controller; its outcomes."""
    outcomes = []
    for event in sim.poll():
        if event["detail"].get("eventName") in HANDLED:
            outcomes.append(world.invoke("DeploymentEventsFunction", event))
    return outcomes


def deployment(world: World) -> dict[str, Any]:
    ecs = world.clients.client("ecs")
    listed = ecs.list_service_deployments(cluster="dbscluster", service="simpleweb")
    arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]
    return dict(ecs.describe_service_deployments(serviceDeploymentArns=[arn])
                ["serviceDeployments"][0])


def running_tag(world: World) -> str:
    return str(world.services()["simpleweb"]["taskDefinition"])


def cli(world: World, *args: str) -> Any:
    return runner.invoke(app, [*args, "--endpoint-url", world.extra["AWS_ENDPOINT_URL"],
                               "--table", world.refs["StateTable"]], catch_exceptions=False)


def status(world: World) -> str:
    result = runner.invoke(app, ["status", str(world.repo / "desired_state/production.yaml"),
                                 "--endpoint-url", world.extra["AWS_ENDPOINT_URL"]],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def assert_reverted_without_loop(world: World, outcomes: list[dict[str, Any]]) -> None:
    # the rollback's own deployment completing is noted, nothing more (not ecs-gitops's)
    assert [o["kind"] for o in outcomes] == ["reverted", "deployment noted"], outcomes
    assert world.pinned("main", "production", "simpleweb") == OLD
    again = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert again["kind"] == "in sync", again


def test_a_canary_is_rolled_back_by_an_alarm_and_git_reverted(
        world: World, simulator: RolloutSimulator, clock: Clock) -> None:
    set_alarm(world.clients, "simpleweb-5xx", "OK")
    start(world, simulator, {"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 5},
                             "alarms": {"alarmNames": ["simpleweb-5xx"], "rollback": True,
                                        "enable": True}})
    before = running_tag(world)
    assert deliver(world, simulator) == []
    baking = deployment(world)
    assert baking["status"] == "IN_PROGRESS"
    assert baking["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    assert baking["targetServiceRevision"]["requestedProductionTrafficWeight"] == 10.0
    assert ("simpleweb: canary deployment IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT, traffic "
            "90% old / 10% new") in status(world)
    clock.now += 2  # two minutes into the five-minute canary bake
    assert deliver(world, simulator) == []
    set_alarm(world.clients, "simpleweb-5xx", "ALARM")
    clock.now += 1
    outcomes = deliver(world, simulator)
    rolled_back = deployment(world)
    assert rolled_back["status"] == "ROLLBACK_SUCCESSFUL"
    assert rolled_back["alarms"]["triggeredAlarmNames"] == ["simpleweb-5xx"]
    assert running_tag(world) != before  # the rollback's own revision of the old image
    assert_reverted_without_loop(world, outcomes)


def test_a_linear_deployment_completes_in_its_steps(
        world: World, simulator: RolloutSimulator, clock: Clock) -> None:
    start(world, simulator, {"strategy": "linear", "bakeMinutes": 1,
                             "linear": {"stepPercent": 25, "stepBakeMinutes": 2}})
    weights, outcomes = [], []
    for _ in range(8):
        outcomes += deliver(world, simulator)
        seen = deployment(world)
        weights.append((seen["status"],
                        seen["targetServiceRevision"]["requestedProductionTrafficWeight"]))
        clock.now += 1
    assert weights == [("IN_PROGRESS", 25.0), ("IN_PROGRESS", 25.0), ("IN_PROGRESS", 50.0),
                       ("IN_PROGRESS", 50.0), ("IN_PROGRESS", 75.0), ("IN_PROGRESS", 75.0),
                       ("IN_PROGRESS", 100.0), ("SUCCESSFUL", 100.0)]
    assert [o["kind"] for o in outcomes] == ["release healthy"], outcomes
    assert world.pinned("main", "production", "simpleweb") == NEW


def test_blue_green_waits_for_approval_and_approve_continues_it(
        world: World, simulator: RolloutSimulator, clock: Clock) -> None:
    start(world, simulator, {"strategy": "blue-green", "bakeMinutes": 0,
                             "approval": "manual"})
    assert simulator.busy()  # scaling up: 'local wait' is not quiet yet
    outcomes = deliver(world, simulator)
    assert [o["kind"] for o in outcomes] == ["awaiting approval"], outcomes
    assert not simulator.busy()  # only a person moves it now: quiet
    notes = world.notifications()
    assert any("waits for approval" in str(n) and "ecs-gitops approve production simpleweb"
               in str(n) for n in notes), notes
    paused = deployment(world)
    assert paused["lifecycleStage"] == "POST_SCALE_UP"
    assert paused["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    (hook,) = paused["lifecycleHookDetails"]
    assert (hook["targetType"], hook["status"]) == ("PAUSE", "AWAITING_ACTION")
    assert ("simpleweb: blue-green deployment IN_PROGRESS at POST_SCALE_UP, traffic 100% old "
            "/ 0% new; waits for approval") in status(world)
    assert "ecs-gitops approve production simpleweb" in status(world)
    clock.now += 30  # waiting changes nothing before the time-out
    assert deliver(world, simulator) == []
    approved = cli(world, "approve", str(world.repo / "desired_state/production.yaml"),
                   "simpleweb")
    assert approved.exit_code == 0, approved.output
    assert "approved simpleweb in production" in approved.output
    outcomes = deliver(world, simulator)
    assert [o["kind"] for o in outcomes] == ["release healthy"], outcomes
    assert deployment(world)["status"] == "SUCCESSFUL"
    store = DynamoStore(world.clients, world.refs["StateTable"])
    (record,) = recorded(store, "production", ["simpleweb"])
    assert (record.action, record.deployment) == ("approve", paused["serviceDeploymentArn"])
    assert record.who
    assert record.at
    assert hook["hookId"] in record.detail
    again = cli(world, "approve", str(world.repo / "desired_state/production.yaml"),
                "simpleweb")
    assert again.exit_code == 1
    assert "no deployment of simpleweb is in progress" in again.output


def test_abort_rolls_back_and_reverts_git(
        world: World, simulator: RolloutSimulator, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    start(world, simulator, {"strategy": "canary", "canary": {"percent": 20, "bakeMinutes": 10}})
    assert deliver(world, simulator) == []
    aborted = cli(world, "abort", str(world.repo / "desired_state/production.yaml"), "simpleweb")
    assert aborted.exit_code == 0, aborted.output
    assert "rolling back simpleweb in production" in aborted.output
    outcomes = deliver(world, simulator)
    assert deployment(world)["status"] == "ROLLBACK_SUCCESSFUL"
    assert_reverted_without_loop(world, outcomes)
    monkeypatch.chdir(world.repo)  # history reads the git log where it runs
    history = runner.invoke(app, ["history", str(world.repo / "desired_state/production.yaml"),
                                  "--endpoint-url", world.extra["AWS_ENDPOINT_URL"],
                                  "--table", world.refs["StateTable"]],
                            catch_exceptions=False)
    assert "simpleweb: abort by" in " ".join(history.output.split()), history.output


def test_a_pause_that_times_out_rolls_back(
        world: World, simulator: RolloutSimulator, clock: Clock) -> None:
    start(world, simulator, {"strategy": "blue-green", "bakeMinutes": 0,
                             "approval": {"timeoutMinutes": 3, "onTimeout": "rollback"}})
    assert [o["kind"] for o in deliver(world, simulator)] == ["awaiting approval"]
    clock.now += 2
    assert deliver(world, simulator) == []
    clock.now += 2  # past the three minutes
    outcomes = deliver(world, simulator)
    assert deployment(world)["status"] == "ROLLBACK_SUCCESSFUL"
    assert "timed out" in deployment(world)["statusReason"]
    assert_reverted_without_loop(world, outcomes)


def test_local_alarm_raises_and_clears_an_alarm(world: World) -> None:
    url = world.extra["AWS_ENDPOINT_URL"]
    cloudwatch = world.clients.client("cloudwatch")
    for state in ("ALARM", "OK"):
        result = runner.invoke(app, ["local", "alarm", "api-5xx", state.lower(),
                                     "--endpoint-url", url], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=["api-5xx"])["MetricAlarms"]
        assert alarm["StateValue"] == state
    wrong = runner.invoke(app, ["local", "alarm", "api-5xx", "MAYBE", "--endpoint-url", url])
    assert wrong.exit_code == 1
    assert "ALARM or OK" in wrong.output


def test_approve_without_a_paused_deployment_says_so(
        world: World, simulator: RolloutSimulator, clock: Clock) -> None:
    start(world, simulator, {"strategy": "canary", "canary": {"percent": 20, "bakeMinutes": 10}})
    deliver(world, simulator)
    result = cli(world, "approve", str(world.repo / "desired_state/production.yaml"),
                 "simpleweb")
    assert result.exit_code == 1
    assert "not waiting for an approval (stage PRODUCTION_TRAFFIC_SHIFT)" in " ".join(
        result.output.split())
    unknown = cli(world, "abort", str(world.repo / "desired_state/production.yaml"), "nope")
    assert unknown.exit_code == 1
    assert "Traceback" not in unknown.output


def test_a_failing_health_probe_raises_the_alarm_and_the_canary_rolls_back(
        world: World, simulator: RolloutSimulator, clock: Clock) -> None:
    set_alarm(world.clients, "simpleweb-unhealthy", "OK")
    BROKEN[("simpleweb", NEW)] = BROKEN.pop(("simpleweb", "broken"))
    start(world, simulator, {"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 5},
                             "alarms": {"alarmNames": ["simpleweb-unhealthy"],
                                        "rollback": True, "enable": True}})
    outcomes = deliver(world, simulator)
    rolled_back = deployment(world)
    assert rolled_back["status"] == "ROLLBACK_SUCCESSFUL"
    assert rolled_back["alarms"]["triggeredAlarmNames"] == ["simpleweb-unhealthy"]
    assert rolled_back["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    (alarm,) = world.clients.client("cloudwatch").describe_alarms(
        AlarmNames=["simpleweb-unhealthy"])["MetricAlarms"]
    assert alarm["StateValue"] == "OK"  # the failing tasks are gone
    assert_reverted_without_loop(world, outcomes)
