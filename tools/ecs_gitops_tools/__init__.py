"""ecs-gitops for the operator: the `ecs-gitops` command line, the embedded cloud and
the seed data of the original world.

This package depends on the runtime package `ecs_gitops` and is never shipped in the
Lambda layer (`layers/core/` holds only the runtime). Its extra dependencies (typer,
rich, moto) are the `cli` and `dev` extras of pyproject.toml.
"""
