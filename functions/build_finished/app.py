"""BuildFinishedFunction: CodeBuild "Build State Change" -> the new image tag written
back to the environment's desired-state file (one commit), or the failure reported."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecs_gitops.controllers import build
from ecs_gitops.events import CodeBuildEvent
from ecs_gitops.handler import logger, metrics, run, tracer
from ecs_gitops.wiring import ports_from_environment


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, context, CodeBuildEvent, build.handle, ports_from_environment)
