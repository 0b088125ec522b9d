"""`Store` on one DynamoDB table: pk/sk strings, TTL attribute `expires_at`.

Items: `processed#KEY` (claims, with expiry), `lease#NAME` (owner, expiry),
`value#KEY` (plain values: tips, marks, known-bad images),
`release#ENVIRONMENT#SERVICE` with the start time as sort key (release history) and
`taskdef#ARN` (remembered task definition documents, with expiry).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.errors import AwsError
from ecs_gitops.store import (
    PROCESSED_TTL,
    TASK_DEFINITION_TTL,
    BadImage,
    ClaimRecord,
    ClaimStatus,
    Release,
    ReleaseState,
    task_definition_key,
)

_NONE = "-"
BATCH_GET = 100  # BatchGetItem: at most 100 keys a call
BATCH_WRITE = 25  # BatchWriteItem: at most 25 puts a call


class DynamoStore:
    """The `ecs_gitops.store.Store` port on the controllers' DynamoDB table.

    Args:
        clients: the container's clients (the `dynamodb` client is used).
        table: the table's name (the template's `StateTable`).
        clock: seconds since the epoch, for expiries (tests pass a fake).
    """

    def __init__(self, clients: Clients, table: str, *, clock: Any = time.time) -> None:
        self.table = table
        self.ddb = clients.client("dynamodb")
        self.clock = clock

    def _put_if(self, item: dict[str, Any], condition: str,
                values: dict[str, Any] | None = None, names: dict[str, str] | None = None
                ) -> bool:
        """A conditional put: False when the condition does not hold (someone was first)."""
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": item,
                                  "ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self.ddb.put_item(**kwargs)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            with translate("PutItem"):
                raise

    def begin(self, key: str, *, in_progress_seconds: float, ttl: int = PROCESSED_TTL
              ) -> tuple[bool, ClaimRecord | None]:
        """Take the claim `key`: a conditional PutItem of an IN_PROGRESS record.

        It succeeds when no record exists, the record's TTL passed (DynamoDB deletes
        expired items only eventually, so `expires_at` is checked, not trusted to be gone),
        or an IN_PROGRESS record's `in_progress_until` passed (its worker was killed).

        Args:
            key: the claim's key (`ecs_gitops.store` key functions).
            in_progress_seconds: how long the claim protects the work (seconds; at most
                the function's remaining time, as Powertools' idempotency does).
            ttl: seconds until DynamoDB's TTL removes the record.

        Returns:
            (taken, previous): `taken` True when this call holds the claim; `previous` the
            record found (an expired one when taken, the standing one when not).

        Raises:
            AwsError: any DynamoDB error other than the failed condition.
        """
        now = self.clock()
        item = {"pk": {"S": f"processed#{key}"}, "sk": {"S": _NONE},
                "status": {"S": ClaimStatus.IN_PROGRESS.value},
                "in_progress_until": {"N": str(int(now + in_progress_seconds))},
                "expires_at": {"N": str(int(now + ttl))}}
        try:
            response = self.ddb.put_item(
                TableName=self.table, Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR "
                                    "(#s = :ip AND in_progress_until < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":now": {"N": str(int(now))},
                                           ":ip": {"S": ClaimStatus.IN_PROGRESS.value}},
                ReturnValues="ALL_OLD", ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                with translate("PutItem"):
                    raise
            old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            record = _claim(key, old) if old else self.claim_record(key)
            # Deleted meanwhile by a worker that failed: a retry may take it at once.
            return False, record or ClaimRecord(key, ClaimStatus.IN_PROGRESS, now, now)
        previous = response.get("Attributes")
        return True, _claim(key, previous) if previous else None

    def complete(self, key: str, outcome: str, *, ttl: int = PROCESSED_TTL) -> None:
        """Mark the claim `key` COMPLETED with `outcome` (cut to 1,024 characters) for `ttl` s.

        Raises:
            AwsError: the PutItem failed.
        """
        now = self.clock()
        with translate("PutItem"):
            self.ddb.put_item(TableName=self.table, Item={
                "pk": {"S": f"processed#{key}"}, "sk": {"S": _NONE},
                "status": {"S": ClaimStatus.COMPLETED.value}, "in_progress_until": {"N": "0"},
                "expires_at": {"N": str(int(now + ttl))}, "outcome": {"S": outcome[:1024]}})

    def forget(self, key: str) -> None:
        """Delete the claim `key` (the work failed: a retry may take it at once).

        Raises:
            AwsError: the DeleteItem failed.
        """
        with translate("DeleteItem"):
            self.ddb.delete_item(TableName=self.table,
                                 Key={"pk": {"S": f"processed#{key}"}, "sk": {"S": _NONE}})

    def claim_record(self, key: str) -> ClaimRecord | None:
        """The claim `key` as stored (a consistent read), or None when absent or past its TTL.

        Raises:
            AwsError: the GetItem failed.
        """
        with translate("GetItem"):
            found = self.ddb.get_item(TableName=self.table, ConsistentRead=True, Key={
                "pk": {"S": f"processed#{key}"}, "sk": {"S": _NONE}}).get("Item")
        if not found or float(found["expires_at"]["N"]) < self.clock():
            return None
        return _claim(key, found)

    def acquire_lease(self, name: str, owner: str, *, seconds: int) -> bool:
        """Take or renew the lease `name` for `owner` for `seconds` s.

        Returns:
            True when `owner` holds it now; False when another owner's lease is unexpired.

        Raises:
            AwsError: any DynamoDB error other than the failed condition.
        """
        now = int(self.clock())
        return self._put_if(
            {"pk": {"S": f"lease#{name}"}, "sk": {"S": _NONE}, "owner": {"S": owner},
             "expires_at": {"N": str(now + seconds)}},
            "attribute_not_exists(pk) OR expires_at < :now OR #o = :me",
            {":now": {"N": str(now)}, ":me": {"S": owner}}, {"#o": "owner"})

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease `name` back, only if `owner` still holds it (else nothing happens).

        Raises:
            AwsError: any DynamoDB error other than the failed condition.
        """
        try:
            self.ddb.delete_item(
                TableName=self.table, Key={"pk": {"S": f"lease#{name}"}, "sk": {"S": _NONE}},
                ConditionExpression="#o = :me", ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": owner}})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                with translate("DeleteItem"):
                    raise

    def get_value(self, key: str) -> str | None:
        """The plain value `key` (a consistent read), or None.

        Raises:
            AwsError: the GetItem failed.
        """
        with translate("GetItem"):
            item = self.ddb.get_item(TableName=self.table, ConsistentRead=True,
                                     Key={"pk": {"S": f"value#{key}"}, "sk": {"S": _NONE}})
        found = item.get("Item")
        return str(found["value"]["S"]) if found else None

    def get_values(self, keys: list[str]) -> dict[str, str]:
        """The plain values of `keys` that exist, read 100 keys a BatchGetItem call.

        Raises:
            AwsError: the read failed, or keys stayed unprocessed after 8 tries (transient).
        """
        items = self._read_batches([f"value#{k}" for k in keys])
        return {k: str(items[f"value#{k}"]["value"]["S"]) for k in keys if f"value#{k}" in items}

    def put_value(self, key: str, value: str) -> None:
        """Set the plain value `key` to `value`, unconditionally.

        Raises:
            AwsError: the PutItem failed.
        """
        with translate("PutItem"):
            self.ddb.put_item(TableName=self.table, Item={
                "pk": {"S": f"value#{key}"}, "sk": {"S": _NONE}, "value": {"S": value}})

    def put_values(self, values: Mapping[str, str]) -> None:
        """Set many plain values, 25 items a BatchWriteItem call.

        Raises:
            AwsError: the write failed, or items stayed unprocessed after 8 tries (transient).
        """
        self._write_batches([{"pk": {"S": f"value#{k}"}, "sk": {"S": _NONE}, "value": {"S": v}}
                             for k, v in values.items()])

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it is `expected` now (None: only if absent).

        Returns:
            True when written; False when the stored value differed (someone was first).

        Raises:
            AwsError: any DynamoDB error other than the failed condition.
        """
        item = {"pk": {"S": f"value#{key}"}, "sk": {"S": _NONE}, "value": {"S": value}}
        if expected is None:
            return self._put_if(item, "attribute_not_exists(pk)")
        return self._put_if(item, "#v = :old", {":old": {"S": expected}}, {"#v": "value"})

    def record_releases(self, releases: list[Release]) -> None:
        """Write each release to its history and to its service's latest pointer, in batches.

        Raises:
            AwsError: the write failed, or items stayed unprocessed after 8 tries (transient).
        """
        items = []
        for release in releases:
            items.append(_release_item(release))
            items.append({**_release_item(release), "pk": {"S": _latest(release.environment,
                                                                        release.service)},
                          "sk": {"S": _NONE}, "record_key": {"S": release.record_key}})
        self._write_batches(items)

    def _write_batches(self, items: list[dict[str, Any]]) -> None:
        """BatchWriteItem, 25 items a call (its limit), resending unprocessed items."""
        for start in range(0, len(items), BATCH_WRITE):
            requests: list[dict[str, Any]] = [{"PutRequest": {"Item": i}}
                                              for i in items[start:start + BATCH_WRITE]]
            for attempt in range(8):
                with translate("BatchWriteItem"):
                    response = self.ddb.batch_write_item(RequestItems={self.table: requests})
                requests = response.get("UnprocessedItems", {}).get(self.table, [])
                if not requests:
                    break
                time.sleep(min(2.0, 0.05 * 2 ** attempt))
            if requests:
                raise AwsError("BatchWriteItem", "UnprocessedItems",
                               f"{len(requests)} items not written", transient=True)

    def _read_batches(self, keys: list[str], *, consistent: bool = True
                      ) -> dict[str, dict[str, Any]]:
        """BatchGetItem of `pk` values (sk "-"), 100 keys a call (its limit)."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET):
            request: dict[str, Any] = {"Keys": [{"pk": {"S": k}, "sk": {"S": _NONE}}
                                                for k in unique[start:start + BATCH_GET]],
                                       "ConsistentRead": consistent}
            for attempt in range(8):
                with translate("BatchGetItem"):
                    response = self.ddb.batch_get_item(RequestItems={self.table: request})
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item["pk"]["S"]] = item
                request = response.get("UnprocessedKeys", {}).get(self.table) or {}
                if not request:
                    break
                time.sleep(min(2.0, 0.05 * 2 ** attempt))
            if request:
                raise AwsError("BatchGetItem", "UnprocessedKeys", "keys not read",
                               transient=True)
        return found

    def latest_releases(self, environment: str, services: list[str]) -> dict[str, Release]:
        """`environment`'s latest release of each of `services` that has one, by service name.

        Raises:
            AwsError: the read failed (see `get_values`).
        """
        items = self._read_batches([_latest(environment, s) for s in services])
        out = {}
        for service in services:
            item = items.get(_latest(environment, service))
            if item is not None:
                out[service] = _release(item)
        return out

    def bad_images(self, keys: list[str]) -> dict[str, BadImage]:
        """The known-bad images among `keys` (`bad_image_key`s), by key.

        Raises:
            AwsError: the read failed (see `get_values`).
        """
        items = self._read_batches([f"value#{k}" for k in keys])
        return {k: BadImage.decode(items[f"value#{k}"]["value"]["S"])
                for k in keys if f"value#{k}" in items}

    def task_definition_documents(self, arns: list[str]) -> dict[str, str]:
        # Immutable content: an eventually consistent read is enough (a document written
        # a moment ago and not seen yet is only a cache miss).
        """Remembered task definition documents (canonical JSON) of `arns`, unexpired, by ARN.

        Raises:
            AwsError: the read failed (see `get_values`).
        """
        items = self._read_batches([task_definition_key(a) for a in arns], consistent=False)
        now = self.clock()
        return {a: str(items[task_definition_key(a)]["document"]["S"]) for a in arns
                if task_definition_key(a) in items
                and float(items[task_definition_key(a)]["expires_at"]["N"]) >= now}

    def remember_task_definitions(self, documents: Mapping[str, str]) -> None:
        """Remember task definition documents by ARN for `TASK_DEFINITION_TTL` s.

        Raises:
            AwsError: the write failed (see `put_values`).
        """
        expires = str(int(self.clock() + TASK_DEFINITION_TTL))
        self._write_batches([{"pk": {"S": task_definition_key(arn)}, "sk": {"S": _NONE},
                              "document": {"S": document}, "expires_at": {"N": expires}}
                             for arn, document in documents.items()])

    def releases(self, environment: str, service: str, *, limit: int = 20) -> list[Release]:
        """The release history of one service, newest first, at most `limit` entries.

        Raises:
            AwsError: the Query failed.
        """
        with translate("Query"):
            response = self.ddb.query(
                TableName=self.table, KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"release#{environment}#{service}"}},
                ScanIndexForward=False, Limit=limit, ConsistentRead=True)
        return [_release(item) for item in response.get("Items", ())]

    def bad_image(self, key: str) -> BadImage | None:
        """The known-bad image recorded under `key`, or None.

        Raises:
            AwsError: the GetItem failed.
        """
        value = self.get_value(key)
        return BadImage.decode(value) if value is not None else None

    def mark_bad_image(self, key: str, bad: BadImage) -> None:
        """Record `bad` under `key` (a `bad_image_key`).

        Raises:
            AwsError: the PutItem failed.
        """
        self.put_value(key, bad.encode())

    def clear_bad_image(self, key: str) -> None:
        """Forget the known-bad image under `key` (`ecs-gitops release-image`).

        Raises:
            AwsError: the DeleteItem failed.
        """
        with translate("DeleteItem"):
            self.ddb.delete_item(TableName=self.table,
                                 Key={"pk": {"S": f"value#{key}"}, "sk": {"S": _NONE}})

    def set_outcome(self, release: Release, outcome: ReleaseState, reason: str = "") -> None:
        """Set a release's outcome and reason in its history, and in the latest pointer
        while that pointer is still this release (a later release is never overwritten).

        Raises:
            AwsError: the UpdateItem of the history entry failed.
        """
        values = {":o": {"S": ReleaseState(outcome).value}, ":r": {"S": reason}}
        with translate("UpdateItem"):
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"release#{release.environment}#{release.service}"},
                     "sk": {"S": release.record_key}},
                UpdateExpression="SET outcome = :o, reason = :r",
                ExpressionAttributeValues=values)
        try:  # the latest pointer, only while it is still this release
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": _latest(release.environment, release.service)},
                     "sk": {"S": _NONE}},
                UpdateExpression="SET outcome = :o, reason = :r",
                ConditionExpression="record_key = :s",
                ExpressionAttributeValues={**values, ":s": {"S": release.record_key}})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                with translate("UpdateItem"):
                    raise


def _claim(key: str, item: dict[str, Any]) -> ClaimRecord:
    return ClaimRecord(
        key=key, status=ClaimStatus(item.get("status", {}).get("S", ClaimStatus.COMPLETED)),
        in_progress_until=float(item.get("in_progress_until", {}).get("N", "0")),
        expires_at=float(item.get("expires_at", {}).get("N", "0")),
        outcome=item.get("outcome", {}).get("S", ""))


def _latest(environment: str, service: str) -> str:
    return f"latest-release#{environment}#{service}"


def _release_item(r: Release) -> dict[str, Any]:
    return {
        "pk": {"S": f"release#{r.environment}#{r.service}"}, "sk": {"S": r.record_key},
        "started_at": {"S": r.started_at},
        "environment": {"S": r.environment}, "service": {"S": r.service},
        "commit": {"S": r.commit}, "task_definition": {"S": r.task_definition},
        "image": {"S": r.image}, "outcome": {"S": r.outcome.value}, "reason": {"S": r.reason},
        "deployment_id": {"S": r.deployment_id}, "deadline": {"S": r.deadline},
    }


def _release(item: dict[str, Any]) -> Release:
    return Release(
        environment=item["environment"]["S"], service=item["service"]["S"],
        commit=item["commit"]["S"], task_definition=item["task_definition"]["S"],
        image=item["image"]["S"], outcome=ReleaseState(item["outcome"]["S"]),
        started_at=item.get("started_at", item["sk"])["S"],
        reason=item.get("reason", {}).get("S", ""),
        deployment_id=item.get("deployment_id", {}).get("S", ""),
        deadline=item.get("deadline", {}).get("S", ""))
