"""`ecs-gitops demo`: the original team's story, end to end, on the embedded cloud.

Every step is a real action (a git push, a manual change to a service, a tick of
a schedule) followed by the event-driven loop running until quiet; its outcome is
then checked against git and AWS, never against what the functions said. The
timeline shows each event, the function it reached and what that function did.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from ecs_gitops.aws.cloud import AwsCloud
from ecs_gitops.aws.ecs import EcsAdapter
from ecs_gitops.desired import Environment, load_environment_text
from ecs_gitops.engine import preview
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops_tools import output
from ecs_gitops_tools.local import time_scale
from ecs_gitops_tools.local.builder import BuildResult
from ecs_gitops_tools.local.bus import Delivery
from ecs_gitops_tools.local.cloud import EmbeddedCloud
from ecs_gitops_tools.local.rollout import Rollout
from ecs_gitops_tools.local.timeline import describe_event
from ecs_gitops_tools.output import print_status

# The demo runs each app's TEST_COMMAND without the tests that need MariaDB or a
# browser, so that the story takes well under a minute; `local up` runs them all.
DEMO_TEST_ARGS = ("-m", "not mariadb and not browser", "-p", "no:randomly")
# The original team's layout: each app in its own repository, split off the checkout.
DEMO_APP_REPOSITORIES = {"api": "apps/api", "simpleweb": "apps/simpleweb"}


def desired_at_tip(cloud: EmbeddedCloud, branch: str, environment: str) -> Environment:
    """The environment's file as the git remote has it at the branch tip."""
    text = subprocess.run(["git", "--git-dir", str(cloud.remote.path), "show",
                           f"{branch}:desired_state/{environment}.yaml"],
                          capture_output=True, text=True, check=True).stdout
    return load_environment_text(text)


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of the demo's story: its title, whether its check held, what the check saw,
    and how many seconds it took."""

    title: str
    ok: bool
    detail: str
    seconds: float


class Story:
    """The demo's narrator: edits and pushes from a work clone, runs the embedded cloud,
    prints each delivery and checks each step against git and AWS."""
    def __init__(self, cloud: EmbeddedCloud, work: Path, console: Console) -> None:
        self.cloud = cloud
        self.work = work
        self.console = console
        self.results: list[StepResult] = []
        self.started = time.monotonic()
        cloud.observers.delivery.append(self._delivery)
        cloud.observers.build.append(self._build)
        cloud.observers.rollout.append(self._rollout)

    # ------------------------------------------------------------ timeline
    def _line(self, text: str) -> None:
        self.console.print(f"[dim]{time.monotonic() - self.started:6.1f}s[/dim]  {text}",
                           highlight=False, soft_wrap=True)

    def _delivery(self, d: Delivery) -> None:
        what = describe_event(d.event)
        colour = "red" if d.error else "cyan"
        self._line(f"[{colour}]{escape(what)}[/{colour}] -> {escape(d.function)}: "
                   f"{escape(d.summary)}")
        result = d.result if isinstance(d.result, dict) else {}
        for outcome in result.get("outcomes") or [result]:
            if outcome.get("kind") in ("applied", "drift reported"):
                for text in str(outcome.get("plan", "")).splitlines():
                    self.console.print(f"[dim]          {escape(text)}[/dim]", highlight=False,
                                       soft_wrap=True)

    def _build(self, r: BuildResult) -> None:
        colour = "green" if r.status == "SUCCEEDED" else "red"
        self._line(f"  [{colour}]local CodeBuild {escape(r.project)}: tests and image "
                   f"{escape(r.status)}[/{colour}] in {r.seconds:.1f}s")

    def _rollout(self, r: Rollout) -> None:
        tag = r.image.rsplit(":", 1)[-1][:7]
        if r.healthy:
            self._line(f"  [green]{escape(f'ECS rollout {r.service} -> {tag}: {r.reason}')}"
                       "[/green]")
        else:
            self._line(f"  [red]{escape(f'ECS rollout {r.service} -> {tag}: {r.reason}')}; "
                       f"ECS rolled back to {escape(str(r.rolled_back_to))}"
                       "[/red]" if r.cause != "circuit breaker" else
                       f"  [red]{escape(f'ECS rollout {r.service} -> {tag}: {r.reason}')}; "
                       f"circuit breaker rolled back to {escape(str(r.rolled_back_to))}[/red]")

    # --------------------------------------------------------------- helpers
    def git(self, *args: str) -> str:
        """Run git in the work clone; its standard output, stripped (raises
        CalledProcessError when git fails)."""
        return subprocess.run(["git", "-C", str(self.work), *args], capture_output=True,
                              text=True, check=True).stdout.strip()

    def edit(self, branch: str, path: str, change: Callable[[str], str], message: str) -> str:
        """Pull `branch`, replace `path`'s text by `change(text)`, commit with `message` and
        push; returns the new commit's id."""
        self.git("checkout", "-q", branch)
        self.git("pull", "-q", "--ff-only", "origin", branch)
        target = self.work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(change(target.read_text() if target.exists() else ""))
        self.git("add", path)
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", branch)
        return self.git("rev-parse", "HEAD")

    def at_tip(self, branch: str, environment: str) -> Environment:
        """The desired state of `environment` at the tip of `branch` on the remote."""
        return desired_at_tip(self.cloud, branch, environment)

    def pinned(self, branch: str, environment: str, service: str) -> str:
        """The image tag `service` is pinned to at the tip of `branch`."""
        return self.at_tip(branch, environment).service(service).image.tag

    def running(self, service: str) -> str:
        """The image tag the ECS service `service` of the cluster `dbscluster` runs."""
        ecs = EcsAdapter(self.cloud.clients)
        svc = ecs.describe_services("dbscluster", [service])[service]
        image = ecs.describe_task_definition(svc.task_definition).image() or ""
        return image.rsplit(":", 1)[-1]

    def release(self, environment: str, service: str) -> str:
        """The outcome of the service's newest release in the state table (HEALTHY, FAILED,
        ...), or `none`."""
        from ecs_gitops.aws.dynamodb import DynamoStore

        releases = DynamoStore(self.cloud.clients, self.cloud.refs["StateTable"]).releases(
            environment, service, limit=1)
        return releases[0].outcome if releases else "none"

    def step(self, title: str, act: Callable[[], object], check: Callable[[], tuple[bool, str]]
             ) -> None:
        """Print the step's title, `act`, deliver what it caused, then `check` (ok, detail);
        the result is kept in `results` (a check that raises counts as not ok)."""
        self.console.rule(f"[bold]{len(self.results) + 1}. {title}")
        started = time.monotonic()
        act()
        self.cloud.run()
        try:
            ok, detail = check()
        except Exception as exc:
            ok, detail = False, f"check raised {type(exc).__name__}: {exc}"
        mark = "[green]ok[/green]" if ok else "[red]UNEXPECTED[/red]"
        self.console.print(f"{mark}: {escape(detail)}", highlight=False)
        self.results.append(StepResult(title, ok, detail, time.monotonic() - started))


def tell(cloud: EmbeddedCloud, work: Path, console: Console) -> list[StepResult]:
    """Play the original team's story (the README's numbered steps) on `cloud`, pushing from
    the clone `work`; one result per step."""
    s = Story(cloud, work, console)
    api = "apps/api/api_service/web.py"
    state: dict[str, str] = {}

    def bootstrap_check() -> tuple[bool, str]:
        empty = all(preview(e, AwsCloud(cloud.clients), store=None).plan.empty
                    for e in cloud.environments.values())
        return empty and len(EcsAdapter(cloud.clients).list_service_names("dbscluster")) == 4, \
            "4 services running, both environments in sync"

    s.step("The schedule reconciles both environments from git",
           lambda: cloud.schedule("ReconcileFunction"), bootstrap_check)

    def dev_change() -> None:
        state["dev"] = s.edit("development", api,
                              lambda t: t + "\n# demo: a change made on development\n",
                              "api: a change on development")

    def dev_check() -> tuple[bool, str]:
        commit = state["dev"]
        ok = (s.pinned("development", "development", "api") == commit
              and s.running("api-development") == commit
              and s.release("development", "api-development") == "HEALTHY")
        return ok, f"development pins and runs api {commit[:7]}, release healthy"

    s.step("A change to apps/api pushed to development is built, written back and deployed",
           dev_change, dev_check)

    def merge() -> None:
        s.git("checkout", "-q", "main")
        s.git("pull", "-q", "--ff-only", "origin", "main")
        s.git("fetch", "-q", "origin")
        s.git("merge", "-q", "--no-ff", "origin/development", "-m", "Merge development into main")
        s.git("push", "-q", "origin", "main")
        state["main"] = s.git("rev-parse", "HEAD")

    def merge_check() -> tuple[bool, str]:
        commit = state["main"]
        ok = (s.pinned("main", "production", "api") == commit
              and s.running("api") == commit and s.release("production", "api") == "HEALTHY")
        return ok, f"production pins and runs api {commit[:7]} (the merge), release healthy"

    s.step("Merged into main, it reaches production", merge, merge_check)

    def scale() -> None:
        # A pull request: previewed on it (the plan of its merge, as one comment), then
        # merged, which is a push of main like any other.
        from ecs_gitops_tools.local import pull_requests

        s.git("fetch", "-q", "origin")
        s.git("checkout", "-q", "-B", "simpleweb-max-8", "origin/main")
        target = s.work / "desired_state/production.yaml"
        target.write_text(target.read_text().replace("max: 5", "max: 8", 1))
        s.git("commit", "-q", "-am", "production: simpleweb max 5 -> 8")
        s.git("push", "-q", "origin", "simpleweb-max-8")
        remote = cloud.remote.path
        pull_request, opened = pull_requests.create(remote, source="simpleweb-max-8",
                                                    destination="main",
                                                    title="simpleweb: max 8 in production")
        state["pr"] = pull_request.id
        cloud.remote.spool_event(opened)
        cloud.run()
        for text in pull_requests.comments(remote, pull_request.id):
            for line in text.splitlines():
                s.console.print(f"[dim]          {escape(line)}[/dim]", highlight=False,
                                soft_wrap=True)
        _, _, merged = pull_requests.merge(remote, pull_request.id)
        cloud.remote.spool_event(merged)

    def scale_check() -> tuple[bool, str]:
        from ecs_gitops_tools.local import pull_requests

        aas = cloud.clients.client("application-autoscaling")
        target = aas.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=["service/dbscluster/simpleweb"])
        top = target["ScalableTargets"][0]["MaxCapacity"]
        comments = pull_requests.comments(cloud.remote.path, state["pr"])
        previewed = len(comments) == 1 and "5 -> 8" in comments[0]
        return top == 8 and previewed, (f"pull request {state['pr']} previewed in one comment; "
                                        f"merged, simpleweb autoscaling range is now 2..{top}")

    s.step("A pull request editing desired_state/production.yaml (max tasks 5 -> 8) is "
           "previewed on it, then merged and applied", scale, scale_check)

    def broken_tests() -> None:
        state["dev_before"] = s.pinned("development", "development", "api")
        s.edit("development", "apps/api/tests/test_demo_regression.py",
               lambda _: "def test_a_regression():\n    assert 1 + 1 == 3\n",
               "api: a change whose tests fail")

    def broken_check() -> tuple[bool, str]:
        last = s.cloud.builder.results[-1]
        unchanged = s.pinned("development", "development", "api") == state["dev_before"]
        running = s.running("api-development") == state["dev_before"]
        return (last.status == "FAILED" and unchanged and running,
                f"build {last.status}; development still pins and runs {state['dev_before'][:7]}")

    s.step("A build that fails its tests is not deployed", broken_tests, broken_check)

    def bad_image() -> None:
        state["good"] = s.pinned("main", "production", "api")
        state["bad"] = s.edit(
            "main", "apps/api/api_service/__main__.py",
            lambda t: t.replace("port=settings.port,", "port=settings.port + 1,  # oops", 1),
            "api: listen on the wrong port (tests still pass)")

    def bad_check() -> tuple[bool, str]:
        good = state["good"]
        log = subprocess.run(["git", "--git-dir", str(cloud.remote.path), "log", "-1",
                              "--format=%s", "main"], capture_output=True, text=True,
                             check=True).stdout.strip()
        in_sync = preview(s.at_tip("main", "production"), AwsCloud(cloud.clients), store=None).plan.empty
        ok = (s.pinned("main", "production", "api") == good and s.running("api") == good
              and s.release("production", "api") == "FAILED" and log.startswith("revert api")
              and in_sync)
        return ok, (f"rolled back to {good[:7]}; git reverted ('{log}'); the reverted file "
                    f"plans nothing, so bad image {state['bad'][:7]} is not redeployed")

    s.step("An image that fails its health check rolls back, and git is reverted",
           bad_image, bad_check)

    def drift() -> None:
        cloud.clients.ecs.update_service(
            cluster="dbscluster", service="simpleweb",
            placementStrategy=[{"type": "random"}])  # someone clicks in the console
        cloud.schedule("ReconcileFunction")

    def drift_check() -> tuple[bool, str]:
        svc = EcsAdapter(cloud.clients).describe_services("dbscluster", ["simpleweb"])
        strategy = svc["simpleweb"].raw_fields.get("placementStrategy")
        empty = preview(s.at_tip("main", "production"), AwsCloud(cloud.clients), store=None).plan.empty
        return empty and strategy != [{"type": "random"}], \
            "the manual placement change was found and healed; production in sync"

    s.step("A manual change to a running service (drift) is healed by the schedule",
           drift, drift_check)
    time_scale.set_minute(DEMO_MINUTE)
    try:
        canary_story(s, cloud, state)
    finally:
        time_scale.set_minute(None)
    if "api" in cloud.app_remotes:
        own_repository_story(s, cloud, state)
    return s.results


# One ECS minute of a bake or a time-out lasts this many seconds in the demo.
DEMO_MINUTE = 0.2
INFRASTRUCTURE_ROLE = "arn:aws:iam::123456789012:role/ecs-gitops-infrastructure"
LISTENER_RULE = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/"
                 "ecs-gitops-internal/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee")
ROLLING_API = """    deployment:
      minimumHealthyPercent: 100
      maximumPercent: 200
      circuitBreaker: true
      rollback: true
    loadBalancer:
      targetGroup: api-production
      healthCheckGracePeriod: 60
"""
CANARY_API = f"""    deployment:
      strategy: canary
      canary: {{percent: 10, bakeMinutes: 10}}
      alarms: {{alarmNames: [api-5xx], rollback: true, enable: true}}
    loadBalancer:
      targetGroup: api-production
      alternateTargetGroup: api-production-green
      productionListenerRule: {LISTENER_RULE}
      healthCheckGracePeriod: 60
"""


def settle(cloud: EmbeddedCloud, until: Callable[[], bool] | None = None,
           timeout: float = 60.0) -> bool:
    """Deliver and let the rollout simulator walk its blue/green, canary and linear
    deployments: until `until()` holds (False when none walks by itself any more and it
    does not), or without `until` until none walks by itself (done, or waiting for an
    approval). False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cloud.run()
        if until is not None and until():
            return True
        if not cloud.rollouts.busy():
            cloud.run()
            return until is None or until()
        time.sleep(0.05)
    return False


def _api_deployment(cloud: EmbeddedCloud) -> dict[str, Any] | None:
    from ecs_gitops_tools.operations import running_deployment

    try:
        return running_deployment(cloud.clients.ecs, "dbscluster", "api")
    except EcsGitopsError:
        return None


def canary_story(s: Story, cloud: EmbeddedCloud, state: dict[str, str]) -> None:
    """The progressive delivery steps: api becomes a 10 % canary watched by a CloudWatch
    alarm; a change whose alarm fires during the bake is rolled back by ECS and git is
    reverted; a good change waits for a manual approval and `approve` lets it through."""
    from ecs_gitops.aws.dynamodb import DynamoStore
    from ecs_gitops_tools.operations import act, recorded, set_alarm

    api_code = "apps/api/api_service/web.py"

    def to_canary() -> None:
        elbv2 = cloud.clients.client("elbv2")
        blue = elbv2.describe_target_groups(Names=["api-production"])["TargetGroups"][0]
        elbv2.create_target_group(Name="api-production-green", Protocol="HTTP", Port=5000,
                                  VpcId=blue["VpcId"], TargetType="instance",
                                  HealthCheckPath="/health")  # infra/'s second target group
        set_alarm(cloud.clients, "api-5xx", "OK")
        s.edit("main", "desired_state/production.yaml", lambda t: t.replace(
            ROLLING_API, CANARY_API, 1).replace(
            "  execution: arn:aws:iam::123456789012:role/ecs-gitops-execution\n",
            "  execution: arn:aws:iam::123456789012:role/ecs-gitops-execution\n"
            f"  infrastructure: {INFRASTRUCTURE_ROLE}\n", 1),
            "production: api deploys as a 10 % canary, rolled back by alarm api-5xx")
        settle(cloud)

    def canary_check() -> tuple[bool, str]:
        svc = EcsAdapter(cloud.clients).describe_services("dbscluster", ["api"])["api"]
        strategy = (svc.raw_fields.get("deploymentConfiguration") or {}).get("strategy")
        empty = preview(s.at_tip("main", "production"), AwsCloud(cloud.clients),
                        store=None).plan.empty
        return strategy == "CANARY" and empty, \
            f"ECS reports strategy {strategy} for api; production in sync"

    s.step("api moves to a 10 % canary watched by the alarm api-5xx (a git change)",
           to_canary, canary_check)

    def alarm_during_bake() -> None:
        state["canary_good"] = s.pinned("main", "production", "api")
        # The port fix of step 6 comes with it: the new tasks pass their health checks,
        # only the alarm (the api answering 5xx to real traffic) tells otherwise.
        state["canary_bad"] = s.edit(
            "main", "apps/api/api_service/__main__.py",
            lambda t: t.replace("port=settings.port + 1,  # oops", "port=settings.port,", 1)
            + "\n# demo: a change that makes the api answer 5xx to some requests\n",
            "api: listen on the right port again, and a change that answers 5xx")
        state["at_ten"] = str(settle(cloud, until=lambda: (_api_deployment(cloud) or {}).get(
            "targetServiceRevision", {}).get("requestedProductionTrafficWeight") == 10.0,
            timeout=120))
        s.console.print("[dim]          the canary takes 10 % of production traffic; "
                        "$ ecs-gitops local alarm api-5xx ALARM[/dim]", highlight=False)
        set_alarm(cloud.clients, "api-5xx", "ALARM")
        settle(cloud)
        set_alarm(cloud.clients, "api-5xx", "OK")

    def alarm_check() -> tuple[bool, str]:
        good = state["canary_good"]
        log = subprocess.run(["git", "--git-dir", str(cloud.remote.path), "log", "-1",
                              "--format=%s", "main"], capture_output=True, text=True,
                             check=True).stdout.strip()
        in_sync = preview(s.at_tip("main", "production"), AwsCloud(cloud.clients),
                          store=None).plan.empty
        last = cloud.rollouts.rollouts[-1]
        ok = (state["at_ten"] == "True" and "CloudWatch alarm api-5xx" in last.cause
              and s.pinned("main", "production", "api") == good and s.running("api") == good
              and s.release("production", "api") == "FAILED" and log.startswith("revert api")
              and in_sync)
        return ok, (f"{last.cause}: ECS rolled the canary back to {good[:7]}; git reverted "
                    f"('{log}'); {state['canary_bad'][:7]} is not redeployed")

    s.step("A change deployed as a 10 % canary: the alarm fires during the bake, ECS rolls "
           "back, git is reverted", alarm_during_bake, alarm_check)

    def approval() -> None:
        s.edit("main", "desired_state/production.yaml", lambda t: t.replace(
            "      alarms: {alarmNames: [api-5xx], rollback: true, enable: true}\n",
            "      alarms: {alarmNames: [api-5xx], rollback: true, enable: true}\n"
            "      approval: manual\n", 1),
            "production: api waits for a manual approval before traffic moves")
        state["approved"] = s.edit("main", api_code,
                                   lambda t: t + "\n# demo: a good change\n",
                                   "api: a good change")
        if not settle(cloud, until=lambda: any(
                h.get("status") == "AWAITING_ACTION"
                for h in (_api_deployment(cloud) or {}).get("lifecycleHookDetails") or ()),
                timeout=120):
            return  # the check says what happened instead
        waiting = _api_deployment(cloud) or {}
        state["waiting_at"] = str(waiting.get("lifecycleStage"))
        s.console.print("[dim]          " + escape(output.deployment_line(
            "production", "api", "canary", waiting)) + "[/dim]", highlight=False)
        state["deployment"] = str(waiting.get("serviceDeploymentArn"))
        s.console.print("[dim]          $ ecs-gitops approve production api[/dim]",
                        highlight=False)
        record = act(s.at_tip("main", "production"), "api", "approve", cloud.clients,
                     DynamoStore(cloud.clients, cloud.refs["StateTable"]))
        s.console.print(f"[dim]          approved: {escape(record.describe())}[/dim]",
                        highlight=False)
        settle(cloud)

    def approval_check() -> tuple[bool, str]:
        commit = state["approved"]
        store = DynamoStore(cloud.clients, cloud.refs["StateTable"])
        record = next((r for r in recorded(store, "production", ["api"])
                       if r.deployment == state.get("deployment") and r.action == "approve"),
                      None)
        ok = ("waiting_at" in state and s.pinned("main", "production", "api") == commit
              and s.running("api") == commit
              and s.release("production", "api") == "HEALTHY"
              and state["waiting_at"] == "POST_SCALE_UP" and record is not None)
        return ok, (f"the deployment waited at {state.get('waiting_at')} until approved "
                    f"({record.describe() if record else 'not recorded'}); production runs "
                    f"api {commit[:7]}, release healthy")

    s.step("A good change waits for a manual approval; `ecs-gitops approve` lets it through",
           approval, approval_check)


def own_repository_story(s: Story, cloud: EmbeddedCloud, state: dict[str, str]) -> None:
    """The original team's layout: the api's build moves to its own repository (a change
    of the configuration repository only), then a push to that repository's development
    is built from it, written back to the configuration repository and deployed."""

    def own_repository() -> None:
        # The configuration repository says the api's code is in its own repository now
        # (a write of desired_state/ only: nothing is built), then a developer pushes
        # there.
        s.edit("development", "desired_state/development.yaml",
               lambda t: _build_from(t, "api", "api"), "api: built from its own repository")
        cloud.run()
        app = cloud.app_remotes["api"].clone(s.work.parent / "api-work")
        for key, value in (("user.name", "Demo Developer"), ("user.email", "dev@example.com")):
            subprocess.run(["git", "-C", str(app), "config", key, value], check=True)

        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(app), *args], capture_output=True,
                                  text=True, check=True).stdout.strip()

        git("checkout", "-q", "development")
        web = app / "apps/api/api_service/web.py"
        web.write_text(web.read_text() + "\n# demo: a change in the api's own repository\n")
        git("commit", "-qam", "api: a change in its own repository")
        git("push", "-q", "origin", "development")
        state["app"] = git("rev-parse", "HEAD")

    def own_repository_check() -> tuple[bool, str]:
        commit = state["app"]
        ok = (s.pinned("development", "development", "api") == commit
              and s.running("api-development") == commit
              and s.release("development", "api-development") == "HEALTHY")
        return ok, (f"api {commit[:7]} of the api repository: built from it, written back to "
                    "the configuration repository, running in development")

    s.step("The api in its own repository: a push to its development is built from it, "
           "written back and deployed", own_repository, own_repository_check)


def _build_from(text: str, service: str, repository: str) -> str:
    """`text` (a desired-state file) with `service` built from `repository`."""
    import yaml

    data = yaml.safe_load(text)
    for item in data["services"]:
        if item.get("name") == service:
            item["build"]["repository"] = repository
    return str(yaml.safe_dump(data, sort_keys=False))


def run(console: Console, *, source: Path, keep: Path | None = None) -> int:
    """`ecs-gitops demo`: the story on a throw-away embedded cloud (kept under `keep` if
    given), then the final status; exit status 1 if any step did not go as expected."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ecs-gitops-demo-") as tmp:
        workdir = keep or Path(tmp)
        with EmbeddedCloud(workdir, source=source, test_args=DEMO_TEST_ARGS,
                           app_repositories=DEMO_APP_REPOSITORIES) as cloud:
            console.print(f"embedded AWS on {cloud.endpoint}; git remote {cloud.remote.path}; "
                          "application repositories " + ", ".join(
                              f"{n} {a.path}" for n, a in sorted(cloud.app_remotes.items())),
                          highlight=False)
            work = cloud.remote.clone(workdir / "work")
            for key, value in (("user.name", "Demo Developer"),
                               ("user.email", "dev@example.com")):
                subprocess.run(["git", "-C", str(work), "config", key, value], check=True)
            results = tell(cloud, work, console)
            console.rule("[bold]final status")
            for env in cloud.environments.values():
                current = desired_at_tip(cloud, env.branch, env.environment)
                seen = preview(current, AwsCloud(cloud.clients), store=None)
                print_status(console, current, seen.snapshot, seen.plan)
    failed = [r for r in results if not r.ok]
    console.print(f"{len(results) - len(failed)} of {len(results)} steps as expected "
                  f"in {time.monotonic() - started:.1f}s", highlight=False)
    return 1 if failed else 0
