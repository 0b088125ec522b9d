"""Write an image tag into an environment's desired-state file, as one git commit.

CreateCommit names its parent, so a concurrent writer makes the commit fail
instead of being overwritten; we then re-read the tip and try again. A commit is
made only when the file would change, always carries the write-back marker
(invariant 4), and is never a file that does not validate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ecs_gitops.controllers.lookup import desired_at
from ecs_gitops.controllers.outcome import Reason
from ecs_gitops.controllers.ports import Ports
from ecs_gitops.desired.edit import set_image_tag
from ecs_gitops.desired.loader import load_environment_text
from ecs_gitops.errors import ConflictError
from ecs_gitops.source import WRITE_BACK_MARKER, Commit

ATTEMPTS = 5
HISTORY = 30  # commits of the file's history looked at to find who set a tag

# A veto: why not to write (and the facts of that reason), or None to write.
Veto = tuple[Reason, Mapping[str, Any]] | None


@dataclass(frozen=True, slots=True)
class WriteBack:
    """The result of `write_tag`.

    Attributes:
        commit: the new commit, or None when nothing was written.
        reason: why nothing was written (None when `commit` is set).
        previous_tag: the tag the file pinned before.
        facts: facts of the reason (e.g. the pinned commit).
    """

    commit: str | None
    reason: Reason | None
    previous_tag: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


def write_tag(
    ports: Ports,
    *,
    branch: str,
    environment: str,
    service: str,
    tag: str,
    message: str,
    veto: Callable[[str, str], Veto] = lambda _current, _tip: None,
) -> WriteBack:
    """Set `service`'s image tag to `tag` in `environment`'s file on `branch`.

    Args:
        veto: called with (the tag pinned now, the branch tip) before writing; a
            returned reason stops the write.

    Raises:
        ConflictError: the branch kept moving for `ATTEMPTS` attempts (transient).
        DesiredStateError: the file at the tip is invalid, has no such service, or
            would be invalid after the edit.
    """
    path = ports.settings.path(environment)
    for _ in range(ATTEMPTS):
        tip = ports.source.branch_tip(branch)
        desired = desired_at(ports, environment, tip)
        current = desired.service(service).image.tag
        if current == tag:
            return WriteBack(None, Reason.ALREADY_PINNED, current, {"tag": tag})
        stop = veto(current, tip)
        if stop is not None:
            return WriteBack(None, stop[0], current, stop[1])
        if ports.settings.dry_run:
            return WriteBack(None, Reason.DRY_RUN, current, {"tag": tag})
        text = ports.source.read_file(tip, path) or ""
        new_text = set_image_tag(text, service, tag, path=path)
        load_environment_text(new_text, path)  # never commit a file that does not validate
        try:
            new = ports.source.put_file(branch=branch, parent=tip, path=path, content=new_text,
                                        message=f"{message}\n\n{WRITE_BACK_MARKER}")
        except ConflictError:
            continue
        return WriteBack(new, None, current)
    raise ConflictError(f"{branch} kept moving: gave up after {ATTEMPTS} attempts")


def pinned_tag(text: str | None, service: str) -> str | None:
    """The image tag `service` (name or serviceName) pins in a desired-state text, read
    leniently (an old or invalid version of the file gives None, never an error)."""
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    services = data.get("services") if isinstance(data, dict) else None
    for item in services if isinstance(services, list) else ():
        if isinstance(item, dict) and service in (item.get("name"), item.get("serviceName")):
            image = item.get("image")
            tag = image.get("tag") if isinstance(image, dict) else None
            return str(tag) if tag is not None else None
    return None


def tag_setter(ports: Ports, *, tip: str, environment: str, service: str, tag: str
               ) -> Commit | None:
    """The commit that set `service`'s tag to its current value `tag`, from the file's
    git history (newest first, at most `HISTORY` commits); None when not found.

    Decided from git alone, so the answer survives the expiry of any record."""
    path = ports.settings.path(environment)
    history = ports.source.file_history(tip, path, limit=HISTORY)
    setter: str | None = None
    for commit in history:
        if pinned_tag(ports.source.read_file(commit, path), service) != tag:
            break
        setter = commit
    return ports.source.commit(setter) if setter else None
