"""Each invariant of the design brief, proven on the embedded AWS with a real git repo."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from world import World, load_event

from ecs_gitops.aws.clients import Clients
from ecs_gitops.errors import LeaseHeldError


def test_duplicate_push_gives_one_build(world: World) -> None:
    before = world.tip("development")
    after = world.commit("development", {"apps/api/main.py": "print('v2')\n",
                                         "apps/simpleweb/main.py": "print('v2')\n"})
    event = world.push_event("codecommit-push-development.json", branch="development",
                             before=before, after=after)
    first = world.invoke("PushFunction", event)
    second = world.invoke("PushFunction", {**event, "id": "another-delivery"})
    assert (first["kind"], first["count"]) == ("builds started", 2), first
    assert second["ignored"] is True
    assert len(world.builds("api-development")) == 1
    assert len(world.builds("simpleweb-development")) == 1


def test_builds_finishing_out_of_order_never_write_back_the_older_image(world: World) -> None:
    older = world.commit("development", {"apps/api/main.py": "print('v2')\n"})
    newer = world.commit("development", {"apps/api/main.py": "print('v3')\n"})
    for commit in (older, newer):
        world.put_image("apidevelopment", commit)
    # the newer build finishes first
    world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=newer, build_id="b:newer"))
    assert world.pinned("development", "development", "api") == newer
    tip = world.tip("development")
    late = world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=older, build_id="b:older"))
    assert (late["kind"], late["reason"]) == ("not written", "NOT_NEWER"), late
    assert world.tip("development") == tip
    assert world.pinned("development", "development", "api") == newer


def test_write_back_commit_starts_no_build_only_a_reconcile(world: World) -> None:
    commit = world.commit("development", {"apps/api/main.py": "print('v2')\n"})
    world.put_image("apidevelopment", commit)
    before = world.tip("development")
    world.invoke("BuildFinishedFunction", world.build_event(
        "codebuild-succeeded-api-development.json", commit=commit))
    write_back = world.tip("development")
    assert write_back != before
    result = world.invoke("PushFunction", world.push_event(
        "codecommit-push-development.json", branch="development", before=before,
        after=write_back))
    assert (result["kind"], result["reason"]) == ("no build", "WRITE_BACK_COMMIT"), result
    assert result["reconcile_requested"] is True
    assert world.builds("api-development") == []
    assert [r["detail"]["commit"] for r in world.reconcile_requests()] == [write_back]


class _Throttle:
    """Answers the first `times` UpdateService calls with ThrottlingException, before they
    reach the server, the way ECS does under load; botocore's retries must absorb it."""

    def __init__(self, times: int) -> None:
        self.left = times
        self.seen = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.seen += 1
        if self.left <= 0:
            return None
        self.left -= 1
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()

        class Raw:
            def stream(self, **_: Any) -> Any:
                yield body

        return AWSResponse(request.url, 400, {"x-amzn-requestid": "throttled"}, Raw())


def _placement(world: World, placement: str) -> str:
    text = world.read("main", "desired_state/production.yaml")
    text = text.replace("placement: spread-az", f"placement: {placement}")
    return world.commit("main", {"desired_state/production.yaml": text}, "placement")


def test_throttling_on_update_service_is_retried_and_converges(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Through the reconcile Lambda, the code path production runs.
    world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    _placement(world, "binpack-memory")
    throttle = _Throttle(times=2)
    original = Clients.client

    def client(self: Clients, name: str) -> Any:
        made = original(self, name)
        if name == "ecs" and not getattr(made, "_throttled", False):
            made.meta.events.register("before-send.ecs.UpdateService", throttle)
            made._throttled = True
        return made

    monkeypatch.setattr(Clients, "client", client)
    world.new_container()
    result = world.invoke("ReconcileFunction",
                          load_event("reconcile-requested-production.json"))
    assert result["kind"] == "applied", result
    assert throttle.seen == 4  # 2 throttled attempts + 2 services' successful calls
    assert world.plan("production").empty


class Killed(BaseException):
    """A Lambda time-out or out-of-memory kill: not an Exception, nothing catches it."""


def test_kill_between_register_and_update_converges_without_another_revision(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ecs_gitops.aws.cloud import AwsCloud

    world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    world.put_image("api", "f" * 40)
    from ecs_gitops.desired.edit import set_image_tag

    text = world.read("main", "desired_state/production.yaml")
    world.commit("main", {"desired_state/production.yaml": set_image_tag(text, "api", "f" * 40)})

    def killed(self: AwsCloud, cluster: str, service: str, fields: Any) -> None:
        raise Killed("the Lambda container died here")

    with monkeypatch.context() as patch:
        patch.setattr(AwsCloud, "update_service", killed)
        with pytest.raises(Killed):
            world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert len(world.revisions("api")) == 2  # the new revision exists, unused
    world.new_container()  # Lambda's retry lands in a fresh container: nothing remembered
    again = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert again["kind"] == "applied", again
    assert len(world.revisions("api")) == 2  # reused, not registered a third time
    assert again["plan"].count("reusing api:2") == 1
    assert world.services()["api"]["taskDefinition"].endswith("api:2")
    assert world.plan("production").empty


def test_invalid_desired_state_applies_nothing_and_is_notified(world: World) -> None:
    text = world.read("main", "desired_state/production.yaml").replace("port: 5000", "port: 0")
    world.commit("main", {"desired_state/production.yaml": text})
    result = world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    outcome = result
    assert outcome["kind"] == "invalid desired state", outcome
    assert any("services[1].port" in p for p in outcome["problems"])
    assert world.services() == {}
    assert world.revisions("api") == []
    notes = world.notifications()
    assert len(notes) == 1
    assert "desired state is invalid" in notes[0]["subject"]
    assert "desired_state/production.yaml@" in notes[0]["problems"][0]


def test_one_writer_per_environment(world: World) -> None:
    from ecs_gitops.aws.dynamodb import DynamoStore

    store = DynamoStore(world.clients, world.refs["StateTable"])
    assert store.acquire_lease("env#production", "someone-else", seconds=300)
    with pytest.raises(LeaseHeldError):
        world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    assert world.services() == {}
    scheduled = world.invoke("ReconcileFunction", load_event("scheduled-reconcile.json"))
    assert scheduled["outcomes"][0]["ignored"] is True  # production busy: skipped
    assert set(world.services()) == {"simpleweb-development", "api-development"}
    store.release_lease("env#production", "someone-else")
    assert store.acquire_lease("env#production", "me", seconds=-1)  # expired at once
    assert store.acquire_lease("env#production", "next", seconds=300)  # takes it over


def test_no_secret_value_appears_in_any_log_line(world: World, capfd: Any) -> None:
    secret = "S3cr3t-Value-That-Must-Not-Leak"
    ssm = world.clients.client("ssm")
    ssm.put_parameter(Name="/simpleweb/db-password", Value=secret, Type="SecureString",
                      Overwrite=True)
    world.invoke("ReconcileFunction", load_event("scheduled-reconcile.json"))
    commit = world.commit("main", {"apps/api/main.py": "print('v2')\n"})
    world.put_image("api", commit)
    for name, event in [
        ("PushFunction", world.push_event("codecommit-push-main.json", branch="main",
                                          before=None, after=commit)),
        ("BuildFinishedFunction", load_event("codebuild-failed-api-development.json")),
        ("DeploymentEventsFunction", load_event("ecs-deployment-failed-api-production.json")),
        ("DeploymentEventsFunction", load_event("ecs-deployment-completed-api-production.json")),
        ("SweepFunction", load_event("scheduled-sweep.json")),
        ("ReconcileFunction", load_event("scheduled-reconcile.json")),
    ]:
        world.invoke(name, event)
    out = capfd.readouterr()
    logs = out.out + out.err
    assert '"level":"INFO"' in logs  # the handlers did log
    assert secret not in logs
    assert all(secret not in json.dumps(n) for n in world.notifications())


def test_malformed_event_is_logged_not_retried(world: World, capfd: Any) -> None:
    event = load_event("codecommit-push-main.json")
    del event["detail"]["repositoryName"]
    result = world.invoke("PushFunction", event)
    assert (result["kind"], result["ignored"]) == ("ignored", True), result
    assert "malformed event: not retried" in capfd.readouterr().out


def test_self_heal_off_reports_drift_without_correcting_it(world: World) -> None:
    text = world.read("main", "desired_state/production.yaml").replace(
        "selfHeal: true", "selfHeal: false")
    world.commit("main", {"desired_state/production.yaml": text})
    world.invoke("ReconcileFunction", load_event("reconcile-requested-production.json"))
    world.notifications()
    ecs = world.clients.client("ecs")
    ecs.update_service(cluster="dbscluster", service="api",
                       placementStrategy=[{"type": "random"}])  # a manual change
    result = world.invoke("ReconcileFunction", load_event("scheduled-reconcile.json"))
    production = result["outcomes"][0]
    assert production["kind"] == "drift reported", production
    assert "placementStrategy" in production["plan"]
    assert world.services()["api"]["placementStrategy"] == [{"type": "random"}]
    notes = world.notifications()
    assert any("drift in production" in n["subject"] for n in notes)
    # an explicit request (a push, an operator) still applies
    requested = world.invoke("ReconcileFunction",
                             load_event("reconcile-requested-production.json"))
    assert (requested["kind"], requested["count"]) == ("applied", 1), requested
    assert world.services()["api"]["placementStrategy"] != [{"type": "random"}]
