"""The embedded cloud's CodeBuild: runs each started build for real, on this machine.

For every build StartBuild created in (moto) CodeBuild it checks out the commit
from the local git remote, runs the app's tests exactly as the buildspec's
`TEST_COMMAND` says (the buildspec is the single source of how an app is tested),
then "builds the image": a content-addressed manifest of the app's files, pushed to
(moto) ECR under the commit id, with the files kept on disk so that the rollout
simulator can start the app and probe its health check as ECS would run the image.
It emits the Build State Change events CodeBuild emits (IN_PROGRESS, then
SUCCEEDED or FAILED) and records the result on the build.
"""

from __future__ import annotations

import hashlib
import io
import json
import shlex
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ecs_gitops.aws.clients import Clients
from ecs_gitops_tools.local import emit
from ecs_gitops_tools.local.gitremote import GitRemote
from ecs_gitops_tools.local.moto_patches import set_build_result
from ecs_gitops_tools.seed import put_image

TEST_TIMEOUT = 600


@dataclass(frozen=True, slots=True)
class Image:
    """An image the embedded CodeBuild built: its ECR repository and tag, the content digest
    of its files, the folder holding them, and the command and health check its container
    runs."""

    repository: str
    tag: str
    digest: str
    root: Path  # the app's files, as the image would hold them
    command: tuple[str, ...]
    healthcheck: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """One embedded build: CodeBuild's build id and project, the commit built, its status
    (SUCCEEDED, FAILED, ...), how long it took in seconds, its log file, and the image (None
    when it failed)."""

    build_id: str
    project: str
    commit: str
    status: str
    seconds: float
    log: Path
    image: Image | None


def dockerfile_commands(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(CMD, HEALTHCHECK CMD) of a Dockerfile, in exec (JSON array) form."""
    joined = text.replace("\\\n", " ")
    command: tuple[str, ...] = ()
    health: tuple[str, ...] = ()
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped.upper().startswith("CMD "):
            command = tuple(json.loads(stripped[4:].strip()))
        elif stripped.upper().startswith("HEALTHCHECK ") and " CMD " in stripped:
            health = tuple(json.loads(stripped.split(" CMD ", 1)[1].strip()))
    return command, health


def content_digest(root: Path) -> str:
    """`sha256:<hex>` of the files under `root` (their relative paths and contents,
    `__pycache__` left out): the same files give the same digest, as an image digest would."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        lines.append(f"{path.relative_to(root)}\0{hashlib.sha256(path.read_bytes()).hexdigest()}")
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


class LocalBuilder:
    """The embedded CodeBuild: runs a project's buildspec for a commit of the git remote
    (its tests in a subprocess with `test_args`), pushes the image to the embedded ECR and
    exports the variables the buildspec names, as CodeBuild reports them in its Build State
    Change event."""

    def __init__(self, clients: Clients, remote: GitRemote, workdir: Path, *,
                 test_args: Sequence[str] = (), python: str = sys.executable,
                 on_result: Callable[[BuildResult], None] | None = None) -> None:
        self.clients = clients
        self.remote = remote
        self.workdir = workdir
        self.test_args = tuple(test_args)
        self.python = python
        self.on_result = on_result
        self.seen: set[str] = set()
        self.images: dict[tuple[str, str], Image] = {}
        self.results: list[BuildResult] = []

    def resume(self) -> None:
        """After a restart: the builds moto already holds are not run again (those still
        IN_PROGRESS are: they were started and never run), and the images built before
        are known again (their files and manifest are on disk)."""
        cb = self.clients.client("codebuild")
        for project in cb.list_projects().get("projects", []):
            ids = cb.list_builds_for_project(projectName=project)["ids"]
            for build in cb.batch_get_builds(ids=ids)["builds"] if ids else []:
                if build.get("buildStatus") != "IN_PROGRESS":
                    self.seen.add(build["id"])
        for manifest in (self.workdir / "images").glob("*/*.json"):
            data = json.loads(manifest.read_text())
            root = manifest.with_suffix("")
            if root.is_dir():
                self.images[(data["repository"], data["tag"])] = Image(
                    data["repository"], data["tag"], data["digest"], root,
                    tuple(data["command"]), tuple(data["healthcheck"]))

    def poll(self) -> list[dict[str, Any]]:
        """Run every build started since the last poll; return the events they emit."""
        cb = self.clients.client("codebuild")
        events: list[dict[str, Any]] = []
        for project in cb.list_projects().get("projects", []):
            ids = cb.list_builds_for_project(projectName=project, sortOrder="ASCENDING")["ids"]
            new = [i for i in ids if i not in self.seen]
            if not new:
                continue
            spec = cb.batch_get_projects(names=[project])["projects"][0]
            for build in cb.batch_get_builds(ids=new)["builds"]:
                self.seen.add(build["id"])
                commit = str(build.get("sourceVersion") or "")
                events.append(emit.codebuild(project=project, build_id=build["id"],
                                             status="IN_PROGRESS", commit=commit, exported={},
                                             phase="BUILD", region=self.clients.region))
                source = build.get("source") or {}
                if source.get("location"):  # StartBuild's source override: that repository
                    spec = {**spec, "source": {**spec.get("source", {}), **source}}
                result = self.run(build["id"], project, commit, spec)
                exported = self._exported(result)
                set_build_result(build["id"], status=result.status, exported=exported,
                                 region=self.clients.region)
                events.append(emit.codebuild(project=project, build_id=build["id"],
                                             status=result.status, commit=commit,
                                             exported=exported, region=self.clients.region))
        return events

    def _repository(self, spec: dict[str, Any]) -> Path:
        """Where the build's source is: the remote, or an application repository beside it
        (`NAME.git`) when the source location names another CodeCommit repository
        (`https://git-codecommit.REGION.amazonaws.com/v1/repos/NAME`)."""
        location = str(spec.get("source", {}).get("location") or "")
        name = location.rsplit("/v1/repos/", 1)[-1] if "/v1/repos/" in location else ""
        beside = self.remote.path.parent / f"{name}.git"
        return beside if name and beside.exists() else self.remote.path

    def _exported(self, result: BuildResult) -> dict[str, str]:
        if result.image is None:
            return {}
        image = result.image
        registry = f"{self.clients.account_id}.dkr.ecr.{self.clients.region}.amazonaws.com"
        return {"IMAGE_TAG": image.tag, "IMAGE_URI": f"{registry}/{image.repository}:{image.tag}",
                "IMAGE_DIGEST": image.digest}

    def run(self, build_id: str, project: str, commit: str, spec: dict[str, Any]) -> BuildResult:
        """Build `commit` of `project`; `spec` is the build as StartBuild made it (its
        source, buildspec path and environment variables). Returns the result: FAILED with
        a YAML_FILE_ERROR log line when the buildspec is missing or unusable, as CodeBuild
        fails it; a failing build is a result, not an exception."""
        import time

        started = time.monotonic()
        safe = build_id.replace(":", "-").replace("/", "-")
        checkout = self.workdir / "builds" / safe
        log = self.workdir / "builds" / f"{safe}.log"
        checkout.mkdir(parents=True, exist_ok=True)
        env_vars = {v["name"]: v["value"]
                    for v in spec.get("environment", {}).get("environmentVariables", [])}
        buildspec_path = spec.get("source", {}).get("buildspec") or "buildspec.yml"

        def done(status: str, image: Image | None = None) -> BuildResult:
            result = BuildResult(build_id, project, commit, status,
                                 time.monotonic() - started, log, image)
            self.results.append(result)
            shutil.rmtree(checkout, ignore_errors=True)
            if self.on_result:
                self.on_result(result)
            return result

        archive = subprocess.run(["git", "--git-dir", str(self._repository(spec)), "archive",
                                  commit], capture_output=True, check=False)
        if archive.returncode != 0:
            log.write_text(archive.stderr.decode(errors="replace"))
            return done("FAULT")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(checkout, filter="data")
        # CodeBuild fails such a build in its DOWNLOAD_SOURCE phase with YAML_FILE_ERROR
        # ("Phase context status code: YAML_FILE_ERROR Message: stat ...: no such file or
        # directory"): the build is FAILED, never left IN_PROGRESS.
        spec_file = checkout / buildspec_path
        try:
            buildspec = yaml.safe_load(spec_file.read_text()) if spec_file.is_file() else None
        except yaml.YAMLError as exc:
            log.write_text(f"YAML_FILE_ERROR: {buildspec_path}: {exc}\n")
            return done("FAILED")
        if not isinstance(buildspec, dict):
            why = "not a mapping" if spec_file.is_file() else "no such file or directory"
            log.write_text(f"YAML_FILE_ERROR: {buildspec_path}: {why}\n")
            return done("FAILED")
        variables = {**buildspec.get("env", {}).get("variables", {}), **env_vars}
        app_dir = str(variables.get("APP_DIR") or Path(buildspec_path).parent)
        repository = str(variables.get("IMAGE_REPO_NAME") or "")
        test_command = variables.get("TEST_COMMAND")
        output = ""
        if test_command:
            argv = shlex.split(str(test_command))
            if argv and argv[0] in ("python", "python3"):
                argv[0] = self.python
            argv += list(self.test_args)
            try:
                proc = subprocess.run(argv, cwd=checkout, capture_output=True, text=True,
                                      timeout=TEST_TIMEOUT, check=False)
                output = f"$ {shlex.join(argv)}\n{proc.stdout}{proc.stderr}"
                failed = proc.returncode != 0
            except subprocess.TimeoutExpired:
                output, failed = f"tests timed out after {TEST_TIMEOUT}s", True
            log.write_text(output)
            if failed:
                return done("FAILED")
        app = checkout / app_dir
        digest = content_digest(app)
        put_image(self.clients, repository, commit, content=digest.encode())
        root = self.workdir / "images" / repository / commit
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(app, root, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        dockerfile = app / "Dockerfile"
        command, health = dockerfile_commands(dockerfile.read_text()) if dockerfile.exists() \
            else ((), ())
        image = Image(repository, commit, digest, root, command, health)
        self.images[(repository, commit)] = image
        root.with_name(f"{commit}.json").write_text(json.dumps({
            "repository": repository, "tag": commit, "digest": digest,
            "command": list(command), "healthcheck": list(health)}))
        log.write_text(output + f"\nimage {repository}:{commit} {digest}\n")
        return done("SUCCEEDED", image)
