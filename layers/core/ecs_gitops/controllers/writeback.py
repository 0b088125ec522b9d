"""Write an image tag into an environment's desired-state file, as one git commit.

CreateCommit names its parent, so a concurrent writer makes the commit fail
instead of being overwritten; we then re-read the tip and try again. A commit is
made only when the file would change, and always carries the write-back marker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ecs_gitops.controllers.ports import Ports, desired_at
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.desired.loader import load_environment_text
from ecs_gitops.errors import ConflictError
from ecs_gitops.source import WRITE_BACK_MARKER

ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class WriteBack:
    commit: str | None  # the new commit, None when nothing was written
    reason: str
    previous_tag: str | None = None


def write_tag(
    ports: Ports,
    *,
    branch: str,
    environment: str,
    service: str,
    tag: str,
    message: str,
    skip: Callable[[str, str], str | None] = lambda _current, _tip: None,
) -> WriteBack:
    """Set `service`'s tag; `skip(current_tag, tip)` may veto with a reason."""
    path = ports.settings.path(environment)
    for _ in range(ATTEMPTS):
        tip = ports.source.branch_tip(branch)
        desired = desired_at(ports, environment, tip)
        current = desired.service(service).image.tag
        if current == tag:
            return WriteBack(None, f"{service} already pinned to {tag[:12]}", current)
        veto = skip(current, tip)
        if veto:
            return WriteBack(None, veto, current)
        if ports.settings.dry_run:
            return WriteBack(None, f"dry run: would write {service}={tag[:12]} to {path}",
                             current)
        text = ports.source.read_file(tip, path) or ""
        new_text = set_image_tag(text, service, tag, path=path)
        load_environment_text(new_text, path)  # never commit a file that does not validate
        try:
            new = ports.source.put_file(branch=branch, parent=tip, path=path, content=new_text,
                                        message=f"{message}\n\n{WRITE_BACK_MARKER}")
        except ConflictError:
            continue
        return WriteBack(new, f"wrote {service}={tag[:12]} to {path}", current)
    raise ConflictError(f"{branch} kept moving: gave up after {ATTEMPTS} attempts")
