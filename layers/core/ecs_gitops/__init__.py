"""ecs-gitops: GitOps, event-driven release controllers for Amazon ECS.

The package is the Lambda layer every controller shares and the library behind the
`ecs-gitops` command line. Only `ecs_gitops.aws` talks to AWS; everything between
observing and applying is pure (see ARCHITECTURE.md in the design brief).
"""

__version__ = "0.1.0"
