"""What ECS would refuse in a service's containers and fields, found before the first write.

Plain functions over the service as the file says it (camelCase mapping, as
`model_dump(by_alias=True)` gives it or the loader reads it), returning
`(location, message)` pairs like `checks`. Sources, from the ECS documentation:
- at most 10 containers per task definition (Service Quotas, "Containers per task
  definition");
- container `cpu` must fit in the task's, and their sum too; container `memory` and
  `memoryReservation` may not exceed the task's memory, `memoryReservation` may not
  exceed `memory` (task definition parameters, "cpu", "memory");
- at least one container must be essential (ContainerDefinition `essential`);
- `dependsOn` names containers of the same task, and ECS refuses cycles
  (ContainerDependency);
- a container port mapping appears once per container, and once per task where the
  containers share a network namespace (awsvpc, host); port mapping names are unique
  in the task (PortMapping `name`, Service Connect);
- Fargate takes only awsvpc, no placement strategies or constraints, no DAEMON
  scheduling (CreateService `schedulingStrategy`, `placementStrategy`);
- a service has at most one service registry and at most 5 placement strategy rules
  (CreateService `serviceRegistries`, `placementStrategy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ecs_gitops.desired import checks

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]

MAX_CONTAINERS = 10
MAX_PLACEMENT_STRATEGIES = 5
MAX_SERVICE_REGISTRIES = 1

# (shorthand key, block path, block key): each pair says the same thing twice.
_EXCLUSIVE = (
    ("port", "container", "portMappings"),
    ("logGroup", "container", "logConfiguration"),
    ("environment", "container", "environment"),
    ("secrets", "container", "secrets"),
    ("healthCheck", "container", "healthCheck"),
    ("placement", "service", "placementStrategy"),
    ("loadBalancer", "loadBalancers", None),
)


def _seq(value: Any) -> list[Any]:
    """`value` if it is a list (raw YAML may hold anything), else []."""
    return list(value) if isinstance(value, list | tuple) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def containers(service: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The service's containers as plain mappings: the app container first, then sidecars."""
    app = dict(_map(service.get("container")))
    app["name"] = service.get("name")
    app.setdefault("portMappings", [{"containerPort": service["port"], "protocol": "tcp"}]
                   if isinstance(service.get("port"), int) else [])
    out = [app]
    out += [dict(s) for s in _seq(service.get("sidecars")) if isinstance(s, Mapping)]
    return out


def _where(index: int) -> Loc:
    return ("container",) if index == 0 else ("sidecars", index - 1)


def _cycles(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """Names on a dependsOn cycle (depth-first search, three colours)."""
    state: dict[str, int] = {}
    found: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                found.extend(stack[stack.index(nxt):] if nxt in stack else [nxt])
            elif nxt in graph and state.get(nxt) is None:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in graph:
        if state.get(name) is None:
            visit(name, [name])
    return found


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_containers(service: Mapping[str, Any]) -> Problems:
    """Counts, names, essential, dependsOn, sizes and ports of the task's containers."""
    problems: Problems = []
    boxes = containers(service)
    if len(boxes) > MAX_CONTAINERS:
        problems.append((("sidecars",), f"ECS takes at most {MAX_CONTAINERS} containers per "
                         f"task definition; this task has {len(boxes)}"))
    seen: dict[str, int] = {}
    for index, box in enumerate(boxes):
        name = box.get("name")
        if isinstance(name, str) and name in seen:
            problems.append(((*_where(index), "name"),
                             f"container {name!r} is defined twice in the task"))
        elif isinstance(name, str):
            seen[name] = index
    if not any(box.get("essential", True) is not False for box in boxes):
        problems.append((("container", "essential"),
                         "no container is essential: ECS refuses a task definition without one"))
    graph = {str(b.get("name")): [str(d.get("containerName")) for d in _seq(b.get("dependsOn"))
                                  if isinstance(d, Mapping)] for b in boxes}
    for index, box in enumerate(boxes):
        for n, dep in enumerate(graph[str(box.get("name"))]):
            if dep not in graph:
                problems.append(((*_where(index), "dependsOn", n, "containerName"),
                                 f"dependsOn names {dep!r}, which is not a container of the task"))
    cycle = _cycles(graph)
    if cycle:
        problems.append((("container", "dependsOn"),
                         f"dependsOn has a cycle: {' -> '.join(dict.fromkeys(cycle))}"))
    problems += _sizes(service, boxes)
    problems += _ports(boxes, shared=False)
    return problems


def _sizes(service: Mapping[str, Any], boxes: list[dict[str, Any]]) -> Problems:
    problems: Problems = []
    task_cpu, task_memory = _int(service.get("cpu")), _int(service.get("memory"))
    total_cpu = 0
    for index, box in enumerate(boxes):
        cpu, memory, reserve = (_int(box.get(k)) for k in ("cpu", "memory", "memoryReservation"))
        total_cpu += cpu or 0
        if cpu is not None and task_cpu is not None and cpu > task_cpu:
            problems.append(((*_where(index), "cpu"),
                             f"container cpu {cpu} is above the task's {task_cpu}"))
        for key, value in (("memory", memory), ("memoryReservation", reserve)):
            if value is not None and task_memory is not None and value > task_memory:
                problems.append(((*_where(index), key),
                                 f"container {key} {value} MiB is above the task's "
                                 f"{task_memory} MiB"))
        if memory is not None and reserve is not None and reserve > memory:
            problems.append(((*_where(index), "memoryReservation"),
                             f"memoryReservation {reserve} MiB is above memory {memory} MiB"))
    if task_cpu is not None and total_cpu > task_cpu and len(boxes) > 1:
        problems.append((("sidecars",), f"the containers reserve {total_cpu} cpu units in all, "
                         f"more than the task's {task_cpu}"))
    return problems


def _ports(boxes: list[dict[str, Any]], *, shared: bool) -> Problems:
    problems: Problems = []
    task_seen: dict[tuple[Any, Any], str] = {}
    names: set[str] = set()
    for index, box in enumerate(boxes):
        own: set[tuple[Any, Any]] = set()
        for n, mapping in enumerate(_seq(box.get("portMappings"))):
            if not isinstance(mapping, Mapping) or mapping.get("containerPort") is None:
                continue
            port = (str(mapping.get("containerPort")), str(mapping.get("protocol", "tcp")))
            where = (*_where(index), "portMappings", n)
            if port in own:
                problems.append((where, f"port {port[0]}/{port[1]} is mapped twice in "
                                 f"container {box.get('name')!r}"))
            elif shared and port in task_seen:
                problems.append((where, f"port {port[0]}/{port[1]} is already mapped by "
                                 f"container {task_seen[port]!r}; containers of an awsvpc or "
                                 "host task share one network namespace"))
            own.add(port)
            task_seen.setdefault(port, str(box.get("name")))
            name = mapping.get("name")
            if isinstance(name, str):
                if name in names and not shared:
                    problems.append(((*where, "name"), f"port mapping name {name!r} is used "
                                     "twice in the task"))
                names.add(name)
    return problems


def _plain_secrets(service: Mapping[str, Any]) -> Problems:
    """Invariant 9 in every container, not only the shorthand `environment:`."""
    problems: Problems = []
    for index, box in enumerate(containers(service)):
        if index == 0 and not service.get("container"):
            continue
        pairs = [e for e in _seq(box.get("environment")) if isinstance(e, Mapping)]
        values = {str(e.get("name")): e.get("value") for e in pairs}
        for loc, message in checks.check_environment_names(values):
            n = next(i for i, e in enumerate(pairs) if str(e.get("name")) == loc[0])
            problems.append(((*_where(index), "environment", n, "name"), message))
    return problems


def check_service(service: Mapping[str, Any], *, explicit: Iterable[str] | None = None
                  ) -> Problems:
    """Rules within one service. `explicit`: the keys the file sets (snake or camel case);
    by default the keys of `service` (raw data from the file)."""
    keys = service.keys() if explicit is None else explicit
    given = {k.replace("_", "").lower() for k in keys}
    problems: Problems = []
    for short, other, key in _EXCLUSIVE:
        inner = service.get(other) if key else None
        in_block = (key is not None and isinstance(inner, Mapping) and inner.get(key)) or (
            key is None and service.get(other))
        if short.lower() in given and in_block:
            said = f"{other}.{key}" if key else other
            problems.append(((short,), f"{short} and {said} say the same thing: keep one"))
    problems += check_containers(service)
    problems += _plain_secrets(service)
    block: Any = service.get("service") or {}
    if isinstance(block, Mapping):
        registries = _seq(block.get("serviceRegistries"))
        if len(registries) > MAX_SERVICE_REGISTRIES:
            problems.append((("service", "serviceRegistries"),
                             "ECS associates a service with one service registry at most"))
        strategies = _seq(block.get("placementStrategy"))
        if len(strategies) > MAX_PLACEMENT_STRATEGIES:
            problems.append((("service", "placementStrategy"), "ECS takes at most "
                             f"{MAX_PLACEMENT_STRATEGIES} placement strategy rules"))
        connect = _map(block.get("serviceConnectConfiguration"))
        namespace = connect.get("namespace") if isinstance(connect, Mapping) else None
        if isinstance(namespace, str) and not namespace.startswith("arn:"):
            problems.append((("service", "serviceConnectConfiguration", "namespace"),
                             "give the Cloud Map namespace's ARN: ECS reports the ARN, so a "
                             "name would be planned as a change on every reconcile"))
        if block.get("schedulingStrategy") == "DAEMON" and (
                service.get("desiredCount") is not None or service.get("scaling")):
            problems.append((("service", "schedulingStrategy"), "a DAEMON service runs one task "
                             "per instance: leave out desiredCount and scaling"))
    names = {str(b.get("name")) for b in containers(service)}
    targets = _seq(service.get("loadBalancers"))
    if isinstance(service.get("loadBalancer"), Mapping):
        targets.append(service["loadBalancer"])
    for n, lb in enumerate(targets):
        if not isinstance(lb, Mapping):
            continue
        where: Loc = ("loadBalancers", n) if n < len(_seq(service.get("loadBalancers"))) else (
            "loadBalancer",)
        if lb.get("containerName") and str(lb["containerName"]) not in names:
            problems.append(((*where, "containerName"), f"{lb['containerName']!r} is not a "
                             "container of the task"))
        if lb.get("containerPort") is None and service.get("port") is None:
            problems.append(((*where, "containerPort"), "the service has no `port`: say which "
                             "container port the target group reaches"))
    return problems


def check_in_environment(service: Mapping[str, Any], *, launch_type: str, network: bool
                         ) -> Problems:
    """Rules that depend on the environment: network mode against the launch type."""
    problems: Problems = []
    block = service.get("taskDefinition") or {}
    svc = service.get("service") or {}
    has_network = network or bool(isinstance(svc, Mapping) and svc.get("networkConfiguration"))
    mode = (block.get("networkMode") if isinstance(block, Mapping) else None) or (
        "awsvpc" if has_network else "bridge")
    if launch_type == "FARGATE":
        if mode != "awsvpc":
            problems.append((("taskDefinition", "networkMode"),
                             f"Fargate runs only awsvpc tasks, not {mode}"))
        if isinstance(svc, Mapping):
            for key in ("placementStrategy", "placementConstraints"):
                if svc.get(key):
                    problems.append((("service", key), f"Fargate takes no {key}"))
            if svc.get("schedulingStrategy") == "DAEMON":
                problems.append((("service", "schedulingStrategy"),
                                 "Fargate does not run DAEMON services"))
    if mode == "awsvpc" and not has_network:
        problems.append((("taskDefinition", "networkMode"), "awsvpc tasks need subnets and "
                         "security groups: add `network:` or service.networkConfiguration"))
    if mode in ("awsvpc", "host"):
        problems += _ports(containers(service), shared=True)
    return problems
