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
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops.desired import Environment, load_environment_text
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops_tools.local import emit, persist, pull_requests
from ecs_gitops_tools.local.builder import BuildResult, LocalBuilder
from ecs_gitops_tools.local.bus import Bus, Delivery
from ecs_gitops_tools.local.gitremote import GitRemote, Seeded
from ecs_gitops_tools.local.moto_patches import apply_patches
from ecs_gitops_tools.local.net import free_port
from ecs_gitops_tools.local.rollout import Rollout, RolloutSimulator
from ecs_gitops_tools.local.stack import create_stack
from ecs_gitops_tools.local.template import ACCOUNT, Template
from ecs_gitops_tools.seed import put_image, seed

INBOX = "ecs-gitops-local-bus-inbox"
SAVED_AWS = "aws-state.pickle"  # moto's backends (persist.py)
SAVED_META = "cloud.json"  # the stack's references, the repository, the bus inbox


@dataclass
class Observers:
    """Callbacks told of each delivery, build and rollout of the embedded cloud (the
    timeline and the demo listen)."""

    delivery: list[Callable[[Delivery], None]] = field(default_factory=list)
    build: list[Callable[[BuildResult], None]] = field(default_factory=list)
    rollout: list[Callable[[Rollout], None]] = field(default_factory=list)


class PortBusyError(EcsGitopsError):
    """The embedded AWS's port is taken by another program."""


class _Server:
    """moto's server in a thread, bound before the thread starts: a busy port fails at
    once (moto's ThreadedMotoServer binds inside its thread and then waits forever)."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        try:
            self._server = make_server("127.0.0.1", port, DomainDispatcherApplication(
                create_backend_app), threaded=True, request_handler=MotoRequestHandler)
        except OSError as exc:
            raise PortBusyError(f"port {port} on 127.0.0.1 is busy ({exc.strerror}): stop "
                                f"what uses it, or choose another with --port") from None
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"moto-server-{port}")
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class EmbeddedCloud:
    """The embedded cloud. `history=True` (`local up`) seeds the git remote with the
    checkout's commits; else with the working tree as one commit (throw-away worlds).
    `resume=True` reuses what `workdir` holds from a previous run (git remote, moto's
    saved state, images); `resumed` then says whether it did, `resume_note` why not."""

    def __init__(self, workdir: Path, *, source: Path, port: int | None = None,
                 test_args: Sequence[str] = (), region: str = "us-east-1",
                 history: bool = False, resume: bool = False,
                 app_repositories: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        # Application repositories: name -> the checkout's folder each is split off
        # (`NAME.git` beside the remote, the layout the functions' wiring expects).
        self.app_repositories = dict(app_repositories or {})
        self.app_remotes: dict[str, GitRemote] = {}
        self.source = source
        self.port = port or free_port()
        self.test_args = tuple(test_args)
        self.region = region
        self.history = history
        self.resume = resume
        self.resumed = False
        self.resume_note = ""
        self.seeded: list[Seeded] = []
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.observers = Observers()
        self._server: _Server | None = None

    # ------------------------------------------------------------- lifecycle
    def start(self) -> EmbeddedCloud:
        """Start the embedded AWS (moto's server on `port`, patched to answer as ECS does),
        deploy the template's resources and seed the git remote(s); returns self. Raises
        PortBusyError when the port is taken."""
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")
        apply_patches()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._server = _Server(self.port)
        # moto's state is per process: start from nothing even if another embedded AWS
        # ran in this process before (tests do that).
        import urllib.request

        from ecs_gitops.aws import ecs

        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(reset, timeout=30).close()  # noqa: S310 - our loopback server
        ecs.clear_cache()
        from ecs_gitops_tools.local.progressive import REGISTRY

        REGISTRY.clear()  # the service deployments went with moto's state
        self.clients = Clients(region=self.region, endpoint_url=self.endpoint)
        self.template = Template(self.source / "template.yaml")
        saved = self._saved() if self.resume else None
        if saved is not None:
            self.refs = dict(saved["refs"])
            self.repository = str(saved["repository"])
            self.inbox = str(saved["inbox"])
            self.remote = GitRemote.open(self.workdir / "remote.git")
            self.resumed = True
        else:
            self._create()
        branches = list(json.loads(self.refs.get("BranchEnvironments", '{"main": "x"}')))
        # The stack's ApplicationRepositories parameter: the push rule and the functions'
        # APPLICATION_REPOSITORIES resolve from it.
        self.refs["ApplicationRepositories"] = ",".join(sorted(self.app_repositories))
        for name, folder in self.app_repositories.items():
            self.app_remotes[name] = GitRemote.application(
                self.workdir / f"{name}.git", remote=self.remote, folder=folder,
                branches=branches)
        self.environments = self._environments()
        self.builder = LocalBuilder(self.clients, self.remote, self.workdir,
                                    test_args=self.test_args,
                                    on_result=self._built)
        if self.resumed:
            self.builder.resume()
        self.rollouts = RolloutSimulator(
            self.clients, self.builder.images,
            on_rollout=self._rolled)
        self.bus = Bus(self.template, self.refs, self.clients, {
            "AWS_ENDPOINT_URL": self.endpoint, "GIT_SOURCE": str(self.remote.path),
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        }, on_delivery=self._delivered,
            log_path=self.workdir / "functions.log")
        if self.resume:
            self.save()
        return self

    def _saved(self) -> dict[str, Any] | None:
        """What a previous run left, restored into moto; None (and why) when nothing is."""
        meta = self.workdir / SAVED_META
        if not (self.workdir / "remote.git" / "HEAD").is_file() or not meta.is_file():
            self.resume_note = "nothing saved"
            return None
        loaded = persist.load(self.workdir / SAVED_AWS)
        if not loaded.ok:
            self.resume_note = loaded.reason
            return None
        data: dict[str, Any] = json.loads(meta.read_text())
        return data

    def _create(self) -> None:
        """A new world: the stack, the original world (seed), the git remote, the inbox."""
        self.refs = create_stack(self.template, self.clients)
        repository = self.refs.get("RepositoryName", "ecs-gitops")
        self.repository = repository
        branches = json.loads(self.refs.get("BranchEnvironments", '{"main": "production"}'))
        remote_path = self.workdir / "remote.git"
        if self.resume and (remote_path / "HEAD").is_file():
            # moto's state could not be restored, but pushed commits are never thrown
            # away: AWS is made again from git (the schedule's first tick applies it).
            self.remote = GitRemote.open(remote_path)
        elif self.history:
            if remote_path.exists():
                import shutil

                shutil.rmtree(remote_path)
            production = next((b for b, e in branches.items() if e == "production"), "main")
            self.remote, self.seeded = GitRemote.from_checkout(
                remote_path, source=self.source, branches=list(branches),
                production=production)
        else:
            if remote_path.exists():
                import shutil

                shutil.rmtree(remote_path)
            self.remote = GitRemote.create(remote_path, source=self.source,
                                           branches={b: "main" for b in branches})
        self.environments = self._environments()
        seed(self.environments.values(), self.clients)
        for manifest in sorted((self.workdir / "images").glob("*/*.json")):
            image = json.loads(manifest.read_text())  # images built by an earlier run
            put_image(self.clients, image["repository"], image["tag"],
                      content=str(image["digest"]).encode())
        sqs = self.clients.client("sqs")
        self.inbox = sqs.create_queue(QueueName=INBOX)["QueueUrl"]
        events = self.clients.client("events")
        events.put_rule(Name="ecs-gitops-local-bus", EventPattern=json.dumps(
            {"source": ["ecs-gitops"]}))
        events.put_targets(Rule="ecs-gitops-local-bus", Targets=[{
            "Id": "inbox", "Arn": f"arn:aws:sqs:{self.region}:{ACCOUNT}:{INBOX}"}])

    def _environments(self) -> dict[str, Environment]:
        """Each environment's file as the remote has it at the tip of its branch."""
        branches: dict[str, str] = json.loads(
            self.refs.get("BranchEnvironments", '{"main": "production"}'))
        found: dict[str, Environment] = {}
        for branch, environment in branches.items():
            tip = self.remote.tip(branch)
            path = f"desired_state/{environment}.yaml"
            text = self.remote.show(tip, path) if tip else None
            if text is not None:
                found[environment] = load_environment_text(text, path)
        return found

    def save(self) -> None:
        """Keep moto's state and the stack's references in `workdir`, for a later resume."""
        persist.save(self.workdir / SAVED_AWS)
        (self.workdir / SAVED_META).write_text(json.dumps(
            {"refs": self.refs, "repository": self.repository, "inbox": self.inbox},
            indent=2))

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
        """Stop the simulators and the server, saving the state first when the cloud resumes
        between runs (`local up`)."""
        if hasattr(self, "rollouts"):
            self.rollouts.close()
        if self._server is not None and self.resume and hasattr(self, "bus"):
            self.save()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmbeddedCloud:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- events
    def pump(self) -> int:
        """Turn what happened since the last pump into events on the bus (pushes to any
        repository and the pull requests they update, finished builds, ECS deployment
        events); returns how many were added."""
        added = 0
        for name, remote in [(self.repository, self.remote), *sorted(self.app_remotes.items())]:
            for change in remote.take_changes():
                self.bus.put(emit.codecommit(change, name, region=self.region))
                added += 1
                # CodeCommit tells the open pull requests whose source branch moved.
                for event in pull_requests.source_updated(remote.path, change.ref,
                                                          repository=name, region=self.region):
                    self.bus.put(event)
                    added += 1
            for event in remote.take_events():  # pull requests' (`local pr`)
                self.bus.put(event)
                added += 1
        for event in self.take_custom_events():
            self.bus.put(event)
            added += 1
        for produced in (self.builder.poll, self.rollouts.poll):
            for event in produced():
                self.bus.put(event)
                added += 1
        return added

    def pending(self) -> bool:
        """Whether a push (to any of its repositories) or a spooled event waits."""
        return self.remote.pending() or any(a.pending() for a in self.app_remotes.values())

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
        """Pump and deliver until nothing is left to deliver; returns how many events were
        delivered."""
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
        """What `local up` writes for the other commands: endpoint, remotes, the stack's
        resource names, pid, source folder and port."""
        return {"endpoint": self.endpoint, "remote": str(self.remote.path),
                "app_remotes": {n: str(a.path) for n, a in sorted(self.app_remotes.items())},
                "refs": dict(self.refs), "pid": os.getpid(), "source": str(self.source),
                "port": self.port}
