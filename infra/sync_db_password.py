"""Write the SecureString ``/simpleweb/db-password`` from the database secret.

CloudFormation cannot create SecureString parameters, and a plain String parameter
would keep the password in clear text in Parameter Store. So the environment stack
(``infra/environment.yaml``) generates the password in Secrets Manager
(``simpleweb/db-credentials``, which RDS reads through a dynamic reference), and this
script copies it into the SecureString parameter that the api's task definition names.

Run it once after the stack is created, and again after the secret changes::

    .venv/bin/python infra/sync_db_password.py --region us-east-1

It is idempotent (no write when the parameter already holds the password) and never
prints the password. The alternative that needs no copy: point ``DB_PASSWORD`` in the
desired state at the secret itself (the stack's ``DbPasswordValueFrom`` output).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DEFAULT_SECRET_ID = "simpleweb/db-credentials"  # noqa: S105 (a name, not a secret)
DEFAULT_PARAMETER = "/simpleweb/db-password"


class SyncError(RuntimeError):
    """The secret cannot be turned into the parameter."""


def read_password(secrets: Any, *, secret_id: str) -> str:
    """The ``password`` field of the JSON secret ``secret_id``."""
    raw = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        password = json.loads(raw)["password"]
    except (ValueError, KeyError, TypeError) as err:
        raise SyncError(f"secret {secret_id} is not JSON with a 'password' field") from err
    if not isinstance(password, str) or not password:
        raise SyncError(f"secret {secret_id} has an empty 'password' field")
    return password


def sync_password(
    *,
    secrets: Any,
    ssm: Any,
    secret_id: str = DEFAULT_SECRET_ID,
    parameter: str = DEFAULT_PARAMETER,
    kms_key_id: str | None = None,
) -> bool:
    """Make ``parameter`` a SecureString holding the secret's password.

    Returns True when it wrote the parameter, False when it was already up to date.
    ``secrets`` and ``ssm`` are boto3 clients (or anything with the same methods).
    """
    password = read_password(secrets, secret_id=secret_id)
    try:
        current = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        current = None
    if current and current["Type"] == "SecureString" and current["Value"] == password:
        return False
    kwargs: dict[str, Any] = {
        "Name": parameter,
        "Value": password,
        "Type": "SecureString",
        "Overwrite": True,
        "Description": f"MySQL password of the simpleweb database (copy of {secret_id})",
    }
    if kms_key_id:
        kwargs["KeyId"] = kms_key_id
    ssm.put_parameter(**kwargs)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret-id", default=DEFAULT_SECRET_ID,
                        help=f"Secrets Manager secret (default {DEFAULT_SECRET_ID})")
    parser.add_argument("--parameter", default=DEFAULT_PARAMETER,
                        help=f"SSM parameter to write (default {DEFAULT_PARAMETER})")
    parser.add_argument("--kms-key-id", default=None,
                        help="KMS key for the SecureString (default: the account's aws/ssm key)")
    parser.add_argument("--region", default=None, help="AWS region (default: the usual chain)")
    args = parser.parse_args(argv)

    import boto3  # imported here so that --help works without AWS libraries
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=args.region)
    try:
        changed = sync_password(
            secrets=session.client("secretsmanager"),
            ssm=session.client("ssm"),
            secret_id=args.secret_id,
            parameter=args.parameter,
            kms_key_id=args.kms_key_id,
        )
    except SyncError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        # AWS error messages name the resource and the call, never a secret's value.
        print(f"error: {err}", file=sys.stderr)
        print("hint: is the environment stack deployed in this account and region "
              "(--region)?", file=sys.stderr)
        return 1
    state = "written" if changed else "already up to date"
    print(f"{args.parameter}: SecureString {state} (from {args.secret_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
