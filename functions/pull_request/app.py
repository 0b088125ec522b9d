"""PullRequestFunction: CodeCommit "Pull Request State Change" -> the plan of the merge,
posted (or updated) as the pull request's one comment."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecs_gitops.handler import logger, metrics, run, tracer
from ecs_gitops.wiring import ports_from_environment


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Lambda entry point: Powertools logging, tracing and metrics around
    `ecs_gitops.handler.run`, which parses `event` (a malformed one is logged and
    answered "ignored", never retried), wires the ports and runs the controller.

    Returns:
        The controller's outcome as a dict (`Outcome.as_dict`).

    Raises:
        EcsGitopsError: a transient one, so that Lambda retries the asynchronous event
            (then its dead-letter queue).
    """
    # Imported by the first event rather than at cold start (see ecs_gitops.handler).
    from ecs_gitops.controllers import preview
    from ecs_gitops.events import CodeCommitPullRequestEvent

    return run(event, context, CodeCommitPullRequestEvent, preview.handle, ports_from_environment)
