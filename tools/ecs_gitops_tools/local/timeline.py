"""One line per delivery, for `local status`'s timeline and the demo: what happened
(the event, in words), which function it reached, and, per outcome, the environment,
the service and the reason.

The words come from the outcome's fields (`environment`, `service`, `reason`, ...),
never from parsing the controllers' sentences, so a line says only what the function
reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecs_gitops_tools.local.bus import Delivery


def describe_event(event: Mapping[str, Any]) -> str:
    """`push to development (5f2c9e8)`, `build SUCCEEDED (api-development)`, ..."""
    detail = event.get("detail") or {}
    source = event.get("source")
    if source == "aws.codecommit":
        name = detail.get("referenceName")
        commit = str(detail.get("commitId") or detail.get("oldCommitId") or "")[:7]
        if detail.get("event") == "referenceUpdated":
            return f"push to {name} ({commit})"
        verb = "deleted" if detail.get("event") == "referenceDeleted" else "created"
        return f"{detail.get('referenceType', 'branch')} {name} {verb} ({commit})"
    if source == "aws.codebuild":
        return f"build {detail.get('build-status')} ({detail.get('project-name')})"
    if source == "aws.ecs":
        name = str((event.get("resources") or [""])[0]).rsplit("/", 1)[-1]
        what = str(detail.get("eventName", "")).replace("SERVICE_DEPLOYMENT_", "").lower()
        return f"deployment {what} ({name})"
    if source == "ecs-gitops":
        return f"reconcile requested ({detail.get('environment')})"
    if event.get("detail-type") == "Scheduled Event":
        rule = str((event.get("resources") or [""])[0]).rsplit("/", 1)[-1]
        return f"schedule ({rule})"
    return str(event.get("detail-type"))


def _reason(outcome: Mapping[str, Any]) -> str:
    """Why, from the outcome's fields; empty when the action says it all."""
    for key in ("reason", "note"):
        if outcome.get(key):
            return str(outcome[key])
    action = str(outcome.get("action", ""))
    if action.startswith("no build") and not outcome.get("builds") and "changed" in outcome:
        changed = int(outcome["changed"])
        return ("the push changed no file" if changed == 0 else
                f"none of the {changed} changed file(s) is under an app's build source")
    return ""


def describe_outcome(outcome: Mapping[str, Any]) -> str:
    """`development/api: wrote the new tag back to git`, `production: in sync: nothing to do`,
    with `(reason)` when the outcome gives one."""
    where = "/".join(str(outcome[k]) for k in ("environment", "service") if outcome.get(k))
    if not where and outcome.get("branch"):
        where = f"branch {outcome['branch']}"
    action = str(outcome.get("action", "")) or "done"
    reason = _reason(outcome)
    if reason and reason not in action:
        action = f"{action} ({reason})"
    return f"{where}: {action}" if where else action


def outcomes(result: Any) -> list[Mapping[str, Any]]:
    """A handler's result as a list of outcomes (one, several, or none)."""
    if not isinstance(result, Mapping):
        return []
    if "outcomes" in result:
        return [o for o in result["outcomes"] if isinstance(o, Mapping)]
    return [result]


def summary(result: Any, error: str | None = None, attempts: int = 1) -> str:
    if error:
        return f"error after {attempts} attempt(s): {error}"
    found = outcomes(result)
    if not found:
        return "nothing to do" if isinstance(result, Mapping) else str(result)
    return "; ".join(describe_outcome(o) for o in found)


def failed(result: Any) -> bool:
    """Whether a handler's result reports a failure (`failed: ...` with an `error`)."""
    return any("error" in o or str(o.get("action", "")).startswith("failed")
               for o in outcomes(result))


def timeline_line(delivery: Delivery) -> str:
    return f"{describe_event(delivery.event)} -> {delivery.function}: {delivery.summary}"
