"""The embedded AWS's state on disk, so that `local down` then `local up` resumes it.

Why a snapshot of moto's own objects rather than a replay or a re-creation:
- moto has no persistence of its own; its *recorder* (`/moto-api/recorder/...`)
  replays HTTP requests, but the embedded cloud also changes moto's models directly
  (the rollout simulator completes and rolls back deployments, the builder sets build
  results: `moto_patches`), which no recording holds, and a replay mints new random
  ids (target group ARNs, ECS deployment ids) that the releases in DynamoDB and the
  services' load balancers already name;
- re-creating the world through the API (register task definitions, create services,
  put items...) has the same problem with ids, and needs code per service.
A pickle of the backends keeps every id, revision, deployment and item as it was. It
is tied to the installed moto: a snapshot written by another moto version is not
loaded (`load` says so, and the cloud starts afresh from git).

The server must be in this process (the embedded cloud runs moto's server in a
thread), and nothing else may write while a snapshot is taken (`save` retries when a
request changed a model under it).
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

# The services the embedded cloud uses (its stack, the seed, the controllers' adapters).
SERVICES = ("ecs", "ecr", "ssm", "dynamodb", "codebuild", "applicationautoscaling", "elbv2",
            "ec2", "sqs", "sns", "events", "codecommit", "iam", "sts", "logs")

_LOCKS = (type(threading.Lock()), type(threading.RLock()))


def _nested_dict() -> defaultdict[Any, Any]:
    return defaultdict(dict)


def _new_defaultdict(cls: type[defaultdict[Any, Any]], factory: Any) -> defaultdict[Any, Any]:
    made = cls.__new__(cls)
    defaultdict.__init__(made, factory)
    return made


class _Pickler(pickle.Pickler):
    """Locks and conditions are made anew on load. A defaultdict is rebuilt without
    calling its class's `__init__` (moto's subclasses, e.g. SSM's ParameterDict, take
    other arguments), its attributes restored; moto's one lambda factory (SSM's resource
    tags, `defaultdict(lambda: defaultdict(dict))`) becomes a module-level one."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCKS):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock, ())
        if isinstance(obj, threading.Condition):
            return (threading.Condition, ())
        if isinstance(obj, defaultdict):
            factory = obj.default_factory
            if getattr(factory, "__name__", "") == "<lambda>":
                sample = factory() if factory else None
                if not (isinstance(sample, defaultdict) and sample.default_factory is dict):
                    raise pickle.PicklingError(f"cannot snapshot a defaultdict of {sample!r}")
                factory = _nested_dict
            return (_new_defaultdict, (type(obj), factory), getattr(obj, "__dict__", None) or None,
                    None, iter(obj.items()))
        return NotImplemented


@dataclass(frozen=True, slots=True)
class Loaded:
    """Whether a saved embedded cloud was restored (`ok`), and `reason` when it was not."""
    ok: bool
    reason: str  # why not, when not ok


def _backends(services: Iterable[str]) -> dict[str, Any]:
    from moto.backends import get_backend

    return {name: get_backend(name) for name in services}  # type: ignore[call-overload]


def save(path: Path, services: Iterable[str] = SERVICES, attempts: int = 5) -> None:
    """Write every account's and region's backend of `services` to `path` (atomically)."""
    state: dict[str, Any] = {"moto": version("moto"), "backends": {}}
    tmp = path.with_name(path.name + ".tmp")
    for attempt in range(attempts):
        try:
            state["backends"] = {
                name: [(account, region, backend)
                       for account, region, backend in bd.iter_backends()]
                for name, bd in _backends(services).items()}
            with tmp.open("wb") as out:
                _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
            break
        except RuntimeError:  # "dictionary changed size during iteration": a request ran
            if attempt == attempts - 1:
                raise
    os.replace(tmp, path)


def load(path: Path) -> Loaded:
    """Put the backends saved at `path` in place of the current ones (call right after a
    reset). Returns why not when there is no snapshot or another moto wrote it."""
    if not path.is_file():
        return Loaded(False, "no saved state")
    try:
        with path.open("rb") as source:
            state = pickle.load(source)  # noqa: S301 - our own file, in our own folder
    except Exception as exc:  # a truncated or foreign file: start afresh, and say why
        return Loaded(False, f"unreadable saved state ({type(exc).__name__}: {exc})")
    if state.get("moto") != version("moto"):
        return Loaded(False, f"saved by moto {state.get('moto')}, this is moto {version('moto')}")
    live = _backends(state["backends"])
    for name, entries in state["backends"].items():
        for account, region, backend in entries:
            live[name][account][region] = backend
    return Loaded(True, "")
