"""A small, static evaluator of IAM identity-based policies, for the templates' tests.

No library on PyPI evaluates a policy against a request context offline (moto's
``IAMPolicyStatement`` treats an unmatched condition as an explicit deny and ignores
case in neither actions nor keys; policyuniverse, parliament and cloudsplaining lint or
expand, they do not decide). So this module decides, for one request, what AWS's
policy evaluation logic decides for identity-based policies of one account, restricted
to what the templates use, and raises :class:`UnsupportedPolicyError` on anything else
rather than guessing.

Sources (IAM User Guide):

- "Policy evaluation logic": an explicit Deny in any statement wins; otherwise an Allow
  is needed; otherwise the request is implicitly denied.
- "IAM JSON policy elements: Action / NotAction / Resource / NotResource": action names
  are case-insensitive, resources case-sensitive; ``*`` matches any run of characters
  and ``?`` any one character, in both.
- "IAM JSON policy elements: Condition": all operators of a statement must match
  (AND), all keys of an operator must match (AND), any value of a key may match (OR);
  condition key names are case-insensitive. ``...IfExists`` matches when the key is
  absent. ``Null: {key: "true"}`` matches when the key is absent. ``ForAllValues:``
  matches when every request value matches some policy value (and when the key is
  absent); ``ForAnyValue:`` when at least one does. A single-valued operator applied
  to a key with several values in the request matches when any of them matches (the
  documented behaviour for ``codecommit:References`` on a push of several refs).
- "Condition operators": StringEquals/NotEquals/Like/NotLike (case-sensitive),
  StringEqualsIgnoreCase, ArnEquals/ArnLike (``*`` and ``?`` per ARN part, treated here
  as in StringLike), Bool, Null.

Not modelled (none of the templates relies on them): resource-based policies,
permissions boundaries, SCPs, session policies, policy variables (``${aws:username}``),
numeric and date operators.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Value = str | Sequence[str]


class UnsupportedPolicyError(ValueError):
    """The policy uses an element or operator this evaluator does not decide."""


class Decision(enum.Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"  # the names IAM's policy simulator uses
    IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True)
class Request:
    """One authorisation request: an action (``service:Verb``), the resource ARN it
    acts on, and the request context (condition key -> value or values)."""

    action: str
    resource: str
    context: Mapping[str, Value] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """``*`` and ``?`` as IAM reads them; every other character literally."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether an IAM wildcard pattern matches a value."""
    return _wildcard(pattern, ignore_case=ignore_case).match(value) is not None


_STRING_OPS = {
    "StringEquals": lambda p, v: p == v,
    "StringNotEquals": lambda p, v: p == v,  # negated below
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: matches(p, v),
    "StringNotLike": lambda p, v: matches(p, v),  # negated below
    "ArnEquals": lambda p, v: matches(p, v),
    "ArnLike": lambda p, v: matches(p, v),
    "ArnNotEquals": lambda p, v: matches(p, v),  # negated below
    "ArnNotLike": lambda p, v: matches(p, v),  # negated below
    "Bool": lambda p, v: str(p).lower() == str(v).lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _lookup(context: Mapping[str, Value], key: str) -> list[str] | None:
    """The request's values of a condition key (names are case-insensitive), or None."""
    for name, value in context.items():
        if name.lower() == key.lower():
            return [str(v) for v in _as_list(value)]
    return None


def _condition_matches(operator: str, key: str, wanted: Any, context: Mapping[str, Value]) -> bool:
    values = _lookup(context, key)
    policy_values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(wanted)]
    if operator == "Null":
        if len(policy_values) != 1 or policy_values[0] not in ("true", "false"):
            raise UnsupportedPolicyError(f"Null takes true or false, not {wanted!r}")
        return (values is None) == (policy_values[0] == "true")
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedPolicyError(f"condition operator {operator}")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    test = _STRING_OPS.get(base)
    if test is None:
        raise UnsupportedPolicyError(f"condition operator {operator}")
    negated = base in _NEGATED

    def one(value: str) -> bool:
        hit = any(test(p, value) for p in policy_values)
        return not hit if negated else hit

    if values is None:
        # Absent key: IfExists and ForAllValues match; everything else does not
        # (a negated operator on an absent key matches, as IAM documents).
        return if_exists or qualifier == "ForAllValues" or (negated and qualifier == "")
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if negated and qualifier == "":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    known = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
    if set(statement) - known:
        raise UnsupportedPolicyError(f"statement elements {sorted(set(statement) - known)}")
    if "Action" in statement:
        if not any(matches(a, request.action, ignore_case=True) for a in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(matches(a, request.action, ignore_case=True) for a in _as_list(statement["NotAction"])):
            return False
    else:
        raise UnsupportedPolicyError("statement without Action or NotAction")
    if "Resource" in statement:
        if not any(matches(r, request.resource) for r in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(matches(r, request.resource) for r in _as_list(statement["NotResource"])):
            return False
    else:
        raise UnsupportedPolicyError("identity policy statement without Resource")
    for operator, block in (statement.get("Condition") or {}).items():
        for key, wanted in block.items():
            if not _condition_matches(operator, key, wanted, request.context):
                return False
    return True


def statements(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every statement of the given policy documents."""
    out: list[Mapping[str, Any]] = []
    for document in policies:
        out += _as_list(document["Statement"])
    return out


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """The decision of IAM for ``request`` under these identity-based policy documents.

    policies: policy documents (``{"Version", "Statement"}``) with every intrinsic
    function already resolved. Raises :class:`UnsupportedPolicyError` for an element
    or operator outside what this module models.
    """
    allowed = False
    for statement in statements(policies):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicyError(f"Effect {effect!r}")
        if _statement_applies(statement, request):
            if effect == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


# ---------------------------------------------------------------- templates


def aws_managed_policy(arn: str) -> Mapping[str, Any]:
    """The document of an AWS managed policy, from the copy moto ships (AWS's own
    documents, dated by moto's release). Raises KeyError for an unknown one."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    name = arn.rsplit("/", 1)[-1]
    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    document: Mapping[str, Any] = data[name]["Document"]
    return document


class TemplateResolver:
    """Resolves the intrinsic functions IAM policies in the templates use: Ref (to a
    parameter, a pseudo parameter or a resource), Fn::Sub, Fn::GetAtt, Fn::Join and
    Fn::If (with given condition values). A resource's Ref and GetAtt come from
    ``physical``; an unresolvable reference raises KeyError, never a guess."""

    def __init__(self, template: Mapping[str, Any], *, values: Mapping[str, Any],
                 conditions: Mapping[str, bool] | None = None,
                 physical: Mapping[str, str] | None = None) -> None:
        self.template = template
        self.values = dict(values)
        for name, spec in template.get("Parameters", {}).items():
            self.values.setdefault(name, spec.get("Default"))
        self.conditions = dict(conditions or {})
        self.physical = dict(physical or {})

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.physical[f"{name}.{attribute}"]
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(
                    extra[m.group(1)] if m.group(1) in extra else self._sub_name(m.group(1))), text)
            if fn == "Fn::Join":
                separator, parts = arg
                return str(separator).join(str(self(p)) for p in parts)
            if fn == "Fn::If":
                name, when_true, when_false = arg
                return self(when_true if self.conditions[name] else when_false)
            if fn.startswith("Fn::"):
                raise UnsupportedPolicyError(f"intrinsic {fn}")
        return {key: self(value) for key, value in node.items()}

    def _ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        return self.physical[name]

    def _sub_name(self, name: str) -> Any:
        if "." in name:
            return self.physical[name]
        return self._ref(name)

    def role_policies(self, logical_id: str) -> list[Mapping[str, Any]]:
        """Every identity-based policy document of a role or group, resolved: its inline
        policies, the template's managed policies it names, and AWS managed policies
        (from moto's copy)."""
        resources = self.template["Resources"]
        props = resources[logical_id]["Properties"]
        documents: list[Mapping[str, Any]] = [self(p["PolicyDocument"]) for p in props.get("Policies", [])]
        for arn in props.get("ManagedPolicyArns", []):
            if isinstance(arn, dict) and set(arn) == {"Ref"} and arn["Ref"] in resources:
                documents.append(self(resources[arn["Ref"]]["Properties"]["PolicyDocument"]))
            else:
                documents.append(aws_managed_policy(str(self(arn))))
        # Standalone AWS::IAM::Policy resources attached to it.
        for body in resources.values():
            if body["Type"] == "AWS::IAM::Policy":
                attached = body["Properties"].get("Roles", []) + body["Properties"].get("Groups", [])
                if {"Ref": logical_id} in attached:
                    documents.append(self(body["Properties"]["PolicyDocument"]))
        return documents

