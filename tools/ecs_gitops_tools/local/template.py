"""Read `template.yaml` the way the embedded cloud needs it: the functions (code,
handler, environment, event patterns) and the resources it must stand in for.

The template is the single source of routing and configuration: the embedded
cloud never repeats a pattern or a variable that the template already states.
Intrinsic functions are resolved against the local stack's physical names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecs_gitops.errors import EcsGitopsError

ACCOUNT = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    # `!Ref` and `!Condition` are not Fn:: functions; every other short form is.
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_yaml(path: Path) -> dict[str, Any]:
    """A CloudFormation template as data; short-form intrinsics (`!Ref`, `!Sub`, ...) become
    their long forms.

    Raises:
        EcsGitopsError: the file is not a mapping.
    """
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict):
        raise EcsGitopsError(f"{path}: not a CloudFormation template")
    return data


@dataclass(frozen=True, slots=True)
class Rule:
    """An EventBridge rule of a function: its name, its (unresolved) pattern and, for a
    schedule, the schedule expression.
    """
    name: str
    pattern: Mapping[str, Any]  # unresolved EventBridge pattern
    schedule: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One `AWS::Serverless::Function` of the template, with Globals applied: where its
    code is, its handler, its environment (unresolved), rules, timeout (s) and memory (MiB).
    """
    logical_id: str
    code_uri: Path
    handler: str
    environment: Mapping[str, Any]  # unresolved values
    rules: tuple[Rule, ...] = field(default=())
    timeout: int = 60
    memory: int = 128


class Template:
    """A SAM template read from `path`, for the embedded cloud and `invoke`.

    Raises:
        EcsGitopsError: the file is not a template.
    """
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.data = load_yaml(self.path)
        self.resources: dict[str, Any] = self.data.get("Resources", {})

    def parameter_defaults(self) -> dict[str, str]:
        """Parameter name -> its `Default` ("" when it has none), as text."""
        return {name: str(spec.get("Default", ""))
                for name, spec in self.data.get("Parameters", {}).items()}

    def functions(self) -> dict[str, FunctionSpec]:
        """Every function of the template by logical id, with its EventBridge and schedule
        rules (SAM's `EventBridgeRule`, `Schedule` and `ScheduleV2` events).
        """
        glob = self.data.get("Globals", {}).get("Function", {})
        out: dict[str, FunctionSpec] = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            props = {**glob, **resource.get("Properties", {})}
            env = {**glob.get("Environment", {}).get("Variables", {}),
                   **resource.get("Properties", {}).get("Environment", {}).get("Variables", {})}
            rules = []
            for event_name, event in (props.get("Events") or {}).items():
                kind = event.get("Type")
                p = event.get("Properties", {})
                if kind == "EventBridgeRule":
                    rules.append(Rule(event_name, p.get("Pattern", {})))
                elif kind in ("Schedule", "ScheduleV2"):
                    # SAM names the rule <stack>-<Function><Event>-<suffix>.
                    pattern = {"source": ["aws.events"], "detail-type": ["Scheduled Event"],
                               "resources": [{"wildcard": f"*{logical_id}{event_name}*"}]}
                    rules.append(Rule(event_name, pattern,
                                      schedule=str(p.get("Schedule") or p.get("ScheduleExpression"))))
            out[logical_id] = FunctionSpec(
                logical_id=logical_id, code_uri=self.root / str(props.get("CodeUri", ".")),
                handler=str(props.get("Handler", "app.lambda_handler")), environment=env,
                rules=tuple(rules), timeout=int(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)))
        return out

    def function(self, name: str) -> FunctionSpec:
        """The function `name`, matched exactly, case-insensitively, or with `Function` added
        (`push` finds `PushFunction`).

        Raises:
            EcsGitopsError: no such function (the message lists them).
        """
        functions = self.functions()
        if name in functions:
            return functions[name]
        lowered = {k.lower(): k for k in functions}
        for candidate in (name.lower(), f"{name.lower()}function",
                          name.lower().replace("-", "").replace("_", "") + "function"):
            if candidate in lowered:
                return functions[lowered[candidate]]
        raise EcsGitopsError(f"no function {name!r} in {self.path}; functions: "
                             + ", ".join(sorted(functions)))

    def resources_of(self, kind: str) -> dict[str, Mapping[str, Any]]:
        """The resources of type `kind` (e.g. `AWS::SQS::Queue`) by logical id."""
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}


def resolve(value: Any, refs: Mapping[str, str], *, region: str = "us-east-1",
            account: str = ACCOUNT) -> Any:
    """Resolve Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Split (empty parts dropped: a list
    parameter left empty names nothing) and Fn::If (taking the true branch
    only when no condition is known: the embedded stack enables every condition)."""
    pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
              "AWS::StackName": "ecs-gitops", "AWS::URLSuffix": "amazonaws.com"}
    lookup = {**pseudo, **refs}

    def ref(name: str) -> str:
        if name not in lookup:
            raise EcsGitopsError(f"template: cannot resolve {name!r} on the embedded cloud")
        return lookup[name]

    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return ref(str(arg))
        if key == "Fn::GetAtt":
            return ref(".".join(arg) if isinstance(arg, list) else str(arg))
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            local = {k: resolve(v, refs, region=region, account=account) for k, v in extra.items()}
            return re.sub(r"\$\{([^}!]+)\}",
                          lambda m: str(local.get(m.group(1)) or ref(m.group(1))), text)
        if key == "Fn::Join":
            sep, items = arg
            return sep.join(str(resolve(i, refs, region=region, account=account)) for i in items)
        if key == "Fn::If":
            return resolve(arg[1], refs, region=region, account=account)
        if key == "Fn::Split":
            sep, text = arg
            return [part for part in str(resolve(text, refs, region=region, account=account))
                    .split(sep) if part]
    if isinstance(value, dict):
        return {k: resolve(v, refs, region=region, account=account) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs, region=region, account=account) for v in value]
    return value
