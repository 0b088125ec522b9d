"""A whole controllers' world for functional tests: the embedded AWS with the stack
from template.yaml and the original world seeded, a real local git repository with
`main` and `development`, and a way to invoke any function as Lambda would."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops.desired import load_environment
from ecs_gitops_tools.local.invoke import function_environment, invoke
from ecs_gitops_tools.local.stack import create_stack
from ecs_gitops_tools.local.template import Template
from ecs_gitops_tools.seed import put_image, seed

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
GIT_ENV = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


class World:
    def __init__(self, tmp: Path, clients: Clients, moto_url: str) -> None:
        self.clients = clients
        self.template = Template(ROOT / "template.yaml")
        self.refs = create_stack(self.template, clients)
        self.envs = {n: load_environment(ROOT / "desired_state" / f"{n}.yaml")
                     for n in ("production", "development")}
        seed(self.envs.values(), clients)
        sqs = clients.client("sqs")
        self.requests = sqs.create_queue(QueueName="reconcile-requests")["QueueUrl"]
        events = clients.client("events")
        events.put_rule(Name="reconcile-requested",
                        EventPattern=json.dumps({"source": ["ecs-gitops"]}))
        events.put_targets(Rule="reconcile-requested", Targets=[{
            "Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:reconcile-requests"}])
        self.repo = tmp / "repo"
        self._make_repo()
        self.extra = {"AWS_ENDPOINT_URL": moto_url, "GIT_SOURCE": str(self.repo),
                      "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    # ----------------------------------------------------------------- git
    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.repo), *args], check=True, text=True,
                              capture_output=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin"}
                              ).stdout.strip()

    def _make_repo(self) -> None:
        self.repo.mkdir()
        self.git("init", "-q", "-b", "main")
        shutil.copytree(ROOT / "desired_state", self.repo / "desired_state")
        for app in ("api", "simpleweb"):
            (self.repo / "apps" / app).mkdir(parents=True)
            (self.repo / "apps" / app / "main.py").write_text(f"print('{app} v1')\n")
            (self.repo / "apps" / app / "buildspec.yml").write_text("version: 0.2\n")
        (self.repo / "README.md").write_text("demo\n")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "initial")
        self.git("branch", "development")

    def commit(self, branch: str, files: dict[str, str], message: str = "change") -> str:
        """A person's commit on `branch`, on top of its tip as it is now, and return its id.

        The controllers move branches without a work tree (commit-tree + update-ref), so
        the checkout may be behind its branch: it is forced onto the branch's tip first,
        so that the commit never silently reverts a write-back. The commit is checked
        before it is returned: a new id whose only parent is the branch's previous tip,
        every file in `files` reads back as given, and nothing else changed. A missing
        branch, or a commit that would change nothing (git refuses it), raises: a test
        cannot pass on an empty commit."""
        before = self.tip(branch)  # raises when there is no such branch
        self.git("checkout", "-q", "-f", branch)
        self.git("reset", "-q", "--hard", f"refs/heads/{branch}")
        for path, text in files.items():
            target = self.repo / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        after = self.tip(branch)
        assert after != before, f"no new commit on {branch}"
        assert self.git("rev-parse", f"{after}^@").split() == [before], (
            f"commit {after[:12]} is not on top of {branch}'s tip {before[:12]}")
        changed = set(self.git("diff", "--name-only", before, after, "--").split())
        assert changed == set(files), f"commit changed {sorted(changed)}, meant {sorted(files)}"
        for path, text in files.items():
            assert self.git("show", f"{after}:{path}") == text.strip(), path
        return after

    def tip(self, branch: str) -> str:
        return self.git("rev-parse", f"refs/heads/{branch}")

    def read(self, branch: str, path: str) -> str:
        return self.git("show", f"{branch}:{path}")

    def pinned(self, branch: str, environment: str, service: str) -> str:
        from ecs_gitops.desired import load_environment_text

        env = load_environment_text(self.read(branch, f"desired_state/{environment}.yaml"))
        return env.service(service).image.tag

    def plan(self, environment: str, branch: str | None = None) -> Any:
        """The plan of the file at the branch tip against what runs (no hold-back)."""
        from ecs_gitops.aws.cloud import AwsCloud
        from ecs_gitops.desired import load_environment_text
        from ecs_gitops.engine import preview

        branch = branch or {"production": "main"}.get(environment, environment)
        env = load_environment_text(self.read(branch, f"desired_state/{environment}.yaml"))
        return preview(env, AwsCloud(self.clients), store=None).plan

    # ---------------------------------------------------------- functions
    def new_container(self) -> None:
        """What a fresh Lambda container starts with: no cached clients, ports or task
        definitions."""
        from ecs_gitops import wiring
        from ecs_gitops.aws import ecs

        wiring.forget_container()
        ecs.clear_cache()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        spec = self.template.function(function)
        env = function_environment(spec, self.refs, region=self.clients.region,
                                   extra=self.extra)
        return invoke(spec, event, env)

    def push_event(self, name: str, *, branch: str, before: str | None, after: str
                   ) -> dict[str, Any]:
        event = load_event(name)
        event["detail"].update(referenceName=branch, referenceFullName=f"refs/heads/{branch}",
                               commitId=after)
        if before is None:
            event["detail"].pop("oldCommitId", None)
        else:
            event["detail"]["oldCommitId"] = before
        return event

    def build_event(self, name: str, *, commit: str, build_id: str | None = None
                    ) -> dict[str, Any]:
        event = load_event(name)
        info = event["detail"]["additional-information"]
        info["source-version"] = commit
        for variable in info.get("exported-environment-variables", []):
            if variable["name"] == "IMAGE_TAG":
                variable["value"] = commit
        if build_id:
            event["detail"]["build-id"] = build_id
        return event

    def deployment_event(self, name: str, *, environment: str = "production",
                         service: str = "api", deployment_id: str | None = None
                         ) -> dict[str, Any]:
        """A sample deployment event about the deployment ecs-gitops last started for
        `service` (its newest release's deployment id), or `deployment_id`."""
        event = load_event(name)
        if deployment_id is None:
            from ecs_gitops.aws.dynamodb import DynamoStore

            releases = DynamoStore(self.clients, self.refs["StateTable"]).releases(
                environment, service, limit=1)
            assert releases, f"no release of {service} in {environment}"
            deployment_id = releases[0].deployment_id
        event["detail"]["deploymentId"] = deployment_id
        return event

    def put_image(self, repository: str, tag: str) -> None:
        put_image(self.clients, repository, tag, content=tag.encode())

    # ------------------------------------------------------------ reading
    def builds(self, project: str) -> list[dict[str, Any]]:
        cb = self.clients.client("codebuild")
        ids = cb.list_builds_for_project(projectName=project).get("ids", [])
        return cb.batch_get_builds(ids=ids)["builds"] if ids else []

    def _drain(self, url: str) -> list[dict[str, Any]]:
        sqs = self.clients.client("sqs")
        out: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return out
            for m in messages:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def notifications(self) -> list[dict[str, Any]]:
        return self._drain(self.refs["NotificationsQueueUrl"])

    def reconcile_requests(self) -> list[dict[str, Any]]:
        return self._drain(self.requests)

    def services(self, cluster: str = "dbscluster") -> dict[str, dict[str, Any]]:
        ecs = self.clients.client("ecs")
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        if not arns:
            return {}
        found = ecs.describe_services(cluster=cluster, services=arns)["services"]
        return {s["serviceName"]: s for s in found if s["status"] == "ACTIVE"}

    def revisions(self, family: str) -> list[str]:
        ecs = self.clients.client("ecs")
        return ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
