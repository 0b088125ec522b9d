"""`Store` on one DynamoDB table: pk/sk strings, TTL attribute `expires_at`.

Items: `processed#KEY` (claims, with expiry), `lease#NAME` (owner, expiry),
`value#KEY` (plain values: tips, marks, known-bad images) and
`release#ENVIRONMENT#SERVICE` with the start time as sort key (release history).
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from ecs_gitops.aws.clients import Clients, translate
from ecs_gitops.store import PROCESSED_TTL, BadImage, Release, ReleaseState

_NONE = "-"


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

    def claim(self, key: str, *, ttl: int = PROCESSED_TTL) -> bool:
        now = int(self.clock())
        return self._put_if(
            {"pk": {"S": f"processed#{key}"}, "sk": {"S": _NONE},
             "expires_at": {"N": str(now + ttl)}},
            "attribute_not_exists(pk)")

    def unclaim(self, key: str) -> None:
        with translate("DeleteItem"):
            self.ddb.delete_item(TableName=self.table,
                                 Key={"pk": {"S": f"processed#{key}"}, "sk": {"S": _NONE}})

    def acquire_lease(self, name: str, owner: str, *, seconds: int) -> bool:
        now = int(self.clock())
        return self._put_if(
            {"pk": {"S": f"lease#{name}"}, "sk": {"S": _NONE}, "owner": {"S": owner},
             "expires_at": {"N": str(now + seconds)}},
            "attribute_not_exists(pk) OR expires_at < :now OR #o = :me",
            {":now": {"N": str(now)}, ":me": {"S": owner}}, {"#o": "owner"})

    def release_lease(self, name: str, owner: str) -> None:
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
        with translate("GetItem"):
            item = self.ddb.get_item(TableName=self.table, ConsistentRead=True,
                                     Key={"pk": {"S": f"value#{key}"}, "sk": {"S": _NONE}})
        found = item.get("Item")
        return str(found["value"]["S"]) if found else None

    def put_value(self, key: str, value: str) -> None:
        with translate("PutItem"):
            self.ddb.put_item(TableName=self.table, Item={
                "pk": {"S": f"value#{key}"}, "sk": {"S": _NONE}, "value": {"S": value}})

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        item = {"pk": {"S": f"value#{key}"}, "sk": {"S": _NONE}, "value": {"S": value}}
        if expected is None:
            return self._put_if(item, "attribute_not_exists(pk)")
        return self._put_if(item, "#v = :old", {":old": {"S": expected}}, {"#v": "value"})

    def record_release(self, release: Release) -> None:
        with translate("PutItem"):
            self.ddb.put_item(TableName=self.table, Item=_release_item(release))

    def releases(self, environment: str, service: str, *, limit: int = 20) -> list[Release]:
        with translate("Query"):
            response = self.ddb.query(
                TableName=self.table, KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"release#{environment}#{service}"}},
                ScanIndexForward=False, Limit=limit, ConsistentRead=True)
        return [_release(item) for item in response.get("Items", ())]

    def bad_image(self, key: str) -> BadImage | None:
        value = self.get_value(key)
        return BadImage.decode(value) if value is not None else None

    def mark_bad_image(self, key: str, bad: BadImage) -> None:
        self.put_value(key, bad.encode())

    def set_outcome(self, release: Release, outcome: ReleaseState, reason: str = "") -> None:
        with translate("UpdateItem"):
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"release#{release.environment}#{release.service}"},
                     "sk": {"S": release.started_at}},
                UpdateExpression="SET outcome = :o, reason = :r",
                ExpressionAttributeValues={":o": {"S": ReleaseState(outcome).value},
                                           ":r": {"S": reason}})


def _release_item(r: Release) -> dict[str, Any]:
    return {
        "pk": {"S": f"release#{r.environment}#{r.service}"}, "sk": {"S": r.started_at},
        "environment": {"S": r.environment}, "service": {"S": r.service},
        "commit": {"S": r.commit}, "task_definition": {"S": r.task_definition},
        "image": {"S": r.image}, "outcome": {"S": r.outcome.value}, "reason": {"S": r.reason},
        "deployment_id": {"S": r.deployment_id},
    }


def _release(item: dict[str, Any]) -> Release:
    return Release(
        environment=item["environment"]["S"], service=item["service"]["S"],
        commit=item["commit"]["S"], task_definition=item["task_definition"]["S"],
        image=item["image"]["S"], outcome=ReleaseState(item["outcome"]["S"]),
        started_at=item["sk"]["S"], reason=item.get("reason", {}).get("S", ""),
        deployment_id=item.get("deployment_id", {}).get("S", ""))
