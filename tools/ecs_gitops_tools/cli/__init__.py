"""The operator's command line, `ecs-gitops` (Typer + Rich; not in the Lambda layer)."""
