"""Rules of the desired state that pydantic's per-field types cannot express.

Each check is a plain function over plain values returning `(location, message)`
pairs, so that the models' validators and the loader's pass over the raw YAML use
the very same rule (the loader needs the raw pass to report these problems even
when another field of the same service is broken and pydantic stops early).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

Loc = tuple[str | int, ...]

SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)",
    re.IGNORECASE,
)

# Fargate accepts only these (cpu -> allowed memory in MiB) pairs. Source: Amazon ECS
# Developer Guide, "Task CPU and memory" (Fargate task sizes table).
_GB = 1024
FARGATE_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1 * _GB, 2 * _GB),
    512: tuple(range(1 * _GB, 4 * _GB + 1, _GB)),
    1024: tuple(range(2 * _GB, 8 * _GB + 1, _GB)),
    2048: tuple(range(4 * _GB, 16 * _GB + 1, _GB)),
    4096: tuple(range(8 * _GB, 30 * _GB + 1, _GB)),
    8192: tuple(range(16 * _GB, 60 * _GB + 1, 4 * _GB)),
    16384: tuple(range(32 * _GB, 120 * _GB + 1, 8 * _GB)),
}
# EC2 task-level limits (Linux): 0.125 to 192 vCPU; memory at least 6 MiB
# (the container minimum), and a task cannot ask for more than an instance has.
EC2_CPU_RANGE = (128, 196_608)
EC2_MEMORY_MIN = 6


def secret_looking_names(names: Iterable[str]) -> list[str]:
    """Environment variable names that look like they hold a secret."""
    return [n for n in names if SECRET_NAME.search(n)]


# Values that are secrets whatever their name: AWS access keys, credentials in a URL,
# private keys.
SECRET_VALUE = re.compile(
    r"(\b(AKIA|ASIA)[0-9A-Z]{16}\b|://[^/\s:@]+:[^/\s@]+@|-----BEGIN [A-Z ]*PRIVATE KEY)")


def check_environment_names(environment: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Problems of a container's `environment` mapping (name -> value).

    A name that looks like a secret (`SECRET_NAME`), or a value that holds a credential
    (`SECRET_VALUE`: an AWS access key id, a password in a URL, a private key), is refused:
    secrets belong under `secrets:` as SSM or Secrets Manager references (ECS's
    `ContainerDefinition.secrets`).

    Returns:
        `[(location, message)]`, the location relative to the mapping (the variable's name).
    """
    problems: list[tuple[Loc, str]] = [
        (
            (name,),
            f"{name!r} looks like a secret: put it under 'secrets:' as an SSM parameter "
            "reference, never as a plain value under 'environment:'",
        )
        for name in secret_looking_names(environment)
    ]
    named = {loc[0] for loc, _ in problems}
    problems += [
        ((name,), f"the value of {name!r} contains a credential (an access key, a password "
                  "in a URL or a private key): put it in SSM and reference it under 'secrets:'")
        for name, value in environment.items()
        if name not in named and isinstance(value, str) and SECRET_VALUE.search(value)
    ]
    return problems


def check_scaling(minimum: int, maximum: int) -> list[tuple[Loc, str]]:
    """Problems of a scaling block: `min` above `max` (Application Auto Scaling's
    RegisterScalableTarget refuses MinCapacity > MaxCapacity).

    Returns:
        `[(location, message)]`, empty when the pair is valid.
    """
    if minimum > maximum:
        return [(("min",), f"min ({minimum}) is greater than max ({maximum})")]
    return []


def check_size(cpu: int, memory: int, launch_type: str) -> list[tuple[Loc, str]]:
    """Problems of a task size: `cpu` in CPU units (1,024 = 1 vCPU), `memory` in MiB.

    On FARGATE only the pairs of `FARGATE_SIZES` exist (ECS Developer Guide, "Task CPU
    and memory"); on EC2 the task-level ranges `EC2_CPU_RANGE` and `EC2_MEMORY_MIN` apply.

    Returns:
        `[(location, message)]`, the message naming the allowed values.
    """
    if launch_type == "FARGATE":
        allowed = FARGATE_SIZES.get(cpu)
        if allowed is None:
            valid = ", ".join(str(c) for c in FARGATE_SIZES)
            return [(("cpu",), f"Fargate does not offer cpu {cpu}; choose one of {valid}")]
        if memory not in allowed:
            if len(allowed) <= 4:
                choices = ", ".join(str(m) for m in allowed)
            else:
                choices = f"{allowed[0]}..{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            return [
                (("memory",), f"Fargate refuses memory {memory} MiB with cpu {cpu}: "
                 f"allowed {choices} MiB")
            ]
        return []
    lo, hi = EC2_CPU_RANGE
    problems: list[tuple[Loc, str]] = []
    if not lo <= cpu <= hi:
        problems.append((("cpu",), f"ECS refuses task cpu {cpu}: it must be {lo}..{hi} units"))
    if memory < EC2_MEMORY_MIN:
        problems.append((("memory",), f"ECS refuses memory {memory} MiB: at least {EC2_MEMORY_MIN}"))
    return problems


def check_unique_names(names: Iterable[Any]) -> list[tuple[Loc, str]]:
    """`(index, "name")` of every name already seen; non-strings (a type error of their
    own, reported by the model) are skipped, so raw YAML values never break this."""
    seen: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, name in enumerate(names):
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append(
                ((index, "name"), f"service {name!r} is defined twice (first at index {seen[name]})")
            )
        else:
            seen[name] = index
    return problems
