"""botocore's ECS model is the authority: the generated models match it, and every
member of RegisterTaskDefinition, ContainerDefinition and Create/UpdateService is
modelled or listed in `ecs_gitops.managed` as not managed, with a reason."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest

from ecs_gitops import managed
from ecs_gitops.canonical import SERVICE, TASK_DEFINITION, UnmanagedFieldError, canonical
from ecs_gitops.desired import ecs_api
from ecs_gitops_tools.ecs_codegen import generate

MODEL = botocore.session.get_session().get_service_model("ecs")
GENERATED = Path(ecs_api.__file__)


def test_generated_models_are_those_of_the_installed_botocore() -> None:
    assert GENERATED.read_text() == generate(), (
        "ecs_api.py is stale: run '.venv/bin/python -m ecs_gitops_tools.ecs_codegen > "
        f"{GENERATED}' and review the new fields")


@pytest.mark.parametrize(("resource", "shape", "descriptor"), [
    ("RegisterTaskDefinition", "RegisterTaskDefinitionRequest", TASK_DEFINITION),
    ("CreateService", "CreateServiceRequest", SERVICE),
    ("UpdateService", "UpdateServiceRequest", SERVICE),
])
def test_every_member_is_managed_or_says_why_not(resource: str, shape: str, descriptor: object
                                                 ) -> None:
    entries = {**managed.TOP_LEVEL["CreateService"], **managed.TOP_LEVEL["UpdateService"]} \
        if resource == "UpdateService" else managed.TOP_LEVEL[resource]
    for member in MODEL.shape_for(shape).members:
        entry = entries.get(member)
        assert entry is not None, f"{resource}.{member} is neither managed nor listed"
        if isinstance(entry, managed.NotManaged):
            assert len(entry.reason) > 20, member
            assert member not in descriptor.members  # type: ignore[attr-defined]
        elif member not in ("cluster", "serviceName", "service", "taskDefinition", "family"):
            assert member in descriptor.members, member  # type: ignore[attr-defined]


def test_every_container_definition_member_is_modelled() -> None:
    fields = {f.alias for f in ecs_api.ContainerDefinition.model_fields.values()}
    assert set(MODEL.shape_for("ContainerDefinition").members) == fields


def test_nested_members_are_modelled_or_excluded_with_a_reason() -> None:
    for name in dir(ecs_api):
        cls = getattr(ecs_api, name)
        if not (isinstance(cls, type) and issubclass(cls, ecs_api.EcsShape)) or \
                cls is ecs_api.EcsShape or name in ("TaskDefinitionFields", "ServiceFields"):
            continue
        shape = MODEL.shape_for(name)
        fields = {f.alias for f in cls.model_fields.values()}
        excluded = managed.SHAPE_EXCLUSIONS.get(name, {})
        for member in shape.members:
            assert member in fields or excluded[member].reason, f"{name}.{member}"


def test_an_unmanaged_field_is_an_error_not_dropped() -> None:
    with pytest.raises(UnmanagedFieldError, match="inferenceAccelerators"):
        canonical(TASK_DEFINITION, {"family": "x", "inferenceAccelerators": [{"deviceName": "a"}]},
                  strict=True)
    with pytest.raises(UnmanagedFieldError, match="gatewayConnectors"):
        canonical(SERVICE, {"gatewayConnectors": [{"x": 1}]}, strict=True)
