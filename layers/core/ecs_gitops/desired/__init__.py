"""The desired state: what an environment should run, as written in git.

`model` holds the pydantic models (frozen, unknown keys rejected), `checks` the
rules that span fields, `loader` reads a YAML file and reports every problem with
its file, line and field.
"""

from ecs_gitops.desired.loader import load_environment, load_environment_text
from ecs_gitops.desired.model import (
    Deployment,
    Environment,
    Image,
    LoadBalancer,
    Placement,
    Scaling,
    Service,
)

__all__ = [
    "Deployment",
    "Environment",
    "Image",
    "LoadBalancer",
    "Placement",
    "Scaling",
    "Service",
    "load_environment",
    "load_environment_text",
]
