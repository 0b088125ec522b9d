"""The options several commands share (where they point, which environment)."""

from __future__ import annotations

from typing import Annotated

import typer

EnvArg = Annotated[str, typer.Argument(
    help="Environment name (desired_state/NAME.yaml) or a path to a desired-state file.")]
Local = Annotated[bool, typer.Option(
    "--local", help="Use the embedded AWS started by 'ecs-gitops local up'.")]
Endpoint = Annotated[str | None, typer.Option(
    "--endpoint-url", metavar="URL", help="Send every AWS call to this endpoint (e.g. moto).")]
Region = Annotated[str | None, typer.Option(
    "--region", help="AWS region (default: the file's region, then your AWS config).")]
