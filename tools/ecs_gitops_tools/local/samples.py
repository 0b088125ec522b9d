"""The sample events of `events/`, made true on the embedded cloud (`invoke --local`).

The samples name commits (`5f2c9e8a…`, `0a1b2c3d…`, `9e4d1c7b…`) and ECS deployments
(`ecs-svc/4793…`) of an imagined account; the embedded cloud's git remote and ECS
have their own. So that a sample does on the embedded cloud what `events/README.md`
says it does, each id the embedded world does not know is mapped onto what it does
know, and every mapping is said (the notes):

- a push to a tracked branch: `commitId` -> the branch's tip, `oldCommitId` -> the
  tip's parent; for the merge sample, `sourceCommitId` -> the other tracked branch's
  tip and `baseCommitId` -> their merge base;
- a finished build: `source-version` and `IMAGE_TAG`/`IMAGE_URI` -> the tip of the
  branch of the environment whose file names the project; for SUCCEEDED, the image the
  build would have pushed is put into ECR (a placeholder manifest, as `seed` does);
- a deployment event: `deploymentId` -> the service's current deployment;
- a reconcile request: `commit` -> the environment's branch tip.

Ids the embedded world already knows are left alone, so a sample rewritten by hand
with real ids is used as it is.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ecs_gitops.aws.clients import Clients
from ecs_gitops.desired import Environment, load_environment_text
from ecs_gitops.errors import EcsGitopsError
from ecs_gitops_tools.seed import put_image

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class _World:
    def __init__(self, remote: Path, refs: Mapping[str, str], clients: Clients) -> None:
        self.remote = remote
        self.clients = clients
        self.branches: dict[str, str] = json.loads(
            refs.get("BranchEnvironments", '{"main": "production"}'))
        self.notes: list[str] = []

    def git(self, *args: str) -> str | None:
        done = subprocess.run(["git", "--git-dir", str(self.remote), *args],
                              capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def known(self, commit: str) -> bool:
        return bool(_COMMIT.match(commit)) and self.git(
            "cat-file", "-e", f"{commit}^{{commit}}") is not None

    def tip(self, branch: str) -> str:
        tip = self.git("rev-parse", "--verify", "-q", f"refs/heads/{branch}")
        if not tip:
            raise EcsGitopsError(f"the embedded git remote has no branch {branch!r}")
        return tip

    def desired(self, environment: str) -> Environment | None:
        branch = next((b for b, e in self.branches.items() if e == environment), None)
        path = f"desired_state/{environment}.yaml"
        text = self.git("show", f"{self.tip(branch)}:{path}") if branch else None
        return load_environment_text(text, path) if text is not None else None

    def mapped(self, what: str, sample: str, real: str, why: str) -> str:
        if sample != real:
            width = 12 if _COMMIT.match(real) else None
            self.notes.append(f"{what} {sample[:width]} -> {real[:width]} ({why})")
        return real


def localize(event: Mapping[str, Any], *, remote: Path, refs: Mapping[str, str],
             clients: Clients) -> tuple[dict[str, Any], list[str]]:
    """`event` with the ids the embedded cloud does not know mapped onto ones it does,
    and one note per id mapped (or per image put). The input is not changed."""
    world = _World(remote, refs, clients)
    out: dict[str, Any] = copy.deepcopy(dict(event))
    detail: dict[str, Any] = out.get("detail") or {}
    source = out.get("source")
    if source == "aws.codecommit":
        _push(world, detail)
    elif source == "aws.codebuild":
        _build(world, detail)
    elif source == "aws.ecs":
        _deployment(world, out, detail)
    elif source == "ecs-gitops" and detail.get("environment"):
        branch = next((b for b, e in world.branches.items() if e == detail["environment"]),
                      None)
        commit = str(detail.get("commit") or "")
        if branch and commit and not world.known(commit):
            detail["commit"] = world.mapped("commit", commit, world.tip(branch),
                                            f"the tip of {branch}")
    return out, world.notes


def _push(world: _World, detail: dict[str, Any]) -> None:
    branch = str(detail.get("referenceName", ""))
    if detail.get("referenceType") != "branch" or branch not in world.branches:
        return  # the handler ignores it before it reads git: nothing to map
    tip = world.tip(branch)
    parent = world.git("rev-parse", "--verify", "-q", f"{tip}^") or tip
    for key, real, why in (("commitId", tip, f"the tip of {branch}"),
                           ("oldCommitId", parent, f"the parent of {branch}'s tip"),
                           ("destinationCommitId", parent, f"the parent of {branch}'s tip")):
        value = str(detail.get(key) or "")
        if value and not world.known(value):
            detail[key] = world.mapped(key, value, real, why)
    other = next((b for b in world.branches if b != branch), None)
    if other and detail.get("sourceCommitId") and not world.known(str(detail["sourceCommitId"])):
        source = world.tip(other)
        detail["sourceCommitId"] = world.mapped("sourceCommitId", str(detail["sourceCommitId"]),
                                                source, f"the tip of {other}")
        base = world.git("merge-base", source, tip) or parent
        if detail.get("baseCommitId") and not world.known(str(detail["baseCommitId"])):
            detail["baseCommitId"] = world.mapped("baseCommitId", str(detail["baseCommitId"]),
                                                  base, f"the merge base of {other} and {branch}")


def _build(world: _World, detail: dict[str, Any]) -> None:
    project = str(detail.get("project-name", ""))
    for branch, environment in world.branches.items():
        desired = world.desired(environment)
        service = next((s for s in desired.services if s.build is not None
                        and s.build.project == project), None) if desired else None
        if service is None:
            continue
        tip = world.tip(branch)
        info: dict[str, Any] = detail.setdefault("additional-information", {})
        sample = str(info.get("source-version") or "")
        if sample and not world.known(sample):
            info["source-version"] = world.mapped("source-version", sample, tip,
                                                  f"the tip of {branch}")
        commit = str(info.get("source-version") or tip)
        for variable in info.get("exported-environment-variables") or []:
            value = str(variable.get("value", ""))
            if variable.get("name") == "IMAGE_TAG" and value != commit:
                variable["value"] = world.mapped("IMAGE_TAG", value, commit, "the built commit")
            elif variable.get("name") == "IMAGE_URI" and ":" in value:
                variable["value"] = f"{value.rsplit(':', 1)[0]}:{commit}"
        if detail.get("build-status") == "SUCCEEDED":
            put_image(world.clients, service.image.repository, commit)
            world.notes.append(f"image {service.image.repository}:{commit[:12]} put into the "
                               "embedded ECR, as the build would have pushed it")
        return


def _deployment(world: _World, out: dict[str, Any], detail: dict[str, Any]) -> None:
    arn = str((out.get("resources") or [""])[0])
    parts = arn.split(":service/", 1)[-1].split("/")
    if len(parts) != 2 or not detail.get("deploymentId"):
        return
    cluster, name = parts
    try:
        services = world.clients.ecs.describe_services(cluster=cluster, services=[name])
    except Exception:  # another cluster: the handler ignores it anyway
        return
    found = services.get("services") or []
    if not found:
        return
    deployments = [str(d["id"]) for d in found[0].get("deployments") or []]
    if deployments and detail["deploymentId"] not in deployments:
        detail["deploymentId"] = world.mapped(
            "deploymentId", str(detail["deploymentId"]), deployments[0],
            f"{name}'s current deployment")
