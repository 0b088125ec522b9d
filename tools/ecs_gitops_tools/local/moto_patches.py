"""Corrections to moto's ECS so that it stores and reports what real ECS does.

- Create/UpdateService and RegisterTaskDefinition: moto stores what it is sent (and
  drops some members: deploymentConfiguration, placementStrategy, enableExecuteCommand,
  enableFaultInjection, ...); ECS fills in defaults, re-cases and converts. What ECS
  reports is computed by `ecs_echo` (documented rules, tests/corpus) and set on moto's
  objects, so DescribeServices / DescribeTaskDefinition answer as ECS would.
- CodeBuild: moto reports every build SUCCEEDED the moment it is read and lists
  builds oldest first. Here a build stays IN_PROGRESS until the local builder sets
  its result (`set_build_result`), and ListBuildsForProject honours `sortOrder`.
- Rollouts: moto never progresses a deployment. Until the rollout simulator takes
  over (`instant_rollouts(False)`), a CreateService/UpdateService completes at once:
  running == desired, one PRIMARY deployment on the new definition, COMPLETED.

Patches are applied once per process (idempotent) and touch only moto's classes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.core.utils import utcnow
from moto.ecs.models import Service
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api._internal import mock_random

from ecs_gitops_tools.local import ecs_echo

_lock = threading.Lock()
_applied = False
_state = {"instant": True}
# Called with (cluster, service, task_definition_arn) after each deployment starts.
_listeners: list[Callable[[str, str, str], None]] = []

# UpdateService members whose change starts a new deployment (UpdateService docs: "This
# parameter triggers a new service deployment").
_REDEPLOY = ("networkConfiguration", "loadBalancers", "serviceRegistries", "platformVersion",
             *ecs_echo.DEPLOYMENT_MEMBERS)


def _set_echo(service: Service, echo: dict[str, Any]) -> None:
    """Make moto report `echo` for `service` (its serializer reads camelCase attributes
    first), and the deployment-level members on the PRIMARY deployment."""
    old: dict[str, Any] = getattr(service, "_ecs_echo", {})
    for key in old.keys() - echo.keys():
        if key in service.__dict__:
            delattr(service, key)
    for key, value in echo.items():
        if key not in ecs_echo.DEPLOYMENT_MEMBERS:
            setattr(service, key, value)
    service._ecs_echo = echo  # type: ignore[attr-defined]
    if service.deployments:
        primary = service.deployments[0]
        for key in ecs_echo.DEPLOYMENT_MEMBERS:
            if key in echo:
                primary[key] = echo[key]
            else:
                primary.pop(key, None)


def _params(response: Any) -> dict[str, Any]:
    return {k: v for k, v in response._get_params().items() if v is not None}


def instant_rollouts(enabled: bool) -> None:
    """Whether moto completes a deployment at once (True: no rollout simulator runs) or
    leaves it IN_PROGRESS for the simulator."""
    _state["instant"] = enabled


def on_deployment(listener: Callable[[str, str, str], None]) -> Callable[[], None]:
    """Call `listener(cluster, service, task_definition)` when a deployment starts; returns
    the function that unsubscribes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def start_deployment(service: Service, task_definition: str) -> None:
    """A new PRIMARY deployment, the way ECS starts one on a definition change."""
    now = utcnow()
    deployment = {
        "id": f"ecs-svc/{mock_random.randint(0, 32**12)}",
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress.",
    }
    for old in service.deployments:
        old["status"] = "ACTIVE"
    service.deployments = [deployment, *service.deployments]
    if _state["instant"]:
        complete_deployment(service)


def complete_deployment(service: Service) -> None:
    """Mark the service's primary deployment COMPLETED with every task running and drop the
    older ones, as ECS does when a rolling deployment reaches steady state."""
    primary = service.deployments[0]
    primary.update(runningCount=service.desired_count, pendingCount=0,
                   desiredCount=service.desired_count, rolloutState="COMPLETED",
                   rolloutStateReason=f"ECS deployment {primary['id']} completed.",
                   updatedAt=utcnow())
    service.deployments = [primary]
    service.running_count = service.desired_count
    service.pending_count = 0


def _patched_create(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def create_service(self: Any) -> Any:
        result = original(self)
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), self._get_param("serviceName"))
        service.deployments = []
        start_deployment(service, service.task_definition)
        _set_echo(service, ecs_echo.service(_params(self)))
        for listener in list(_listeners):
            listener(service.cluster_name, service.name, service.task_definition)
        return result
    return create_service


def _patched_update(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def update_service(self: Any) -> Any:
        cluster = self._get_param("cluster", "default")
        name = str(self._get_param("service")).split("/")[-1]
        before = self.ecs_backend._get_service(cluster, name)
        old_td, old_count = before.task_definition, before.desired_count
        previous: dict[str, Any] = dict(getattr(before, "_ecs_echo", {}))
        params = _params(self)
        echo = ecs_echo.service(params, previous or None)
        result = original(self)
        service = self.ecs_backend._get_service(cluster, name)
        redeploy = any(echo.get(k) != previous.get(k) for k in _REDEPLOY if k in params)
        if service.task_definition != old_td or self._get_param("forceNewDeployment") \
                or redeploy:
            start_deployment(service, service.task_definition)
            _set_echo(service, echo)
            for listener in list(_listeners):
                listener(service.cluster_name, service.name, service.task_definition)
        elif service.desired_count != old_count and service.deployments:
            service.deployments[0]["desiredCount"] = service.desired_count
            if _state["instant"]:
                complete_deployment(service)
        _set_echo(service, echo)
        return result
    return update_service


def _patched_register(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def register_task_definition(self: Any) -> Any:
        result = original(self)
        definition = result.result["taskDefinition"]
        echo = ecs_echo.task_definition(_params(self))
        definition.cpu, definition.memory = echo["cpu"], echo["memory"]
        definition.container_definitions = echo["containerDefinitions"]
        definition.enableFaultInjection = echo["enableFaultInjection"]
        if "trustedExecutionConfiguration" in echo:
            definition.trustedExecutionConfiguration = echo["trustedExecutionConfiguration"]
        return result
    return register_task_definition


# --- service deployments (moto has none): ecs_gitops_tools.local.progressive -------------


def _deployment_call(handler: Callable[[Any, float], Any]) -> Callable[[Any], Any]:
    def call(self: Any) -> Any:
        from moto.core.responses import ActionResult

        from ecs_gitops_tools.local.progressive import DeploymentError
        from ecs_gitops_tools.local.time_scale import clock

        try:
            return ActionResult(handler(self, clock()))
        except DeploymentError as exc:
            from moto.ecs.exceptions import ECSException

            raise ECSException(exc.code, str(exc)) from None
    return call


def _list_service_deployments(self: Any, now: float) -> dict[str, Any]:
    from ecs_gitops_tools.local.progressive import REGISTRY
    from ecs_gitops_tools.local.template import ACCOUNT

    cluster = self._get_param("cluster", "default")
    service = self.ecs_backend._get_service(cluster, str(self._get_param("service")))
    arn = f"arn:aws:ecs:{self.region}:{ACCOUNT}:service/{service.cluster_name}/{service.name}"
    found = REGISTRY.of_service(arn, self._get_param("status") or ())
    return {"serviceDeployments": [d.brief() for d in found]}


def _describe_service_deployments(self: Any, now: float) -> dict[str, Any]:
    from ecs_gitops_tools.local.progressive import REGISTRY, DeploymentError

    out, failures = [], []
    for arn in self._get_param("serviceDeploymentArns") or ():
        try:
            out.append(REGISTRY.get(arn).describe())
        except DeploymentError:
            failures.append({"arn": arn, "reason": "MISSING"})
    return {"serviceDeployments": out, "failures": failures}


def _continue_service_deployment(self: Any, now: float) -> dict[str, Any]:
    from ecs_gitops_tools.local.progressive import REGISTRY

    arn = str(self._get_param("serviceDeploymentArn"))
    deployment = REGISTRY.get(arn)
    with REGISTRY.lock:
        deployment.continue_hook(str(self._get_param("hookId")),
                                 str(self._get_param("action") or "CONTINUE"), now)
    return {"serviceDeploymentArn": arn}


def _stop_service_deployment(self: Any, now: float) -> dict[str, Any]:
    from ecs_gitops_tools.local.progressive import REGISTRY, DeploymentError

    arn = str(self._get_param("serviceDeploymentArn"))
    deployment = REGISTRY.get(arn)
    stop = str(self._get_param("stopType") or "ABORT")
    with REGISTRY.lock:
        if stop == "ROLLBACK":
            deployment.request_rollback("stopped with StopServiceDeployment (ROLLBACK)", now)
        elif not deployment.active:
            raise DeploymentError("InvalidParameterException",
                                  f"the deployment is {deployment.status}: nothing to stop")
        else:
            deployment.status = "STOPPED"
            deployment.status_reason = "stopped with StopServiceDeployment (ABORT)"
    return {"serviceDeploymentArn": arn}


def _batch_get_builds(self: Any, ids: list[str]) -> list[dict[str, Any]]:
    return [build for history in self.build_metadata_history.values() for build in history
            if build["id"] in ids]


def _start_build(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """StartBuild whose build reports the source it runs, as CodeBuild does
    (BatchGetBuilds' `source`): the project's, or StartBuild's sourceTypeOverride,
    sourceLocationOverride and buildspecOverride (moto drops them and reports a
    placeholder source, buildspec "buildspec/stuff.yaml")."""
    def start_build(self: Any) -> Any:
        result = original(self)
        build = result.result.get("build") if hasattr(result, "result") else None
        if not isinstance(build, dict):
            return result
        project = self.codebuild_backend.codebuild_projects[self._get_param("projectName")]
        source = dict(project.project_metadata.get("source") or {})
        if self._get_param("sourceLocationOverride"):
            source = {"type": self._get_param("sourceTypeOverride") or "CODECOMMIT",
                      "location": self._get_param("sourceLocationOverride")}
        if self._get_param("buildspecOverride"):
            source["buildspec"] = self._get_param("buildspecOverride")
        build["source"] = source
        return result
    return start_build


def _list_builds_for_project(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_builds_for_project(self: Any) -> Any:
        result = original(self)
        if self._get_param("sortOrder", "DESCENDING") == "DESCENDING":
            from moto.core.responses import ActionResult

            return ActionResult({"ids": list(reversed(result.result["ids"]))})
        return result
    return list_builds_for_project


def set_build_result(build_id: str, *, status: str, exported: dict[str, str],
                     account: str = "123456789012", region: str = "us-east-1") -> None:
    """What a finished CodeBuild build reports (the local builder calls this)."""
    from moto.codebuild.models import codebuild_backends

    backend = codebuild_backends[account][region]
    for history in backend.build_metadata_history.values():
        for build in history:
            if build["id"] == build_id:
                build.update(buildStatus=status, currentPhase="COMPLETED", buildComplete=True,
                             endTime=utcnow().isoformat(),
                             resolvedSourceVersion=build.get("sourceVersion"),
                             exportedEnvironmentVariables=[
                                 {"name": k, "value": v} for k, v in exported.items()])
                return
    raise KeyError(build_id)


def apply_patches() -> None:
    """Patch moto (once per process) to answer as ECS and CodeBuild do where it differs: the
    echo of stored fields, deployments and service deployments, build sources (each patch
    cites its source where it is defined)."""
    global _applied
    with _lock:
        if _applied:
            return
        cls: Any = EC2ContainerServiceResponse
        cls.create_service = _patched_create(cls.create_service)
        cls.update_service = _patched_update(cls.update_service)
        cls.register_task_definition = _patched_register(cls.register_task_definition)
        cls.list_service_deployments = _deployment_call(_list_service_deployments)
        cls.describe_service_deployments = _deployment_call(_describe_service_deployments)
        cls.continue_service_deployment = _deployment_call(_continue_service_deployment)
        cls.stop_service_deployment = _deployment_call(_stop_service_deployment)
        from moto.codebuild.models import CodeBuildBackend
        from moto.codebuild.responses import CodeBuildResponse

        backend_cls: Any = CodeBuildBackend
        backend_cls.batch_get_builds = _batch_get_builds
        response_cls: Any = CodeBuildResponse
        response_cls.list_builds_for_project = _list_builds_for_project(
            response_cls.list_builds_for_project)
        response_cls.start_build = _start_build(response_cls.start_build)
        from ecs_gitops_tools.local import moto_scale

        moto_scale.apply()  # pages as AWS sizes them, services looked up by key
        _applied = True
