"""Create the approval rule templates that guard the production branch, and associate
them with the repository.

CloudFormation has no resource type for CodeCommit approval rule templates (the
coverage roadmap's issue 329 is open), so, like ``sync_db_password.py``, this script
does what the ``people`` stack (``infra/people.yaml``) cannot. Two templates, both for
pull requests into the production branch (default ``main``):

- ``ecs-gitops-peer-review``: one approval from an IAM user of the account. CodeCommit
  never counts the author's own approval (PullRequestCannotBeApprovedByAuthorException).
- ``ecs-gitops-platform-owners``: one approval from a session of the platform owner
  role (``arn:<partition>:sts::<account>:assumed-role/<role>/*``), which only the
  platform owners' group may assume, with MFA.

CodeCommit applies a template to a pull request by its destination branch only; it
cannot look at the paths a pull request changes, so the platform owners' approval is
required on every pull request into main (which includes every change of
``apps/*/buildspec.yml`` and ``template.yaml``). infra/README.md, "Review before
production", says what is and is not enforced.

Run it once after the people stack, and again whenever the branch or role changes::

    .venv/bin/python infra/review_rules.py --region us-east-1

It is idempotent: a template that already says the same is left alone, one that says
something else is updated, and the association is made only where missing. A rule
template applies to pull requests opened after it is associated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_REPOSITORY = "ecs-gitops"
DEFAULT_BRANCH = "main"
DEFAULT_ROLE = "ecs-gitops-platform-owner"
PEER_REVIEW = "ecs-gitops-peer-review"
PLATFORM_OWNERS = "ecs-gitops-platform-owners"
# The only version of the approval rule content format (CodeCommit API reference,
# CreateApprovalRuleTemplate, approvalRuleTemplateContent).
CONTENT_VERSION = "2018-11-08"


class ReviewRulesError(RuntimeError):
    """The rules cannot be put in place (the message says why)."""


@dataclass(frozen=True)
class RuleTemplate:
    """One approval rule template: its name, description and content (the JSON
    document CodeCommit stores, as a dict)."""

    name: str
    description: str
    content: dict[str, Any]

    def content_text(self) -> str:
        return json.dumps(self.content, sort_keys=True, separators=(",", ":"))


def rule_templates(*, partition: str, account: str, branch: str = DEFAULT_BRANCH,
                   platform_owner_role: str = DEFAULT_ROLE) -> list[RuleTemplate]:
    """The two templates for ``branch`` in ``account`` (12 digits)."""
    if not (account.isdigit() and len(account) == 12):
        raise ReviewRulesError(f"account must be 12 digits, not {account!r}")

    def content(pool: str) -> dict[str, Any]:
        return {
            "Version": CONTENT_VERSION,
            "DestinationReferences": [f"refs/heads/{branch}"],
            "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1,
                            "ApprovalPoolMembers": [pool]}],
        }

    return [
        RuleTemplate(
            PEER_REVIEW,
            f"One approval by another person (an IAM user of the account) before a merge into {branch}",
            content(f"arn:{partition}:iam::{account}:user/*"),
        ),
        RuleTemplate(
            PLATFORM_OWNERS,
            f"One approval by a platform owner (role {platform_owner_role}) before a merge into {branch}",
            content(f"arn:{partition}:sts::{account}:assumed-role/{platform_owner_role}/*"),
        ),
    ]


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def ensure(codecommit: Any, templates: list[RuleTemplate], *, repository: str,
           say: Callable[[str], None] = print) -> list[str]:
    """Create or update each template and associate it with ``repository``.

    ``codecommit`` is a boto3 CodeCommit client. Returns what changed, one line per
    change (empty when everything was in place). Raises :class:`ReviewRulesError` when
    the repository does not exist; other AWS errors propagate as botocore's.
    """
    changes: list[str] = []
    for template in templates:
        try:
            found = codecommit.get_approval_rule_template(
                approvalRuleTemplateName=template.name)["approvalRuleTemplate"]
        except Exception as exc:
            if _error_code(exc) != "ApprovalRuleTemplateDoesNotExistException":
                raise
            codecommit.create_approval_rule_template(
                approvalRuleTemplateName=template.name,
                approvalRuleTemplateContent=template.content_text(),
                approvalRuleTemplateDescription=template.description)
            changes.append(f"created {template.name}")
        else:
            if json.loads(found["approvalRuleTemplateContent"]) != template.content:
                codecommit.update_approval_rule_template_content(
                    approvalRuleTemplateName=template.name,
                    newRuleContent=template.content_text(),
                    existingRuleContentSha256=found["ruleContentSha256"])
                changes.append(f"updated {template.name}")
    associated = _associated(codecommit, repository)
    for template in templates:
        if template.name not in associated:
            codecommit.associate_approval_rule_template_with_repository(
                approvalRuleTemplateName=template.name, repositoryName=repository)
            changes.append(f"associated {template.name} with {repository}")
    for line in changes:
        say(line)
    return changes


def _associated(codecommit: Any, repository: str) -> set[str]:
    names: set[str] = set()
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"repositoryName": repository}
        if token:
            kwargs["nextToken"] = token
        try:
            page = codecommit.list_associated_approval_rule_templates_for_repository(**kwargs)
        except Exception as exc:
            if _error_code(exc) == "RepositoryDoesNotExistException":
                raise ReviewRulesError(
                    f"repository {repository} does not exist in this account and region") from None
            raise
        names.update(page.get("approvalRuleTemplateNames", []))
        token = page.get("nextToken")
        if not token:
            return names


def main(argv: list[str] | None = None, *, session: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", default=DEFAULT_REPOSITORY,
                        help=f"CodeCommit repository (default {DEFAULT_REPOSITORY})")
    parser.add_argument("--branch", default=DEFAULT_BRANCH,
                        help=f"the production branch (default {DEFAULT_BRANCH})")
    parser.add_argument("--platform-owner-role", default=DEFAULT_ROLE,
                        help=f"the platform owners' role name (default {DEFAULT_ROLE})")
    parser.add_argument("--region", default=None, help="AWS region (default: the usual chain)")
    args = parser.parse_args(argv)

    import boto3  # imported here so that --help works without AWS libraries
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.session.Session(region_name=args.region)
    try:
        caller = session.client("sts").get_caller_identity()["Arn"]
        partition, account = caller.split(":")[1], caller.split(":")[4]
        templates = rule_templates(partition=partition, account=account, branch=args.branch,
                                   platform_owner_role=args.platform_owner_role)
        changes = ensure(session.client("codecommit"), templates, repository=args.repository)
    except ReviewRulesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not changes:
        print(f"{args.repository}: {', '.join(t.name for t in templates)} already in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
