#!/usr/bin/env python3
"""Prove that each guard of issues 10 and 15 (and of later fixes) has a test that fails
when the guard is removed.

For every row of GUARDS: in a temporary copy of the working tree, replace the guard's
code (`old`, which must occur exactly once in `file`) by `new` (the guard deleted or
negated), run the row's tests, and check that they FAIL; then restore the file. Before
that, every named test must pass on the unchanged copy (else a failure proves nothing).
A run that hangs past TIMEOUT seconds is killed and counted as noticed ("hang"): only
the alias and depth bounds do that, which is what they exist to prevent.

    .venv/bin/python scripts/guards.py            # all rows, prints a Markdown table
    .venv/bin/python scripts/guards.py 4b 7a      # some rows
    .venv/bin/python scripts/guards.py 15. 3a     # a prefix ending in ".": every row of issue 15

Exit status 0 when every row is proven, 1 otherwise. Not part of the test suite
(docs/mutation.md has the table and the last run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = os.environ.get("PYTHON", str(ROOT / ".venv" / "bin" / "python"))
TIMEOUT = 90
CORE = "layers/core/ecs_gitops/"
U = "tests/unit/"
F = "tests/functional/"
PV = U + "test_preview.py::"
AR = U + "test_app_repositories.py::"
PR = F + "test_pull_requests.py::"


@dataclass(frozen=True)
class Guard:
    row: str
    guard: str  # which guard: one of issue 10's eight ("1 claims"), or "15 preview", ...
    what: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


GUARDS = [
    # 1. claims --------------------------------------------------------------------------
    Guard("1a", "1 claims", "IN_PROGRESS only for the invocation's remaining time (push)",
          CORE + "controllers/push.py",
          "with claimed(ports.store, push_key(branch, after), seconds=ports.clock.remaining())",
          "with claimed(ports.store, push_key(branch, after), seconds=900)",
          (U + "test_claims.py::test_a_killed_push_leaves_its_claims_in_progress_for_the_"
               "invocations_time_only",)),
    Guard("1b", "1 claims", "IN_PROGRESS only for the invocation's remaining time (build)",
          CORE + "controllers/build.py",
          "with claimed(ports.store, build_key(detail.build_id), seconds=ports.clock.remaining())",
          "with claimed(ports.store, build_key(detail.build_id), seconds=900)",
          (U + "test_claims.py::test_a_killed_build_handler_leaves_its_claim_in_progress_for_"
               "the_invocations_time_only",)),
    Guard("1c", "1 claims", "COMPLETED with its outcome after the work",
          CORE + "store.py",
          "        store.complete(key, claim.outcome, ttl=ttl)",
          "        store.forget(key)",
          (U + "test_claims.py::test_a_finished_push_is_completed_with_its_outcome",
           U + "test_controllers.py::test_a_duplicate_push_starts_no_second_build",
           F + "test_store_contract.py::test_claimed_semantics")),
    Guard("1d", "1 claims", "removed when the work fails (un-claim on failure)",
          CORE + "store.py",
          "    except Exception:\n        store.forget(key)\n        raise",
          "    except Exception:\n        raise",
          (U + "test_claims.py::test_a_failed_push_removes_its_claims",
           U + "test_controllers.py::test_a_failed_start_build_is_retried_by_the_next_delivery",
           U + "test_delivery_faults.py::test_a_build_whose_write_back_failed_is_redone_by_the_"
               "next_delivery")),
    Guard("1e", "1 claims", "a live worker's IN_PROGRESS claim is not taken",
          CORE + "store.py",
          "        raise ClaimInProgressError(f\"{key} is being handled by another invocation\")",
          "        return",
          (U + "test_claims.py::test_a_live_workers_claim_is_left_to_it",)),
    Guard("1f", "1 claims", "an expired IN_PROGRESS claim is redone (DynamoDB condition)",
          CORE + "aws/dynamodb.py",
          "(#s = :ip AND in_progress_until < :now)",
          "(#s = :ip AND in_progress_until < :now AND expires_at < :now)",
          (F + "test_store_contract.py::test_an_in_progress_claim_of_a_dead_worker_is_taken_"
               "over",)),
    Guard("1g", "1 claims", "a redone claim finds the build its dead worker started",
          CORE + "controllers/push.py",
          "found = ports.builds.builds_of(service.build.project, after) if claim.redo else []",
          "found = []",
          (U + "test_claims.py::test_a_dead_workers_claim_is_redone_and_finds_the_build_it_"
               "started",)),
    Guard("1h", "1 claims", "the claim on deployment events (duplicates do nothing)",
          CORE + "controllers/deployment.py",
          "        if claim.done_before:\n            return ignore(Reason.ALREADY_PROCESSED,\n"
          "                          what=f\"{detail.event_name} of {detail.deployment_id}\"",
          "        if False:\n            return ignore(Reason.ALREADY_PROCESSED,\n"
          "                          what=f\"{detail.event_name} of {detail.deployment_id}\"",
          (U + "test_controllers.py::test_failed_reverts_git_to_the_running_image",)),
    Guard("1i", "1 claims", "a missing image leaves the build unclaimed for a later delivery",
          CORE + "controllers/build.py",
          "            claim.release()\n        claim.outcome",
          "            pass\n        claim.outcome",
          (U + "test_controllers.py::test_a_missing_image_leaves_the_build_to_a_later_delivery",)),
    # 2. crash harness -------------------------------------------------------------------
    Guard("2a", "2 crash harness", "push: a killed StartBuild is found again, not repeated "
          "(the harness alone does not notice: its retries come within StartBuild's 5-minute "
          "token; test_claims does)",
          CORE + "controllers/push.py",
          "found = ports.builds.builds_of(service.build.project, after) if claim.redo else []",
          "found = []",
          (U + "test_crash_harness.py",
           U + "test_claims.py::test_a_dead_workers_claim_is_redone_and_finds_the_build_it_"
               "started")),
    Guard("2b", "2 crash harness", "push: the last handled tip moves forward after the work",
          CORE + "controllers/push.py",
          "    advance_tip(ports, branch, after)\n    return outcome",
          "    return outcome",
          (U + "test_crash_harness.py",)),
    Guard("2c", "2 crash harness", "the harness itself notices a lost build",
          U + "test_crash_harness.py",
          "def test_the_harness_notices_a_lost_build() -> None:\n",
          "def test_the_harness_notices_a_lost_build() -> None:\n    raise AssertionError\n",
          (U + "test_crash_harness.py::test_the_harness_notices_a_lost_build",)),
    # 3. loader bounds -------------------------------------------------------------------
    Guard("3a", "3 loader bounds", "alias expansion bounded (alias bombs refused)",
          CORE + "desired/document.py",
          "                if self._aliased > MAX_ALIAS_EXPANSION:",
          "                if False:",
          (U + "test_loader_inputs.py::test_the_issues_alias_bomb_with_a_duplicate_key_is_"
               "refused_quickly",
           U + "test_loader_inputs.py::test_merge_key_bombs_are_bounded_too")),
    Guard("3b", "3 loader bounds", "an alias inside its own anchor (a cycle) refused",
          CORE + "desired/document.py",
          "                if size is None:\n                    raise _Refused",
          "                if False:\n                    raise _Refused",
          (U + "test_loader_inputs.py::test_an_alias_inside_its_own_anchor_is_refused",)),
    Guard("3c", "3 loader bounds", "nesting depth bounded",
          CORE + "desired/document.py",
          "        if self._depth >= MAX_DEPTH:",
          "        if False:",
          (U + "test_loader_inputs.py::test_nesting_3000_levels_deep_is_refused_at_the_first_"
               "level_too_deep",)),
    Guard("3d", "3 loader bounds", "non-string keys are field errors",
          CORE + "desired/document.py",
          "                if not _is_string_key(key_node):",
          "                if False:",
          (U + "test_loader_inputs.py::test_an_integer_key_is_a_field_error",
           U + "test_loader_inputs.py::test_a_list_or_mapping_as_a_key_is_a_field_error")),
    Guard("3e", "3 loader bounds", "infinities and NaN are field errors",
          CORE + "desired/model.py",
          "    if not math.isfinite(value):",
          "    if False:",
          (U + "test_loader_inputs.py::test_infinite_or_nan_cpu_is_a_field_error",
           U + "test_loader_inputs.py::test_infinite_or_nan_memory_is_a_field_error")),
    Guard("3f", "3 loader bounds", "a bug of ours on odd input is a located problem",
          CORE + "desired/loader.py",
          "    except Exception as exc:  # a bug of ours",
          "    except ZeroDivisionError as exc:  # a bug of ours",
          (U + "test_loader_inputs.py::test_a_bug_of_ours_is_still_a_located_problem",)),
    # 4. write-back decided from git -----------------------------------------------------
    Guard("4a", "4 write-back", "only a commit on the environment's branch",
          CORE + "controllers/build.py",
          "        if not ports.source.is_ancestor(commit, tip):",
          "        if False:",
          (U + "test_delivery_faults.py::test_a_build_started_by_hand_on_another_branch_is_not_"
               "written",)),
    Guard("4b", "4 write-back", "only newer than the pinned commit",
          CORE + "controllers/build.py",
          "        if COMMIT.match(current) and current != commit \\\n"
          "                and ports.source.is_ancestor(commit, current):",
          "        if False:",
          (U + "test_delivery_faults.py::test_a_build_of_a_branch_name_is_judged_by_the_commit_"
               "it_built",)),
    Guard("4c", "4 write-back", "never over a person's later change of the tag",
          CORE + "controllers/build.py",
          "        if setter is not None and not is_write_back(setter.message) \\\n"
          "                and not ports.source.is_ancestor(setter.id, commit):",
          "        if False:",
          (U + "test_delivery_faults.py::test_a_persons_rollback_is_not_undone_after_the_record_"
               "expires",)),
    Guard("4d", "4 write-back", "the commit the build really built (resolved source version)",
          CORE + "controllers/build.py",
          "    return ports.builds.resolved_commit(detail.build_id)",
          "    return version",
          (U + "test_delivery_faults.py::test_a_build_of_a_branch_name_is_judged_by_the_commit_"
               "it_built",
           U + "test_delivery_faults.py::test_a_build_started_by_hand_on_another_branch_is_not_"
               "written")),
    Guard("4e", "4 write-back", "the retry on a commit conflict",
          CORE + "controllers/writeback.py",
          "        except ConflictError:\n            continue",
          "        except ConflictError:\n            raise",
          (U + "test_delivery_faults.py::test_a_commit_conflict_is_retried_on_the_new_tip",)),
    Guard("4f", "4 write-back", "the \"already pinned\" check",
          CORE + "controllers/writeback.py",
          "        if current == tag:\n            return WriteBack(None, Reason.ALREADY_PINNED",
          "        if False:\n            return WriteBack(None, Reason.ALREADY_PINNED",
          (U + "test_delivery_faults.py::test_a_tag_already_pinned_is_not_committed_again",)),
    Guard("4g", "4 write-back", "FAULT and TIMED_OUT are finished (notified, never written)",
          CORE + "controllers/build.py",
          "FINISHED = (\"SUCCEEDED\", \"FAILED\", \"FAULT\", \"STOPPED\", \"TIMED_OUT\")",
          "FINISHED = (\"SUCCEEDED\", \"FAILED\", \"STOPPED\")",
          (U + "test_controllers.py::test_build_finished",)),
    # 5. releases keyed by deployment id -------------------------------------------------
    Guard("5a", "5 releases", "an event is matched to its release by deployment id",
          CORE + "controllers/deployment.py",
          "        if release.deployment_id and release.deployment_id == deployment_id:",
          "        if True:",
          (U + "test_delivery_faults.py::test_a_late_failure_of_a_superseded_deployment_never_"
               "touches_the_current_one",
           U + "test_delivery_faults.py::test_an_event_of_a_deployment_ecs_gitops_did_not_start_"
               "changes_nothing")),
    Guard("5b", "5 releases", "superseded releases are closed",
          CORE + "deadline.py",
          "                self.store.set_outcome(release, ReleaseState.SUPERSEDED, why)",
          "                pass",
          (U + "test_delivery_faults.py::test_a_late_failure_of_a_superseded_deployment_never_"
               "touches_the_current_one",)),
    Guard("5c", "5 releases", "STUCK past the deadline",
          CORE + "engine.py",
          "        if release.deadline and now.isoformat() > release.deadline:",
          "        if False:",
          (U + "test_delivery_faults.py::test_a_rollout_that_never_finishes_is_reported_stuck_by_"
               "the_sweep",)),
    Guard("5d", "5 releases", "a STUCK release is notified",
          CORE + "controllers/deployment.py",
          "        if done.state is ReleaseState.STUCK:",
          "        if False:",
          (U + "test_delivery_faults.py::test_a_rollout_that_never_finishes_is_reported_stuck_by_"
               "the_sweep",)),
    # 6. ignore what is not ours ---------------------------------------------------------
    Guard("6a", "6 not ours", "account", CORE + "controllers/lookup.py",
          "    checks = ((\"account\", event.account, settings.account),",
          "    checks = (",
          (U + "test_delivery_faults.py::test_events_of_another_account_or_region_are_ignored",)),
    Guard("6b", "6 not ours", "region", CORE + "controllers/lookup.py",
          "              (\"region\", event.region, settings.region),\n", "",
          (U + "test_delivery_faults.py::test_events_of_another_account_or_region_are_ignored",)),
    Guard("6c", "6 not ours", "repository", CORE + "controllers/lookup.py",
          "              (\"repository\", repository, settings.repository),\n", "",
          (U + "test_delivery_faults.py::test_pushes_to_another_repository_and_events_of_"
               "another_cluster_are_ignored",)),
    Guard("6d", "6 not ours", "cluster", CORE + "controllers/lookup.py",
          "              (\"cluster\", cluster, settings.cluster))",
          ")",
          (U + "test_delivery_faults.py::test_pushes_to_another_repository_and_events_of_"
               "another_cluster_are_ignored",)),
    Guard("6e", "6 not ours", "project (a build of a project no file names)",
          CORE + "controllers/build.py",
          "    if found is None:\n        return ignore(Reason.UNKNOWN_PROJECT",
          "    if False:\n        return ignore(Reason.UNKNOWN_PROJECT",
          (U + "test_controllers.py::test_unknown_projects_are_ignored",)),
    # 7. the sweep cannot miss -----------------------------------------------------------
    Guard("7a", "7 sweep", "every page of builds", CORE + "aws/services.py",
          "            kwargs[\"nextToken\"] = page[\"nextToken\"]",
          "            return out",
          (F + "test_build_pages.py::test_a_success_behind_a_full_page_of_newer_builds_is_"
               "found",)),
    Guard("7b", "7 sweep", "builds the sweep reads go through the build controller",
          CORE + "controllers/sweep.py",
          "        for detail in ports.builds.finished_since(project, since):",
          "        for detail in ports.builds.finished_since(project, since)[:10]:",
          (U + "test_delivery_faults.py::test_the_sweep_finds_a_lost_success_behind_many_newer_"
               "builds",)),
    Guard("7c", "7 sweep", "the recorded tip follows a force push",
          CORE + "controllers/push.py",
          "        if last is not None and not ports.source.is_ancestor(last, commit) \\\n"
          "                and ports.source.branch_tip(branch) != commit:",
          "        if last is not None and not ports.source.is_ancestor(last, commit):",
          (U + "test_delivery_faults.py::test_after_a_force_push_the_recorded_tip_follows_the_"
               "branch",)),
    Guard("7d", "7 sweep", "a branch tip never handled goes through the push controller",
          CORE + "controllers/sweep.py",
          "    if last == tip:\n        return []",
          "    if True:\n        return []",
          (U + "test_controllers.py::test_sweep_builds_a_lost_push_and_writes_a_lost_build",)),
    Guard("7e", "7 sweep", "stuck IN_PROGRESS claims are redone (fake store's expiry)",
          "tests/support/fakes.py",
          "old.status is ClaimStatus.IN_PROGRESS and old.in_progress_until < self.now",
          "False",
          (U + "test_claims.py::test_a_dead_workers_claim_is_redone_and_finds_the_build_it_"
               "started", U + "test_crash_harness.py")),
    # 8. deletions, buildspec, git ids ---------------------------------------------------
    Guard("8a", "8 deletions/ids", "a deleted app folder builds nothing",
          CORE + "controllers/push.py",
          "        if ports.source.read_file(after, f\"{folder}{BUILDSPEC}\") is None:",
          "        if False:",
          (U + "test_delivery_faults.py::test_deleting_an_apps_folder_builds_nothing",)),
    Guard("8b", "8 deletions/ids", "embedded builder: missing buildspec is FAILED",
          "tools/ecs_gitops_tools/local/builder.py",
          "        if not isinstance(buildspec, dict):",
          "        if False:",
          (F + "test_builder_buildspec.py",)),
    Guard("8c", "8 deletions/ids", "git ids validated as hex",
          CORE + "source/localgit.py",
          "    if not _OBJECT.match(commit):\n        raise SourceError",
          "    if False:\n        raise SourceError",
          (F + "test_localgit_ids.py",)),
    Guard("8d", "8 deletions/ids", "`--` after user-supplied ids (commit)",
          CORE + "source/localgit.py",
          "_object(commit_id), \"--\").stdout",
          "_object(commit_id)).stdout",
          (F + "test_localgit_ids.py::test_an_id_that_is_also_a_file_name_is_read_as_a_"
               "commit",)),
    # 15.1 issue 15: plan previews on pull requests --------------------------------------
    Guard("15.1a", "15 preview", "the claim per (pull request, source, destination): "
          "duplicate and late events post nothing twice",
          CORE + "controllers/preview.py",
          "        if claim.done_before and _shown(ports, repository, pull_request, destination):",
          "        if False:",
          (PV + "test_duplicate_and_late_events_post_nothing_twice",)),
    Guard("15.1b", "15 preview", "... unless the comment shows another pair (a source pushed "
          "back to an earlier commit is previewed again)",
          CORE + "controllers/preview.py",
          "        if claim.done_before and _shown(ports, repository, pull_request, destination):",
          "        if claim.done_before:",
          (PV + "test_a_source_branch_pushed_back_to_an_earlier_commit_is_previewed_again",)),
    Guard("15.1c", "15 preview", "an older run never overwrites a newer preview (source "
          "re-read before posting)",
          CORE + "controllers/preview.py",
          "        current = _moved_on(pulls, pull_request)",
          "        current = None",
          (PV + "test_a_slower_run_of_an_older_push_does_not_overwrite_the_newer_preview",)),
    Guard("15.1d", "15 preview", "the comment a killed run posted is found by its marker "
          "(updated, not posted twice)",
          CORE + "controllers/preview.py",
          "        comment_id = next((c.id for c in pull_requests.comments(pull_request.id)\n"
          "                           if c.content.startswith(MARKER)), None)",
          "        comment_id = None",
          (PV + "test_a_comment_a_killed_run_posted_is_found_by_its_marker_and_updated",
           PV + "test_two_concurrent_runs_leave_one_comment")),
    Guard("15.1e", "15 preview", "a spent first-post token is replaced by the next "
          "generation on ConflictError",
          CORE + "controllers/preview.py",
          "            ports.store.put_value(spent, str(int(generation or 0) + 1))\n"
          "            raise",
          "            raise",
          (PV + "test_a_spent_token_after_a_kill_and_a_deletion_is_replaced_by_the_next",)),
    Guard("15.1f", "15 preview", "a comment a person deleted is posted again (UpdateComment's "
          "SourceError)",
          CORE + "controllers/preview.py",
          "    except SourceError:\n        # A person deleted it",
          "    except SourceError:\n        raise\n        # A person deleted it",
          (PV + "test_a_comment_a_person_deleted_is_posted_again",)),
    Guard("15.1g", "15 preview", "a conflict list clipped to whole lines within "
          "CONTENT_LIMIT (10,240), its last line kept",
          CORE + "controllers/preview.py",
          "    paths = _clipped(paths, CONTENT_LIMIT - len(head) - 400, \"\",\n"
          "                     more=\"- ... and {} more file(s)\")",
          "",
          (PV + "test_a_conflict_in_thousands_of_files_still_fits_in_one_comment",)),
    Guard("15.1g2", "15 preview", "an application pull request's builds clipped to whole "
          "lines within CONTENT_LIMIT",
          CORE + "controllers/preview.py",
          "        listed = _clipped(\"\\n\".join(lines), CONTENT_LIMIT - len(head) - 200, \"\",\n"
          "                          more=\"- ... and {} more build(s)\")",
          "        listed = \"\\n\".join(lines)",
          (AR + "test_a_merge_that_builds_hundreds_of_services_still_fits_in_one_comment",)),
    Guard("15.1h", "15 preview", "a file's problems clipped to the room left",
          CORE + "controllers/preview.py",
          "        shown = _clipped(problems, CONTENT_LIMIT - len(intro) - 200,\n"
          "                         f\"validate {path}\", what=\"ecs-gitops\")",
          "        shown = problems",
          (PV + "test_thousands_of_problems_still_fit_in_one_comment",)),
    Guard("15.1i", "15 preview", "the plan clipped to the room left",
          CORE + "controllers/preview.py",
          "{_fenced(_clipped(plan, room, environment))}",
          "{_fenced(plan)}",
          (PV + "test_a_plan_longer_than_a_comment_is_clipped_with_how_to_see_all",)),
    Guard("15.1j", "15 preview", "`_fenced`: no line of the text can close the code block",
          CORE + "controllers/preview.py",
          "    fence = \"```\"\n    while fence in text:\n        fence += \"`\"",
          "    fence = \"```\"",
          (PV + "test_a_fence_in_the_text_cannot_close_the_block",
           PV + "test_the_fenced_block_holds_the_text_and_nothing_closes_it_early")),
    Guard("15.1k", "15 preview", "`_code`: no backtick of the text can end the code span",
          CORE + "controllers/preview.py",
          "    fence = \"`\"\n    while fence in text:\n        fence += \"`\"",
          "    fence = \"`\"",
          (PV + "test_a_branch_name_cannot_break_out_of_its_code_span",)),
    Guard("15.1l", "15 preview", "`_code`: no line break of the text can end the code span",
          CORE + "controllers/preview.py",
          "    text = \" \".join(text.splitlines()) or \" \"",
          "    text = text or \" \"",
          (PV + "test_a_branch_name_cannot_break_out_of_its_code_span",)),
    Guard("15.1m", "15 preview", "only OPEN pull requests",
          CORE + "controllers/preview.py",
          "    if pull_request.status.upper() != \"OPEN\":",
          "    if False:",
          (PV + "test_pull_requests_into_untracked_branches_and_closed_ones_are_ignored",)),
    Guard("15.1n", "15 preview", "only pull requests into a tracked branch (configuration "
          "repository)",
          CORE + "controllers/preview.py",
          "    if environment is None:\n        return ignore(Reason.UNTRACKED_BRANCH",
          "    if False:\n        return ignore(Reason.UNTRACKED_BRANCH",
          (PV + "test_pull_requests_into_untracked_branches_and_closed_ones_are_ignored",)),
    Guard("15.1o", "15 preview", "only pull requests into a branch that feeds an environment "
          "(application repository)",
          CORE + "controllers/preview.py",
          "    if not fed:\n",
          "    if False:\n",
          (AR + "test_an_api_pull_request_into_a_branch_that_feeds_nothing_is_ignored",)),
    Guard("15.1p", "15 preview", "... and only the environments that branch feeds",
          CORE + "controllers/preview.py",
          "                and app_branch(s, desired) == pull_request.destination_branch]",
          "                ]",
          (AR + "test_an_api_pull_request_says_which_builds_and_environments_its_merge_"
                "reaches",)),
    # 15.2 issue 15: application repositories ---------------------------------------------
    Guard("15.2a", "15 app repos", "a build's ancestry is judged in its application "
          "repository",
          CORE + "controllers/build.py",
          "        git = ports.source_of(repository)\n        feeding",
          "        git = ports.source\n        feeding",
          (AR + "test_the_build_is_written_back_to_the_configuration_repository",
           AR + "test_never_backwards_and_only_from_the_feeding_branch")),
    Guard("15.2b", "15 app repos", "... on the branch that feeds the environment "
          "(`build.branch`), not the configuration branch's name",
          CORE + "controllers/build.py",
          "        feeding = app_branch(service, found.desired) or branch",
          "        feeding = branch",
          (AR + "test_a_build_is_judged_on_the_branch_that_feeds_its_environment",)),
    Guard("15.2c", "15 app repos", "only a commit on the feeding branch",
          CORE + "controllers/build.py",
          "        if not git.is_ancestor(commit, git.branch_tip(feeding)):",
          "        if False:",
          (AR + "test_never_backwards_and_only_from_the_feeding_branch",)),
    Guard("15.2d", "15 app repos", "never backwards (an older build is not written back)",
          CORE + "controllers/build.py",
          "        if COMMIT.match(current) and current != commit and git.is_ancestor(commit, "
          "current):",
          "        if False:",
          (AR + "test_never_backwards_and_only_from_the_feeding_branch",
           F + "test_app_repositories.py::test_an_older_api_build_is_not_written_back")),
    Guard("15.2e", "15 app repos", "a person's pin is kept",
          CORE + "controllers/build.py",
          "        if setter is not None and not is_write_back(setter.message) \\\n"
          "                and _known(git, current) and not git.is_ancestor(current, commit):",
          "        if False:",
          (AR + "test_a_person_s_pin_is_kept_unless_the_build_descends_from_it",)),
    Guard("15.2f", "15 app repos", "... unless the build descends from it",
          CORE + "controllers/build.py",
          "                and _known(git, current) and not git.is_ancestor(current, commit):",
          "                and _known(git, current):",
          (AR + "test_a_person_s_pin_is_kept_unless_the_build_descends_from_it",)),
    Guard("15.2g", "15 app repos", "... and a pin that is no commit of the application "
          "repository (set before the service moved there) does not stop it",
          CORE + "controllers/build.py",
          "                and _known(git, current) and not git.is_ancestor(current, commit):",
          "                and not git.is_ancestor(current, commit):",
          (AR + "test_the_build_is_written_back_to_the_configuration_repository",)),
    Guard("15.2h", "15 app repos", "no loop: the write-back's push starts no build",
          CORE + "controllers/push.py",
          "    if is_write_back(commit.message) and only_desired:",
          "    if False:",
          (AR + "test_the_build_is_written_back_to_the_configuration_repository",)),
    Guard("15.2i", "15 app repos", "a configuration push never builds an application "
          "repository's service",
          CORE + "controllers/push.py",
          "        if service.build is None or service.build.repository is not None:\n"
          "            continue  # an application repository's service",
          "        if service.build is None:\n"
          "            continue  # an application repository's service",
          (AR + "test_the_configuration_repository_no_longer_builds_the_api",)),
    Guard("15.2j", "15 app repos", "an application push builds only the services its "
          "branch feeds",
          CORE + "controllers/push.py",
          "                        or app_branch(service, desired) != branch:",
          "                        or False:",
          (AR + "test_a_branch_that_feeds_no_environment_builds_nothing",
           AR + "test_a_push_to_the_api_repository_builds_the_service_it_feeds")),
    Guard("15.2k", "15 app repos", "the sweep follows the application repositories' branches",
          CORE + "controllers/sweep.py",
          "        outcomes += _app_tip(ports, repository, branch)",
          "        pass",
          (AR + "test_the_sweep_builds_a_lost_push",)),
    Guard("15.2l", "15 app repos", "... every feeding branch (not only the first)",
          CORE + "controllers/sweep.py",
          "    for repository, branch in sorted(feeding):",
          "    for repository, branch in sorted(feeding)[:1]:",
          (AR + "test_the_sweep_follows_every_feeding_branch",)),
    Guard("15.2m", "15 app repos", "... the branch `build.branch` names",
          CORE + "controllers/sweep.py",
          "        feeding |= {(s.build.repository, push.app_branch(s, desired) or branch)",
          "        feeding |= {(s.build.repository, branch)",
          (AR + "test_the_sweep_follows_every_feeding_branch",)),
    # 15.3 issue 15: CodeCommit's comments, on AWS and on the embedded cloud ------------------
    Guard("15.3a", "15 CodeCommit", "GetCommentsForPullRequest with pullRequestId only",
          CORE + "aws/codecommit.py",
          "                pullRequestId=pull_request_id)\n            for page in pages:",
          "                pullRequestId=pull_request_id, repositoryName=self.repository)\n"
          "            for page in pages:",
          (PR + "test_comments_every_page_without_deleted_ones",)),
    Guard("15.3b", "15 CodeCommit", "CommentNotCreatedByCallerException is a SourceError "
          "(a new comment is posted)",
          CORE + "aws/codecommit.py",
          "            if _code(exc) == \"CommentNotCreatedByCallerException\":",
          "            if False:",
          (PR + "test_update_comment",)),
    Guard("15.3c", "15 CodeCommit", "embedded CodeCommit: a comment over 10,240 characters "
          "refused",
          CORE + "source/localgit.py",
          "    if len(content) > COMMENT_LIMIT:",
          "    if False:",
          (PR + "test_local_comments_are_refused_as_codecommit_refuses_them",)),
    Guard("15.3d", "15 CodeCommit", "embedded CodeCommit: an empty comment refused",
          CORE + "source/localgit.py",
          "    if not content:\n        raise AwsError(operation, \"CommentContentRequired",
          "    if False:\n        raise AwsError(operation, \"CommentContentRequired",
          (PR + "test_local_comments_are_refused_as_codecommit_refuses_them",)),
    # 15.4 fixes of 2026-12-01 ---------------------------------------------------------------
    Guard("15.4a", "fixes 12-01", "the task-definition cache is per endpoint",
          CORE + "aws/ecs.py",
          "        return _TASK_DEFINITIONS.setdefault(self.clients.endpoint_url or \"\", {})",
          "        return _TASK_DEFINITIONS.setdefault(\"\", {})",
          (F + "test_task_definition_cache.py::test_the_same_arn_on_another_endpoint_is_read_"
               "from_that_endpoint",)),
    Guard("15.4b", "fixes 12-01", "local daemon: the quiet time is read before the pass looks",
          "tools/ecs_gitops_tools/local/daemon.py",
          "    looked = clock()\n    delivered = cloud.run()\n"
          "    if delivered or cloud.pending() or cloud.rollouts.busy():\n"
          "        return delivered, None\n    return 0, looked",
          "    delivered = cloud.run()\n"
          "    if delivered or cloud.pending() or cloud.rollouts.busy():\n"
          "        return delivered, None\n    return 0, clock()",
          (U + "test_daemon_quiet.py::test_a_push_landing_while_the_pass_looks_is_newer_than_"
               "the_quiet_time",)),
]


def _copy(dest: Path) -> None:
    tar = subprocess.run(
        ["tar", "-C", str(ROOT), "-cf", "-", "--exclude=./.git", "--exclude=./.venv",
         "--exclude=./.tools", "--exclude=./.mutation", "--exclude=./mutants",
         "--exclude=__pycache__", "--exclude=./.hypothesis", "."],
        check=True, capture_output=True)
    subprocess.run(["tar", "-C", str(dest), "-xf", "-"], input=tar.stdout, check=True)


def _pytest(tree: Path, tests: tuple[str, ...]) -> tuple[str, float]:
    """'passed', 'failed', 'hang' or 'error' (collection/usage error), and seconds."""
    started = time.monotonic()
    try:
        run = subprocess.run(
            [PYTHON, "-m", "pytest", "-q", "-x", "-p", "no:randomly", "-p", "no:cacheprovider",
             "-p", "no:xdist", *tests], cwd=tree, capture_output=True, text=True,
            timeout=TIMEOUT, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    except subprocess.TimeoutExpired:
        return "hang", time.monotonic() - started
    seconds = time.monotonic() - started
    status = {0: "passed", 1: "failed"}.get(run.returncode, "error")
    if status == "error":
        sys.stderr.write(run.stdout[-2000:] + run.stderr[-2000:])
    return status, seconds


def main(rows: list[str]) -> int:
    chosen = [g for g in GUARDS if not rows or g.row in rows
              or any(r.endswith(".") and g.row.startswith(r) for r in rows)]
    with tempfile.TemporaryDirectory(prefix="guards-") as tmp:
        tree = Path(tmp)
        _copy(tree)
        for g in chosen:  # the patch must apply where the guard is
            count = (tree / g.file).read_text().count(g.old)
            if count != 1:
                print(f"row {g.row}: the guard's code occurs {count} times in {g.file}",
                      file=sys.stderr)
                return 1
        every = tuple(sorted({t for g in chosen for t in g.tests}))
        baseline, _ = _pytest(tree, every)
        if baseline != "passed":
            print(f"the named tests do not pass on the unchanged tree ({baseline})",
                  file=sys.stderr)
            return 1
        print("| row | guard | removed | code (file:line) | tests that must fail | result |")
        print("| --- | --- | --- | --- | --- | --- |")
        proven = 0
        for g in chosen:
            path = tree / g.file
            original = path.read_text()
            path.write_text(original.replace(g.old, g.new))
            try:
                status, seconds = _pytest(tree, g.tests)
            finally:
                path.write_text(original)
            ok = status in ("failed", "hang")
            proven += ok
            result = {"failed": "FAIL (proven)", "hang": f"HANG, killed at {TIMEOUT} s (proven)",
                      "passed": "still PASS (NOT proven)",
                      "error": "error (NOT proven)"}[status]
            names = "<br>".join(t.split("::")[-1] if "::" in t else t for t in g.tests)
            line = original[:original.index(g.old)].count("\n") + 1
            print(f"| {g.row} | {g.guard} | {g.what} | `{g.file.removeprefix(CORE)}:{line}` | "
                  f"{names} | {result} ({seconds:.0f} s) |", flush=True)
        print(f"\n{proven}/{len(chosen)} guards proven")
        return 0 if proven == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
