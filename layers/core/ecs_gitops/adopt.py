"""What runs -> the desired-state file that says it (`ecs-gitops import`).

A purely computational module: from DescribeTaskDefinition / DescribeServices entries
(or a task definition JSON file) it writes the services of a desired-state file in the
model's own terms, the shorthand where it says the same, the ECS blocks otherwise.
It then renders what it wrote and compares it with what runs, in canonical form, so
that every difference left (what the model cannot express) is listed, never hidden.
Secrets stay references; a plain environment value that looks like a secret is not
written (the file would be refused) but flagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ecs_gitops.canonical import SERVICE, TASK_DEFINITION, Node
from ecs_gitops.desired import checks
from ecs_gitops.desired.model import Environment
from ecs_gitops.diff import DiffItem, diff
from ecs_gitops.managed import not_managed
from ecs_gitops.render import (
    PLACEMENT,
    Refs,
    normalize_service_fields,
    normalize_task_definition,
    render_service_fields,
    render_task_definition,
    reported_service_fields,
    target_group_name,
)

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Running:
    """One service as it runs: its task definition (as DescribeTaskDefinition reports it,
    `tags` merged in) and its DescribeServices entry (None: from a file, no service)."""

    task_definition: Mapping[str, Any]
    service: Mapping[str, Any] | None = None
    scaling: tuple[int, int, Mapping[str, Any] | None] | None = None  # min, max, policy


@dataclass(frozen=True, slots=True)
class Adopted:
    """The desired-state mapping written, and what it could not say (one line each)."""

    data: JSON
    notes: tuple[str, ...] = field(default=())


def _without_defaults(node: Node | None, value: Any) -> Any:
    """`value` without the members equal to what ECS reports when they are not sent."""
    if node is None:
        return value
    if node.kind == "struct" and isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            child = node.members.get(key)
            if child is not None and child.rule.default is not None and item == child.rule.default:
                continue
            if item in (None, [], {}):
                continue
            out[key] = _without_defaults(child, item)
        return out
    if node.kind == "list" and isinstance(value, list):
        return [_without_defaults(node.item, i) for i in value]
    return value


CONTAINER = TASK_DEFINITION.members["containerDefinitions"].item


def _image(uri: str, registry: str, notes: list[str], name: str) -> JSON:
    if "@" in uri:
        notes.append(f"{name}: image {uri} is pinned by digest; the file pins tags")
    head, _, tag = uri.rpartition(":")
    if not head or "/" in tag:
        notes.append(f"{name}: image {uri} has no tag (ecs-gitops pins one, and refuses "
                     "'latest'): written with the tag 'set-the-tag'; set the tag it runs")
        head, tag = uri, "set-the-tag"
    if head.startswith(f"{registry}/"):
        return {"repository": head[len(registry) + 1:], "tag": tag}
    registry_part, _, repository = head.rpartition("/")
    if "." not in registry_part.split("/")[0] and ":" not in registry_part.split("/")[0]:
        return {"registry": "", "repository": head, "tag": tag}  # Docker Hub short name
    return {"registry": registry_part, "repository": repository, "tag": tag}


def _app_container(td: Mapping[str, Any], svc: Mapping[str, Any] | None, registry: str
                   ) -> Mapping[str, Any]:
    containers: list[Mapping[str, Any]] = list(td.get("containerDefinitions") or ())
    for lb in (svc or {}).get("loadBalancers") or ():
        match = next((c for c in containers if c.get("name") == lb.get("containerName")), None)
        if match is not None:
            return match
    ours = [c for c in containers if str(c.get("image", "")).startswith(f"{registry}/")]
    return (ours or containers)[0]


def _container(raw: Mapping[str, Any], mode: str, region: str, out: JSON, notes: list[str]
               ) -> JSON:
    """Fill `out` (the service mapping) with the app container's shorthand; return the
    rest for its `container:` block."""
    name = str(raw["name"])
    block = dict(_without_defaults(CONTAINER, dict(raw)))
    ports = list(block.get("portMappings") or ())
    if len(ports) == 1 and set(ports[0]) <= {"containerPort", "protocol", "hostPort"} and \
            ports[0].get("protocol", "tcp") == "tcp" and ports[0].get("hostPort") in (
                None, 0, ports[0].get("containerPort") if mode in ("awsvpc", "host") else None):
        out["port"] = ports[0]["containerPort"]
        block.pop("portMappings")
    plain = {}
    for item in block.pop("environment", None) or ():
        key, value = str(item.get("name")), item.get("value", "")
        if checks.check_environment_names({key: value}):
            notes.append(f"{name}: environment {key} holds a plain value that looks like a "
                         "secret: not written; put it in SSM Parameter Store or Secrets Manager "
                         "and reference it under secrets:")
        else:
            plain[key] = value
    if plain:
        out["environment"] = plain
    secrets = {str(s["name"]): s["valueFrom"] for s in block.pop("secrets", None) or ()}
    if secrets:
        out["secrets"] = secrets
    log = block.get("logConfiguration") or {}
    options = log.get("options") or {}
    if log.get("logDriver") == "awslogs" and not log.get("secretOptions") and options == {
            "awslogs-group": options.get("awslogs-group"), "awslogs-region": region,
            "awslogs-stream-prefix": name, "awslogs-create-group": "true"}:
        out["logGroup"] = options["awslogs-group"]
        block.pop("logConfiguration")
    for key in ("name", "image"):
        block.pop(key, None)
    return block


def _sidecar(raw: Mapping[str, Any], notes: list[str]) -> JSON:
    """A sidecar as written: defaults left out, secret-looking plain values flagged."""
    out = dict(_without_defaults(CONTAINER, dict(raw)))
    kept = []
    for item in out.pop("environment", None) or ():
        if checks.check_environment_names({str(item.get("name")): item.get("value", "")}):
            notes.append(f"{raw.get('name')}: environment {item.get('name')} holds a plain value "
                         "that looks like a secret: not written; put it in SSM Parameter Store "
                         "or Secrets Manager and reference it under secrets:")
        else:
            kept.append(item)
    if kept:
        out["environment"] = kept
    return out


def _strategy(dc: Mapping[str, Any]) -> JSON:
    """`deployment:` keys of a blue-green, canary or linear service (ECS strategy,
    bakeTimeInMinutes, the step configuration, lifecycle hooks: Lambda ones as `hooks`,
    one PAUSE hook as `approval`). A hook the file cannot say (several PAUSE hooks, one
    with hookDetails) is left out, and the self-check lists it."""
    strategy = str(dc.get("strategy") or "ROLLING")
    if strategy == "ROLLING":
        return {}
    out: JSON = {"strategy": strategy.lower().replace("_", "-")}
    if dc.get("bakeTimeInMinutes") is not None:
        out["bakeMinutes"] = dc["bakeTimeInMinutes"]
    canary = dc.get("canaryConfiguration")
    if strategy == "CANARY" and canary:
        out["canary"] = {"percent": canary.get("canaryPercent"),
                         "bakeMinutes": canary.get("canaryBakeTimeInMinutes")}
    linear = dc.get("linearConfiguration")
    if strategy == "LINEAR" and linear:
        out["linear"] = {"stepPercent": linear.get("stepPercent"),
                         "stepBakeMinutes": linear.get("stepBakeTimeInMinutes")}
    hooks, pauses = [], []
    for hook in dc.get("lifecycleHooks") or ():
        if hook.get("targetType") == "PAUSE":
            pauses.append(hook)
        elif hook.get("hookTargetArn"):
            hooks.append({"lambda": hook["hookTargetArn"],
                          "stages": list(hook.get("lifecycleStages") or ()),
                          **({"role": hook["roleArn"]} if hook.get("roleArn") else {})})
    if hooks:
        out["hooks"] = hooks
    if len(pauses) == 1 and len(pauses[0].get("lifecycleStages") or ()) == 1:
        timeout = pauses[0].get("timeoutConfiguration") or {}
        out["approval"] = {"stage": pauses[0]["lifecycleStages"][0],
                           "timeoutMinutes": timeout.get("timeoutInMinutes", 60),
                           "onTimeout": str(timeout.get("action", "ROLLBACK")).lower()}
    return out


def _advanced(advanced: Mapping[str, Any]) -> JSON:
    """A load balancer's advancedConfiguration as `loadBalancer:` keys."""
    out: JSON = {}
    if advanced.get("alternateTargetGroupArn"):
        out["alternateTargetGroup"] = target_group_name(str(advanced["alternateTargetGroupArn"]))
    for key in ("productionListenerRule", "testListenerRule"):
        if advanced.get(key):
            out[key] = advanced[key]
    if advanced.get("roleArn"):
        out["role"] = advanced["roleArn"]
    return out


def _service_block(svc: Mapping[str, Any], out: JSON, *, launch_type: str,
                   network: Mapping[str, Any] | None, app: str) -> JSON:
    """Fill `out` with the service shorthand; return the rest for its `service:` block."""
    fields = normalize_service_fields(reported_service_fields(svc), manage_count=True)
    block: JSON = {}
    dc = fields.get("deploymentConfiguration", {})
    breaker = dc.get("deploymentCircuitBreaker", {})
    out["deployment"] = {"minimumHealthyPercent": dc.get("minimumHealthyPercent", 100),
                         "maximumPercent": dc.get("maximumPercent", 200),
                         "circuitBreaker": breaker.get("enable", False),
                         "rollback": breaker.get("rollback", False)}
    if dc.get("alarms"):
        out["deployment"]["alarms"] = dc["alarms"]
    out["deployment"].update(_strategy(dc))
    strategy = fields.get("placementStrategy")
    shorthand = next((p for p, v in PLACEMENT.items()
                      if [{**s, **({"field": s["field"].upper()} if s["type"] == "binpack"
                                   else {})} for s in v] == (strategy or [])), None)
    if launch_type != "FARGATE":
        if shorthand is not None:
            out["placement"] = shorthand.value
        else:
            block["placementStrategy"] = strategy or []
    balancers = fields.get("loadBalancers") or []
    grace = fields.get("healthCheckGracePeriodSeconds", 0)
    targets = [{"targetGroup": target_group_name(str(lb.get("targetGroupArn"))),
                **({"containerName": lb["containerName"]}
                   if lb.get("containerName") != app else {}),
                **({"containerPort": lb["containerPort"]}
                   if lb.get("containerPort") != out.get("port") else {}),
                **_advanced(lb.get("advancedConfiguration") or {})}
               for lb in balancers]
    if len(targets) == 1:
        out["loadBalancer"] = {**targets[0], "healthCheckGracePeriod": grace}
    elif targets:
        out["loadBalancers"] = targets
        block["healthCheckGracePeriodSeconds"] = grace
    elif grace:
        block["healthCheckGracePeriodSeconds"] = grace
    if fields.get("networkConfiguration") and fields["networkConfiguration"] != network:
        block["networkConfiguration"] = fields["networkConfiguration"]
    for key in ("propagateTags", "enableECSManagedTags"):
        ours = {"propagateTags": "SERVICE", "enableECSManagedTags": True}[key]
        if fields.get(key, SERVICE.members[key].rule.default) != ours:
            block[key] = fields.get(key, SERVICE.members[key].rule.default)
    for key in ("capacityProviderStrategy", "platformVersion", "placementConstraints",
                "serviceRegistries", "serviceConnectConfiguration", "volumeConfigurations",
                "vpcLatticeConfigurations", "availabilityZoneRebalancing", "tags"):
        if fields.get(key) not in (None, [], {}):
            block[key] = fields[key]
    if fields.get("platformVersion") == "LATEST":
        block.pop("platformVersion", None)
    if fields.get("enableExecuteCommand"):
        block["enableExecuteCommand"] = True
    if fields.get("schedulingStrategy") == "DAEMON":
        block["schedulingStrategy"] = "DAEMON"
    return block


def adopt_service(running: Running, *, refs: Refs, region: str, launch_type: str,
                  network: Mapping[str, Any] | None, roles: Mapping[str, str | None]
                  ) -> tuple[JSON, list[str]]:
    """The file's mapping of one running service, and what it could not express."""
    td, svc = running.task_definition, running.service
    notes: list[str] = []
    label = str((svc or {}).get("serviceName") or td.get("family"))
    for member, reason in not_managed("RegisterTaskDefinition").items():
        if td.get(member):
            notes.append(f"{label}: {member} is not managed: {reason}")
    app = _app_container(td, svc, refs.registry)
    out: JSON = {"name": app["name"]}
    if svc is not None and svc.get("serviceName") != app["name"]:
        out["serviceName"] = svc["serviceName"]
    out["image"] = _image(str(app.get("image", "")), refs.registry, notes, label)
    out["cpu"] = int(td["cpu"]) if str(td.get("cpu", "")).isdigit() else None
    out["memory"] = int(td["memory"]) if str(td.get("memory", "")).isdigit() else None
    if out["cpu"] is None or out["memory"] is None:
        notes.append(f"{label}: the task definition has no task-level cpu/memory; the file "
                     "needs them (set from the containers' sum), so ECS will get them")
        boxes = td.get("containerDefinitions") or ()
        out["cpu"] = out["cpu"] or max(128, sum(int(c.get("cpu") or 0) for c in boxes))
        out["memory"] = out["memory"] or max(6, sum(
            int(c.get("memory") or c.get("memoryReservation") or 0) for c in boxes))
    mode = str(td.get("networkMode") or "bridge")
    container = _container(app, mode, region, out, notes)
    if container:
        out["container"] = container
    sidecars = [c for c in td.get("containerDefinitions") or () if c is not app]
    if sidecars:
        out["sidecars"] = [_sidecar(c, notes) for c in sidecars]
    block = {k: v for k, v in _without_defaults(TASK_DEFINITION, dict(td)).items()
             if k in TASK_DEFINITION.members and k not in ("containerDefinitions", "cpu", "memory")}
    service_name = str((svc or {}).get("serviceName") or app["name"])
    if block.get("family") == service_name:
        block.pop("family")
    for key, role in (("taskRoleArn", roles.get("task")), ("executionRoleArn",
                                                            roles.get("execution"))):
        if block.get(key) == role:
            block.pop(key, None)
    derived = "awsvpc" if network is not None or (svc or {}).get("networkConfiguration") \
        else "bridge"
    if block.get("networkMode", "bridge") == derived:
        block.pop("networkMode", None)
    if sorted(block.get("requiresCompatibilities") or [launch_type]) == [launch_type]:
        block.pop("requiresCompatibilities", None)
    if block:
        out["taskDefinition"] = block
    if svc is not None:
        service_block = _service_block(svc, out, launch_type=launch_type, network=network,
                                       app=app["name"])
        if service_block:
            out["service"] = service_block
        if running.scaling is not None:
            low, high, policy = running.scaling
            out["scaling"] = {"min": low, "max": high}
            if policy:
                out["scaling"].update({k: v for k, v in policy.items() if v is not None})
        else:
            out["desiredCount"] = int(svc.get("desiredCount", 1))
    return out, notes


def adopt(running: Sequence[Running], *, environment: str, branch: str, region: str,
          cluster: str, refs: Refs, network: Mapping[str, Any] | None = None) -> Adopted:
    """A desired-state mapping for `running`, checked: rendered back and compared with
    what runs; every difference left is a note.

    network: the tasks' awsvpc networking ({"awsvpcConfiguration": {...}}) when no
    running service says it (a task definition imported from a file)."""
    services = [r.service for r in running if r.service is not None]
    launch_types = [str(s.get("launchType")) for s in services if s.get("launchType")]
    if not launch_types:  # task definitions only: what they require
        launch_types = ["FARGATE" for r in running
                        if r.task_definition.get("requiresCompatibilities") == ["FARGATE"]]
    launch_type = max(set(launch_types), key=launch_types.count) if launch_types else "EC2"
    networks = [s["networkConfiguration"] for s in services if s.get("networkConfiguration")]
    if networks:
        network = normalize_service_fields({"networkConfiguration": networks[0]},
                                           manage_count=False).get("networkConfiguration")
    tds = [r.task_definition for r in running]
    roles = {"task": _common(tds, "taskRoleArn"), "execution": _common(tds, "executionRoleArn")}
    data: JSON = {"schemaVersion": 1, "environment": environment, "branch": branch,
                  "region": region, "cluster": cluster, "launchType": launch_type,
                  "selfHeal": True, "prune": False}
    if any(roles.values()):
        data["roles"] = {k: v for k, v in roles.items() if v}
    if network is not None:
        vpc = network["awsvpcConfiguration"]
        data["network"] = {"subnets": vpc.get("subnets", []),
                           "securityGroups": vpc.get("securityGroups", []),
                           "assignPublicIp": vpc.get("assignPublicIp") == "ENABLED"}
    notes: list[str] = []
    data["services"] = []
    for item in running:
        service, found = adopt_service(item, refs=refs, region=region, launch_type=launch_type,
                                       network=network, roles=roles)
        data["services"].append(service)
        notes += found
    notes += _self_check(data, running, refs)
    return Adopted(data, tuple(notes))


def _safe(change: DiffItem) -> str:
    """The change's line, without the value of an environment variable that looks secret
    (nothing secret is printed: invariant 9)."""
    name = change.field.rsplit(".", 1)[-1]
    if ".environment." in change.field and checks.check_environment_names({name: ""}):
        return f"{change.field}: (a plain value that looks like a secret; not shown)"
    return change.describe()


def _common(items: Sequence[Mapping[str, Any]], key: str) -> str | None:
    values = [str(i[key]) for i in items if i.get(key)]
    return max(set(values), key=values.count) if values else None


def _self_check(data: JSON, running: Sequence[Running], refs: Refs) -> list[str]:
    """Render what was written and compare with what runs: the differences left."""
    try:
        env = Environment.model_validate(data)
    except ValidationError as exc:
        return [f"the written file is not valid: {e['loc']}: {e['msg']}" for e in exc.errors()]
    notes = []
    for service, item in zip(env.services, running, strict=True):
        have = normalize_task_definition(item.task_definition)
        for change in diff(have, render_task_definition(service, env, refs), TASK_DEFINITION):
            notes.append(f"{service.ecs_name}: not expressed exactly: task definition "
                         f"{_safe(change)}")
        if item.service is not None:
            wanted = render_service_fields(service, env, refs)
            running_fields = normalize_service_fields(
                reported_service_fields(item.service), manage_count="desiredCount" in wanted)
            for change in diff(running_fields, wanted, SERVICE):
                notes.append(f"{service.ecs_name}: not expressed exactly: service "
                             f"{change.describe()}")
    return notes
