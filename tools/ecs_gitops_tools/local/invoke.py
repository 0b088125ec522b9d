"""Run a function's handler as `sam local invoke` would, without Docker.

The function is found in `template.yaml`; its environment is the template's (Globals
merged with the function's own, intrinsics resolved against the local stack), plus
what the embedded cloud needs (AWS_ENDPOINT_URL, GIT_SOURCE); the handler module is
loaded from its CodeUri and called with a Lambda-like context.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ecs_gitops.errors import EcsGitopsError
from ecs_gitops_tools.local.template import ACCOUNT, FunctionSpec, resolve

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The Lambda context object a handler receives (the fields Powertools reads), with the
    remaining time counted down from the function's timeout in seconds."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 60
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    region: str = "us-east-1"
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN in the embedded account."""
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """`/aws/lambda/<function>`, Lambda's log group name."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """A log stream name for this invocation."""
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout (0 at or after it)."""
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


_HANDLERS: dict[str, Handler] = {}


def load_handler(spec: FunctionSpec) -> Handler:
    """Import the handler module from its CodeUri under a name unique to the function."""
    if spec.logical_id in _HANDLERS:
        return _HANDLERS[spec.logical_id]
    module_name, _, attr = spec.handler.rpartition(".")
    path = spec.code_uri / f"{module_name.replace('.', '/')}.py"
    if not path.exists():
        raise EcsGitopsError(f"{spec.logical_id}: handler file {path} does not exist")
    unique = f"ecs_gitops_function_{spec.logical_id}"
    module_spec = importlib.util.spec_from_file_location(unique, path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[unique] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, attr, None)
    if not callable(handler):
        raise EcsGitopsError(f"{spec.logical_id}: {path} has no function {attr!r}")
    _HANDLERS[spec.logical_id] = handler
    return handler  # type: ignore[no-any-return]


def function_environment(spec: FunctionSpec, refs: Mapping[str, str], *, region: str,
                         extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables the function runs with: the template's (references resolved
    with `refs`), Lambda's own (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME, ...), X-Ray tracing
    off, then `extra`."""
    env = {k: str(resolve(v, refs, region=region)) for k, v in spec.environment.items()}
    env.update({"AWS_REGION": region, "AWS_DEFAULT_REGION": region,
                "AWS_LAMBDA_FUNCTION_NAME": f"ecs-gitops-{spec.logical_id}",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon on a laptop
                "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED",
                                                              "false")})
    env.update(extra or {})
    return env


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the duration of the block, then restore what was
    there."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def invoke(spec: FunctionSpec, event: dict[str, Any], env: Mapping[str, str]) -> Any:
    """Run the function's handler on `event` in its environment `env`, as Lambda would (a
    fresh context with the template's memory and timeout); returns what the handler returns
    and raises what it raises."""
    context = LambdaContext(function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", spec.logical_id),
                            memory_limit_in_mb=spec.memory, timeout_seconds=spec.timeout,
                            region=env.get("AWS_REGION", "us-east-1"))
    with environment(env):
        # Imported inside the function's environment, as on Lambda: Powertools reads
        # its service name and metrics namespace when the module is first imported.
        handler = load_handler(spec)
        return handler(event, context)
