"""The embedded cloud's ECS deployments: after a deployment starts (CreateService or
UpdateService with a new task definition), start the image's app the way the task
definition says, probe it with the image's HEALTHCHECK, and either complete the
deployment or, with the circuit breaker and rollback on, fail it and roll the
service back to the previous task definition. Emits the "ECS Deployment State
Change" events ECS emits.

Services whose strategy is BLUE_GREEN, CANARY or LINEAR are walked through ECS's
lifecycle stages by `ecs_gitops_tools.local.progressive` (traffic steps, bake times,
PAUSE hooks, alarms) on every poll, time-scaled.

Images that no local build produced (the placeholders `seed` creates) have no app
to start: they are reported healthy, and the timeline says so.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from moto.ecs.models import ecs_backends

from ecs_gitops.aws.clients import Clients
from ecs_gitops_tools.local import emit, time_scale
from ecs_gitops_tools.local.builder import Image
from ecs_gitops_tools.local.moto_patches import complete_deployment, instant_rollouts, on_deployment
from ecs_gitops_tools.local.net import free_port
from ecs_gitops_tools.local.progressive import PROGRESSIVE, REGISTRY, ServiceDeployment
from ecs_gitops_tools.local.template import ACCOUNT
from ecs_gitops_tools.operations import set_alarm

START_TIMEOUT = 8.0  # seconds for a new task to pass its health check


@dataclass(frozen=True, slots=True)
class Rollout:
    """The end of one simulated deployment: the service, the image it tried, whether it
    became healthy, why, the task definition it rolled back to, and what rolled it back
    (circuit breaker, an alarm, an abort, a time-out)."""

    cluster: str
    service: str
    image: str
    healthy: bool
    reason: str
    rolled_back_to: str | None = None
    cause: str = "circuit breaker"  # what rolled it back (an alarm, an abort, a time-out)


class RolloutSimulator:
    """Plays what ECS's scheduler does with a deployment: starts the image's health probe
    and rolls forward or back (circuit breaker), and walks blue-green, canary and linear
    deployments through their lifecycle stages, bake times, alarms and approvals."""
    def __init__(self, clients: Clients, images: Mapping[tuple[str, str], Image], *,
                 python: str = sys.executable,
                 on_rollout: Callable[[Rollout], None] | None = None) -> None:
        self.clients = clients
        self.images = images
        self.python = python
        self.on_rollout = on_rollout
        self.pending: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self.rollouts: list[Rollout] = []
        # service deployment ARN -> (cluster, service, its deployment, the previous one, image)
        self.progressive: dict[str, tuple[str, str, dict[str, Any], dict[str, Any], str]] = {}
        # service deployment ARN -> the alarms its failing health probe raised
        self.probe_alarms: dict[str, list[str]] = {}
        instant_rollouts(False)
        self._unsubscribe = on_deployment(lambda c, s, td: self.pending.put((c, s, td)))

    def close(self) -> None:
        """Stop listening for deployments; moto completes them at once again."""
        self._unsubscribe()
        instant_rollouts(True)

    def _backend(self) -> Any:
        return ecs_backends[ACCOUNT][self.clients.region]

    def poll(self) -> list[dict[str, Any]]:
        """Start the deployments begun since the last poll, walk the progressive ones;
        the events ECS would have emitted meanwhile."""
        events: list[dict[str, Any]] = []
        while not self.pending.empty():
            cluster, name, _td = self.pending.get()
            self._supersede(cluster, name)
            events += self._roll(cluster, name)
        for arn in list(self.progressive):
            events += self._advance(REGISTRY.get(arn))
        return events

    def _supersede(self, cluster: str, name: str) -> None:
        """A new deployment of a service stops its progressive one (ECS: the newer
        deployment replaces it)."""
        for arn, (c, n, *_rest) in list(self.progressive.items()):
            if (c, n) == (cluster, name):
                deployment = REGISTRY.get(arn)
                with REGISTRY.lock:
                    deployment.status = "STOPPED"
                    deployment.status_reason = "superseded by a newer deployment"
                self.progressive.pop(arn)

    def busy(self) -> bool:
        """Whether a progressive deployment is still walking by itself (steps, bakes): one
        that waits for a person (an approval) is not busy, it waits. Deployments started
        since the last poll count as busy."""
        if not self.pending.empty():
            return True
        for arn in self.progressive:
            deployment = REGISTRY.get(arn)
            if not any(h.status == "AWAITING_ACTION" for h in deployment.hooks):
                return True
        return False

    def _roll(self, cluster: str, name: str) -> list[dict[str, Any]]:
        backend = self._backend()
        service = backend._get_service(cluster, name)
        deployment = service.deployments[0]
        events = [emit.ecs_deployment(region=self.clients.region, cluster=cluster, service=name,
                                      event_name="SERVICE_DEPLOYMENT_IN_PROGRESS",
                                      deployment_id=deployment["id"],
                                      reason=f"ECS deployment {deployment['id']} in progress.")]
        td = backend.describe_task_definition(deployment["taskDefinition"])
        container = td.container_definitions[0]
        image_uri = str(container.get("image", ""))
        healthy, reason = self._probe(image_uri, container)
        previous = next((d for d in service.deployments[1:]), None)
        echo = getattr(service, "_ecs_echo", {})
        config = echo.get("deploymentConfiguration") or {}
        breaker = config.get("deploymentCircuitBreaker") or {}
        if config.get("strategy") in PROGRESSIVE and previous is not None:
            alarms = config.get("alarms") or {}
            watched = list(alarms.get("alarmNames") or ()) if alarms.get("enable") else []
            if not healthy and not watched:  # nothing watches: the tasks never get healthy
                return events + self._fail_and_roll_back(
                    cluster, name, deployment, previous, image_uri,
                    f"tasks failed container health checks ({reason})", reason,
                    cause="failed health checks")
            started = self._start_progressive(cluster, name, deployment, previous, image_uri,
                                              {**config, "_loadBalancers":
                                               echo.get("loadBalancers") or ()})
            if not healthy:
                # The probe-driven alarm: the new tasks fail their health check, so the
                # alarms watching the deployment (on the target group's unhealthy hosts,
                # say) go to ALARM, and ECS rolls back; they clear once those tasks go.
                for alarm in watched:
                    set_alarm(self.clients, alarm, "ALARM")
                self.probe_alarms[started.arn] = watched
            return events + self._advance(started)
        if healthy or previous is None or not breaker.get("enable"):
            complete_deployment(service)
            events.append(emit.ecs_deployment(
                region=self.clients.region, cluster=cluster, service=name,
                event_name="SERVICE_DEPLOYMENT_COMPLETED",
                deployment_id=deployment["id"],
                reason=f"ECS deployment {deployment['id']} completed."))
            self._record(Rollout(cluster, name, image_uri, True, reason))
            return events
        if not breaker.get("rollback"):
            events.append(emit.ecs_deployment(
                region=self.clients.region, cluster=cluster, service=name,
                event_name="SERVICE_DEPLOYMENT_FAILED",
                deployment_id=deployment["id"],
                reason=f"ECS deployment circuit breaker: tasks failed container health "
                       f"checks ({reason})."))
            self._record(Rollout(cluster, name, image_uri, False, reason))
            return events
        return events + self._fail_and_roll_back(
            cluster, name, deployment, previous, image_uri,
            f"ECS deployment circuit breaker: tasks failed container health checks "
            f"({reason})", reason)

    def _fail_and_roll_back(self, cluster: str, name: str, deployment: Mapping[str, Any],
                            previous: Mapping[str, Any], image_uri: str, why: str,
                            reason: str, *, cause: str = "circuit breaker"
                            ) -> list[dict[str, Any]]:
        """SERVICE_DEPLOYMENT_FAILED, then ECS's rollback to the last completed deployment
        (its own IN_PROGRESS and COMPLETED events)."""
        from ecs_gitops_tools.local.moto_patches import start_deployment

        service = self._backend()._get_service(cluster, name)
        events = [emit.ecs_deployment(region=self.clients.region, cluster=cluster, service=name,
                                      event_name="SERVICE_DEPLOYMENT_FAILED",
                                      deployment_id=deployment["id"], reason=f"{why}.")]
        service.task_definition = previous["taskDefinition"]
        service.deployments = [dict(previous)]
        start_deployment(service, previous["taskDefinition"])
        rollback = service.deployments[0]
        complete_deployment(service)
        events += [
            emit.ecs_deployment(region=self.clients.region, cluster=cluster, service=name,
                                event_name="SERVICE_DEPLOYMENT_IN_PROGRESS",
                                deployment_id=rollback["id"],
                                reason=f"ECS deployment {rollback['id']} in progress "
                                       "(rollback)."),
            emit.ecs_deployment(region=self.clients.region, cluster=cluster, service=name,
                                event_name="SERVICE_DEPLOYMENT_COMPLETED",
                                deployment_id=rollback["id"],
                                reason=f"ECS deployment {rollback['id']} completed (rollback)."),
        ]
        self._record(Rollout(cluster, name, image_uri, False, reason,
                             rolled_back_to=str(previous["taskDefinition"]).rsplit("/", 1)[-1],
                             cause=cause))
        return events

    # --- blue/green, canary, linear: ecs_gitops_tools.local.progressive ------------------
    def _start_progressive(self, cluster: str, name: str, deployment: Mapping[str, Any],
                           previous: Mapping[str, Any], image_uri: str,
                           config: Mapping[str, Any]) -> ServiceDeployment:
        region = self.clients.region
        started = ServiceDeployment(
            arn=f"arn:aws:ecs:{region}:{ACCOUNT}:service-deployment/{cluster}/{name}/"
                f"{str(deployment['id']).rsplit('/', 1)[-1]}",
            deployment_id=str(deployment["id"]),
            service_arn=f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{name}",
            cluster_arn=f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{cluster}",
            target_revision=str(deployment["taskDefinition"]),
            source_revision=str(previous["taskDefinition"]),
            config=config, minute=time_scale.minute_seconds(), started=time_scale.clock())
        REGISTRY.add(started)
        self.progressive[started.arn] = (cluster, name, dict(deployment), dict(previous),
                                         image_uri)
        return started

    def _in_alarm(self, names: Any) -> set[str]:
        from moto.cloudwatch.models import cloudwatch_backends

        alarms = cloudwatch_backends[ACCOUNT][self.clients.region].alarms
        return {n for n in names if n in alarms and alarms[n].state_value == "ALARM"}

    def _advance(self, deployment: ServiceDeployment) -> list[dict[str, Any]]:
        """Walk one progressive deployment as far as the clock allows; its events."""
        cluster, name, started, previous, image_uri = self.progressive[deployment.arn]
        with REGISTRY.lock:
            deployment.advance(time_scale.clock(), self._in_alarm)
            pending, deployment.events = deployment.events, []
        events: list[dict[str, Any]] = []
        for kind, detail in pending:
            if kind == "ECS Hook State Change":
                events.append(emit.ecs_hook(cluster=cluster, service=name, detail=detail,
                                            region=self.clients.region))
            elif kind == "completed":
                complete_deployment(self._backend()._get_service(cluster, name))
                events.append(emit.ecs_deployment(
                    region=self.clients.region, cluster=cluster, service=name,
                    event_name="SERVICE_DEPLOYMENT_COMPLETED", deployment_id=started["id"],
                    reason=f"ECS deployment {started['id']} completed."))
                self._record(Rollout(cluster, name, image_uri, True,
                                     f"{deployment.config.get('strategy')} completed"))
            elif kind == "rollback":
                events += self._fail_and_roll_back(cluster, name, started, previous, image_uri,
                                                   str(detail["reason"]), str(detail["reason"]),
                                                   cause=str(detail["reason"]))
                for alarm in self.probe_alarms.pop(deployment.arn, ()):
                    set_alarm(self.clients, alarm, "OK")
        if not deployment.active:
            self.progressive.pop(deployment.arn, None)
        return events

    def _record(self, rollout: Rollout) -> None:
        self.rollouts.append(rollout)
        if self.on_rollout:
            self.on_rollout(rollout)

    def _secrets(self, container: Mapping[str, Any]) -> dict[str, str]:
        """What ECS injects from SSM for the task (never logged)."""
        names = {s["name"]: s["valueFrom"] for s in container.get("secrets") or ()}
        if not names:
            return {}
        ssm = self.clients.client("ssm")
        found = ssm.get_parameters(Names=sorted(set(names.values())), WithDecryption=True)
        values = {p["Name"]: p["Value"] for p in found.get("Parameters", ())}
        return {k: values[v] for k, v in names.items() if v in values}

    def _probe(self, image_uri: str, container: Mapping[str, Any]) -> tuple[bool, str]:
        repository, _, tag = image_uri.split("/", 1)[-1].rpartition(":")
        image = self.images.get((repository, tag))
        if image is None or not image.command:
            return True, "placeholder image (not built locally): assumed healthy"
        port = free_port()
        env = {**os.environ, **{e["name"]: e["value"] for e in container.get("environment") or ()},
               **self._secrets(container), "PORT": str(port), "PYTHONPATH": str(image.root)}
        command = [self.python if a in ("python", "python3") else a for a in image.command]
        probe = [self.python if a in ("python", "python3") else a for a in image.healthcheck]
        app = subprocess.Popen(command, cwd=image.root, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if app.poll() is not None:
                    tail = (app.stderr.read() if app.stderr else "").strip().splitlines()[-1:]
                    return False, f"the app exited with {app.returncode}: {' '.join(tail)}"
                if not probe:
                    return True, "no HEALTHCHECK: running"
                checked = subprocess.run(probe, cwd=image.root, env=env, capture_output=True,
                                         timeout=10, check=False)
                if checked.returncode == 0:
                    return True, "health check passed"
                time.sleep(0.3)
            return False, f"health check failing for {START_TIMEOUT:.0f}s"
        finally:
            app.terminate()
            try:
                app.wait(5)
            except subprocess.TimeoutExpired:
                app.kill()
