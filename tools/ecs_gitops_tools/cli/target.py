"""Where the CLI points: a real account (the usual credential chain) or the embedded AWS."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from ecs_gitops.aws.clients import Clients
from ecs_gitops.desired import Environment, load_environment
from ecs_gitops.errors import EcsGitopsError

DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:4566"
DESIRED_DIR = Path("desired_state")
LOCAL_DIR = Path(".local-cloud")


def repo_root(start: Path | None = None) -> Path | None:
    """The repository around `start` (default: the current folder): the nearest folder,
    `start` or above, that holds `template.yaml`; None when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").is_file():
            return folder
    return None


def local_dir(start: Path | None = None) -> Path:
    """The folder of `local up`'s embedded cloud, from anywhere inside the repository:
    the nearest `.local-cloud` at or above `start`, else the repository root's."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / LOCAL_DIR).is_dir():
            return folder / LOCAL_DIR
        if (folder / ".git").exists() or (folder / "template.yaml").is_file():
            break
    root = repo_root(here)
    return (root or here) / LOCAL_DIR


def local_endpoint() -> str:
    """ECS_GITOPS_LOCAL_ENDPOINT, else the running `local up`'s, else the default."""
    if "ECS_GITOPS_LOCAL_ENDPOINT" in os.environ:
        return os.environ["ECS_GITOPS_LOCAL_ENDPOINT"]
    state = local_dir() / "state.json"
    if state.exists():
        import json

        return str(json.loads(state.read_text()).get("endpoint", DEFAULT_LOCAL_ENDPOINT))
    return DEFAULT_LOCAL_ENDPOINT


CONNECT_SECONDS = 3.0  # an unreachable endpoint fails within this, not after 10 retries


def _unreachable(url: str, seconds: float = CONNECT_SECONDS) -> str | None:
    """Why `url`'s host and port take no TCP connection within `seconds`; None if they do."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), seconds):
            return None
    except TimeoutError:
        return f"no answer within {seconds:.0f} s"
    except OSError as exc:
        return exc.strerror or str(exc)


def _reachable(url: str) -> bool:
    return _unreachable(url, 1.0) is None


def make_clients(*, local: bool, endpoint_url: str | None, region: str | None) -> Clients:
    """Clients for the CLI: the embedded AWS (`--local`), an endpoint, or the account of the
    usual credential chain. Raises EcsGitopsError, in one line, when there are no
    credentials (mentioning --local) or when the endpoint takes no connection within
    CONNECT_SECONDS (botocore would otherwise retry a refused connection for ~30 s)."""
    if local and endpoint_url is None:
        endpoint_url = local_endpoint()
        if not _reachable(endpoint_url):
            raise EcsGitopsError(
                f"the embedded AWS is not running at {endpoint_url}: start it with "
                "'ecs-gitops local up' (or run 'ecs-gitops demo', which needs nothing)")
    if endpoint_url is not None:
        # moto accepts any credentials; never send real ones to a local endpoint.
        for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
            os.environ.setdefault(key, value)
    clients = Clients(region=region, endpoint_url=endpoint_url)
    if endpoint_url is None and clients.session.get_credentials() is None:
        raise EcsGitopsError(
            "no AWS credentials found (environment, ~/.aws, SSO or an instance role): "
            "configure them, or use --local for the embedded cloud of 'ecs-gitops local up'")
    url = endpoint_url or str(clients.client("ecs").meta.endpoint_url)
    why = _unreachable(url)
    if why is not None:
        raise EcsGitopsError(f"cannot reach {url} ({why}): check the network, --region or "
                             "--endpoint-url; or use --local for the embedded cloud")
    return clients


def resolve_file(env_or_file: str, directory: Path = DESIRED_DIR) -> Path:
    """`production` -> desired_state/production.yaml (here, else at the repository's
    root, so that it works from any folder inside it); a path is taken as it is."""
    path = Path(env_or_file)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    candidate = directory / f"{env_or_file}.yaml"
    if candidate.exists():
        return candidate
    root = repo_root()
    if root is not None and not directory.is_absolute() and \
            (root / directory / f"{env_or_file}.yaml").exists():
        return root / directory / f"{env_or_file}.yaml"
    known = sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []
    raise EcsGitopsError(
        f"no desired-state file for {env_or_file!r}: looked for {candidate}"
        + (f"; known environments: {', '.join(known)}" if known else ""))


def load(env_or_file: str) -> Environment:
    """The environment named by `env_or_file` (a name under desired_state/ or a path), loaded.

    Raises:
        EcsGitopsError: no such file (the message lists the known environments).
        DesiredStateError: the file is invalid (every problem with file:line).
    """
    return load_environment(resolve_file(env_or_file))


def all_environment_files(directory: Path = DESIRED_DIR) -> list[Path]:
    """The desired-state files of `directory` (`*.yaml`), sorted by name."""
    return sorted(p for p in directory.glob("*.yaml"))
