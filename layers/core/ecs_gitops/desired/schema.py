"""The JSON Schema of a desired-state file, generated from the models.

Committed as desired_state/schema.json; the YAML files point at it with a
`yaml-language-server` comment so editors complete keys and flag mistakes.
"""

from __future__ import annotations

import json
from typing import Any

from ecs_gitops.desired.model import Environment


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one environment's file, as a dict, by alias
    (the YAML's camelCase names), in validation mode.
    """
    schema = Environment.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://ecs-gitops.dev/schema/desired-state-v1.json",
        "title": "ecs-gitops desired state (one environment)",
        **schema,
    }


def json_schema_text() -> str:
    """`json_schema()` as the text committed in desired_state/schema.json (sorted keys,
    indent 2, final newline); a test compares the two.
    """
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
