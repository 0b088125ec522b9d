"""The embedded cloud, assembled in one process: moto (as a server on 127.0.0.1),
the controllers' stack from template.yaml, the original world, a bare git remote
standing in for CodeCommit, the local builder (CodeBuild), the rollout simulator
(ECS deployments) and the bus (EventBridge) that routes everything to the handlers.

`pump()` collects what the stand-ins have to say (ref changes, custom events the
functions put, finished builds, deployments) and `run()` delivers until quiet.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops.desired import load_environment
from ecs_gitops_tools.local import emit
from ecs_gitops_tools.local.builder import BuildResult, LocalBuilder
from ecs_gitops_tools.local.bus import Bus, Delivery
from ecs_gitops_tools.local.gitremote import GitRemote
from ecs_gitops_tools.local.moto_patches import apply_patches
from ecs_gitops_tools.local.rollout import Rollout, RolloutSimulator
from ecs_gitops_tools.local.stack import create_stack
from ecs_gitops_tools.local.template import ACCOUNT, Template
from ecs_gitops_tools.seed import seed

INBOX = "ecs-gitops-local-bus-inbox"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Observers:
    delivery: list[Callable[[Delivery], None]] = field(default_factory=list)
    build: list[Callable[[BuildResult], None]] = field(default_factory=list)
    rollout: list[Callable[[Rollout], None]] = field(default_factory=list)


class EmbeddedCloud:
    def __init__(self, workdir: Path, *, source: Path, port: int | None = None,
                 test_args: Sequence[str] = (), region: str = "us-east-1") -> None:
        self.workdir = workdir
        self.source = source
        self.port = port or free_port()
        self.test_args = tuple(test_args)
        self.region = region
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.observers = Observers()
        self._server: Any = None

    # ------------------------------------------------------------- lifecycle
    def start(self) -> EmbeddedCloud:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")
        apply_patches()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        # moto's state is per process: start from nothing even if another embedded AWS
        # ran in this process before (tests do that).
        import urllib.request

        from ecs_gitops.aws import ecs

        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(reset, timeout=30).close()  # noqa: S310 - our loopback server
        ecs.clear_cache()
        self.clients = Clients(region=self.region, endpoint_url=self.endpoint)
        self.template = Template(self.source / "template.yaml")
        self.refs = create_stack(self.template, self.clients)
        desired = sorted((self.source / "desired_state").glob("*.yaml"))
        self.environments = {p.stem: load_environment(p) for p in desired}
        seed(self.environments.values(), self.clients)
        repository = self.refs.get("RepositoryName", "ecs-gitops")
        self.repository = repository
        branches = json.loads(self.refs.get("BranchEnvironments", '{"main": "production"}'))
        self.remote = GitRemote.create(self.workdir / "remote.git", source=self.source,
                                       branches={b: "main" for b in branches})
        sqs = self.clients.client("sqs")
        self.inbox = sqs.create_queue(QueueName=INBOX)["QueueUrl"]
        events = self.clients.client("events")
        events.put_rule(Name="ecs-gitops-local-bus", EventPattern=json.dumps(
            {"source": ["ecs-gitops"]}))
        events.put_targets(Rule="ecs-gitops-local-bus", Targets=[{
            "Id": "inbox", "Arn": f"arn:aws:sqs:{self.region}:{ACCOUNT}:{INBOX}"}])
        self.builder = LocalBuilder(self.clients, self.remote, self.workdir,
                                    test_args=self.test_args,
                                    on_result=self._built)
        self.rollouts = RolloutSimulator(
            self.clients, self.builder.images,
            on_rollout=self._rolled)
        self.bus = Bus(self.template, self.refs, self.clients, {
            "AWS_ENDPOINT_URL": self.endpoint, "GIT_SOURCE": str(self.remote.path),
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        }, on_delivery=self._delivered,
            log_path=self.workdir / "functions.log")
        return self

    def _built(self, result: BuildResult) -> None:
        for observer in self.observers.build:
            observer(result)

    def _rolled(self, rollout: Rollout) -> None:
        for observer in self.observers.rollout:
            observer(rollout)

    def _delivered(self, delivery: Delivery) -> None:
        for observer in self.observers.delivery:
            observer(delivery)

    def stop(self) -> None:
        if hasattr(self, "rollouts"):
            self.rollouts.close()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmbeddedCloud:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- events
    def pump(self) -> int:
        added = 0
        for change in self.remote.take_changes():
            self.bus.put(emit.codecommit(change, self.repository, region=self.region))
            added += 1
        for event in self.take_custom_events():
            self.bus.put(event)
            added += 1
        for produced in (self.builder.poll, self.rollouts.poll):
            for event in produced():
                self.bus.put(event)
                added += 1
        return added

    def take_custom_events(self) -> list[dict[str, Any]]:
        """The events the functions put on EventBridge (e.g. Reconcile Requested)."""
        sqs = self.clients.client("sqs")
        events: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                event = json.loads(message["Body"])
                # moto's EventBridge -> SQS delivery leaves out envelope fields that
                # EventBridge always sets.
                event.setdefault("version", "0")
                event.setdefault("account", ACCOUNT)
                event.setdefault("region", self.region)
                event.setdefault("resources", [])
                events.append(event)
                sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=message["ReceiptHandle"])

    def run(self) -> int:
        return self.bus.run(self.pump)

    def schedule(self, function: str) -> None:
        """One tick of `function`'s schedule rule (as EventBridge Scheduler would send)."""
        spec = self.template.function(function)
        rule = next((r for r in spec.rules if r.schedule), None)
        if rule is None:
            raise ValueError(f"{function} has no schedule in the template")
        self.bus.put(emit.scheduled(f"ecs-gitops-{spec.logical_id}{rule.name}-LOCAL",
                                    region=self.region))

    def state(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "remote": str(self.remote.path),
                "refs": dict(self.refs), "pid": os.getpid(), "source": str(self.source)}
