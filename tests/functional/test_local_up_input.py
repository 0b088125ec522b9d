"""`ecs-gitops local up` refuses what it cannot serve before it makes anything: a folder
that is not a git checkout, and `--app-repository` values that are malformed, name no
CodeCommit repository (or the configuration repository, or one twice), or no folder
committed in the checkout. Each is one line naming the value, exit 1, no `.local-cloud`,
no daemon. An application repository split off one folder is not silently reused for
another, and a split that fails leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecs_gitops_tools.cli.main import app
from ecs_gitops_tools.local.gitremote import GitRemote

runner = CliRunner()
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "U", "GIT_AUTHOR_EMAIL": "u@example.com",
           "GIT_COMMITTER_NAME": "U", "GIT_COMMITTER_EMAIL": "u@example.com"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                   env=GIT_ENV)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A small checkout: template.yaml, apps/api (committed), apps/new (not committed)."""
    root = tmp_path / "checkout"
    (root / "apps/api").mkdir(parents=True)
    (root / "apps/api/main.py").write_text("print('api')\n")
    (root / "template.yaml").write_text("Resources: {}\n")
    _git(tmp_path, "init", "-q", "-b", "main", str(root))
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "first")
    (root / "apps/new").mkdir()
    (root / "apps/new/x.py").write_text("x = 1\n")
    return root


@pytest.mark.parametrize(("value", "says"), [
    ("api", "wants NAME=FOLDER (e.g. api=apps/api), not 'api'"),
    ("=apps/api", "wants NAME=FOLDER"),
    ("api=", "wants NAME=FOLDER"),
    ("api=apps/api=x", "wants NAME=FOLDER"),
    ("../x=apps/api", "'../x' is not a repository name"),
    ("x.git=apps/api", "'x.git' is not a repository name"),
    ("remote=apps/api", "'remote' is the configuration repository's name"),
    ("ecs-gitops=apps/api", "'ecs-gitops' is the configuration repository's name"),
    ("api=apps/nosuch", "apps/nosuch is not a folder committed in the checkout"),
    ("api=apps/new", "apps/new is not a folder committed in the checkout"),
    ("api=apps/api/main.py", "apps/api/main.py is not a folder committed in the checkout"),
    ("api=/tmp", "FOLDER must be a folder below the checkout's root"),
    ("api=../", "FOLDER must be a folder below the checkout's root"),
    ("api=.", "FOLDER must be a folder below the checkout's root"),
])
def test_bad_app_repository_is_one_line_and_changes_nothing(
        checkout: Path, monkeypatch: pytest.MonkeyPatch, value: str, says: str) -> None:
    monkeypatch.chdir(checkout)
    result = runner.invoke(app, ["local", "up", "--port", "9", "--app-repository", value])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: "), result.output
    assert says in result.output, result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in checkout.iterdir()) == [".git", "apps", "template.yaml"]


def test_a_name_given_twice_is_refused(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(checkout)
    result = runner.invoke(app, ["local", "up", "--port", "9", "--app-repository",
                                 "api=apps/api", "--app-repository", "api=apps"])
    assert result.exit_code == 1, result.output
    assert "api is given twice (already api=apps/api)" in result.output
    assert not (checkout / ".local-cloud").exists()


def test_a_folder_that_is_not_a_git_checkout(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["local", "up", "--port", "9"])
    assert result.exit_code == 1, result.output
    assert "is not a git checkout with a commit" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / ".local-cloud").exists()


def test_an_application_repository_is_split_whole_or_not_at_all(checkout: Path,
                                                               tmp_path: Path) -> None:
    remote_path = tmp_path / "cloud/remote.git"
    _git(tmp_path, "clone", "-q", "--bare", str(checkout), str(remote_path))
    _git(checkout, "checkout", "-qb", "development")
    _git(checkout, "rm", "-rq", "apps/api")
    _git(checkout, "commit", "-qm", "no api on development")
    _git(checkout, "push", "-q", str(remote_path), "development")
    remote = GitRemote(remote_path)
    with pytest.raises(ValueError, match="apps/api is not a folder on the configuration "
                                         "repository's development"):
        GitRemote.application(tmp_path / "cloud/api.git", remote=remote, folder="apps/api",
                              branches=["main", "development"])
    assert sorted(p.name for p in (tmp_path / "cloud").iterdir()) == ["remote.git"]

    api = GitRemote.application(tmp_path / "cloud/api.git", remote=remote, folder="apps/api",
                                branches=["main"])
    assert api.show("main", "apps/api/main.py") == "print('api')\n"
    # the same folder: kept as it is; another folder: refused, not taken for it
    assert GitRemote.application(tmp_path / "cloud/api.git", remote=remote,
                                 folder="apps/api/", branches=["main"]).path == api.path
    with pytest.raises(ValueError, match="was split off apps/api, not apps: 'local up "
                                         "--reset' starts afresh"):
        GitRemote.application(tmp_path / "cloud/api.git", remote=remote, folder="apps",
                              branches=["main"])


def test_reset_keeps_a_worktree_made_in_the_cloud_folder(checkout: Path) -> None:
    """The README edits a pull request's branch in `.local-cloud/review`, a worktree of
    the checkout: `local up --reset` forgets the cloud, not that work."""
    from ecs_gitops_tools.local.daemon import reset_folder

    cloud = checkout / ".local-cloud"
    (cloud / "remote.git").mkdir(parents=True)
    (cloud / "timeline.log").write_text("old\n")
    _git(checkout, "worktree", "add", "-q", "-b", "max-8", str(cloud / "review"))
    (cloud / "review/apps/api/main.py").write_text("print('work in progress')\n")
    reset_folder(cloud)
    assert sorted(p.name for p in cloud.iterdir()) == ["review"]
    assert (cloud / "review/apps/api/main.py").read_text() == "print('work in progress')\n"
