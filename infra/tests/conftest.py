"""Fixtures for the environment template: the template as data, and the template
deployed on moto's CloudFormation (in-process, fake credentials, us-east-1).

Two deployments cover both values of each switch that changes resources:
``bridge`` (the defaults: bridge networking, Multi-AZ database) and ``awsvpc``
(awsvpc networking, single-AZ database). Both live in one ``mock_aws`` for the
duration of one test module, torn down before any other module runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ecs_gitops_tools.local.template import load_yaml

INFRA = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = INFRA / "environment.yaml"
PEOPLE_PATH = INFRA / "people.yaml"
REGION = "us-east-1"

# Parameters of each deployment, and the mode's expected database setting.
DEPLOYMENTS: dict[str, dict[str, str]] = {
    "bridge": {},
    "awsvpc": {"TaskNetworkMode": "awsvpc", "DbMultiAz": "false"},
}


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    # The library's CloudFormation reader (short-form tags to long form), as the
    # embedded cloud reads template.yaml.
    return load_yaml(path)


def parameter_values(tpl: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    values = {name: str(p.get("Default", "")) for name, p in tpl["Parameters"].items()}
    values.update(overrides)
    return values


def _condition(expr: Any, params: dict[str, str], conditions: dict[str, Any]) -> bool:
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, args), = expr.items()
        if fn == "Fn::Equals":
            left, right = (_value(a, params) for a in args)
            return left == right
        if fn == "Fn::Not":
            return not _condition(args[0], params, conditions)
        if fn == "Fn::And":
            return all(_condition(a, params, conditions) for a in args)
        if fn == "Fn::Or":
            return any(_condition(a, params, conditions) for a in args)
        if fn == "Condition":
            return _condition(conditions[args], params, conditions)
    raise ValueError(f"unsupported condition: {expr!r}")


def _value(expr: Any, params: dict[str, str]) -> str:
    if isinstance(expr, dict) and "Ref" in expr:
        return params[expr["Ref"]]
    return str(expr)


def _choose(node: Any, truth: dict[str, bool]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return _choose(when_true if truth[name] else when_false, truth)
        return {k: _choose(v, truth) for k, v in node.items()}
    if isinstance(node, list):
        return [_choose(v, truth) for v in node]
    return node


def resolve_template(tpl: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """The template as CloudFormation would create it with these parameters: conditions
    evaluated, conditional resources and outputs dropped, every `Fn::If` decided.
    Other intrinsic functions are left as they are."""
    params = parameter_values(tpl, overrides)
    conditions = tpl.get("Conditions", {})
    truth = {name: _condition(expr, params, conditions) for name, expr in conditions.items()}
    out = _choose({k: v for k, v in tpl.items() if k not in ("Resources", "Outputs")}, truth)
    for section in ("Resources", "Outputs"):
        out[section] = {
            name: _choose(body, truth)
            for name, body in tpl.get(section, {}).items()
            if truth.get(body.get("Condition", ""), True)
        }
    return out


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def people() -> dict[str, Any]:
    """infra/people.yaml: the developers, the platform owners and their role."""
    return load_template(PEOPLE_PATH)


@pytest.fixture(scope="session", params=sorted(DEPLOYMENTS))
def resolved(request: pytest.FixtureRequest, template: dict[str, Any]) -> dict[str, Any]:
    """The template resolved for each deployment (see DEPLOYMENTS), with its mode
    under the extra key "Mode"."""
    out = resolve_template(template, DEPLOYMENTS[request.param])
    out["Mode"] = request.param
    return out


@dataclass
class Deployed:
    """One stack on moto: its outputs, its resources (logical id -> physical id),
    and the resource types moto's CloudFormation skipped."""

    mode: str
    parameters: dict[str, str]
    status: str
    outputs: dict[str, str]
    physical: dict[str, str]
    skipped_types: set[str]
    session: boto3.session.Session = field(repr=False)

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    def logical_of(self, physical_id: str) -> str:
        """The logical id of a physical id, e.g. a security group id -> its name here."""
        matches = [k for k, v in self.physical.items() if v == physical_id]
        return matches[0] if matches else physical_id


def _self_signed(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``name`` and its key, PEM."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


# Each deployment gets an account of its own (moto maps assumed-role credentials to
# the role's account), so that both live in one mock despite their fixed names.
ACCOUNTS = {"bridge": "123456789012", "awsvpc": "210987654321"}


def _create(mode: str) -> Deployed:
    sts = boto3.client("sts", region_name=REGION)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNTS[mode]}:role/deployer", RoleSessionName=f"infra-{mode}"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    cfn = session.client("cloudformation")
    # The HTTPS listeners name an ACM certificate, and ELB refuses one that does not
    # exist (CertificateNotFound), as moto does: import one first, as an operator would.
    certificate, key = _self_signed("simpleweb.example.com")
    certificate_arn = session.client("acm").import_certificate(
        Certificate=certificate, PrivateKey=key)["CertificateArn"]
    parameters = {**DEPLOYMENTS[mode], "CertificateArn": certificate_arn}
    # moto warns once per resource type it skips: record them, show none.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfn.create_stack(
            StackName=f"env-{mode}",
            TemplateBody=TEMPLATE_PATH.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        stack = cfn.describe_stacks(StackName=f"env-{mode}")["Stacks"][0]
        resources = cfn.list_stack_resources(StackName=f"env-{mode}")
    return Deployed(
        mode=mode,
        parameters=parameters,
        status=stack["StackStatus"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        physical={
            r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
            for r in resources["StackResourceSummaries"] if r["LogicalResourceId"]
        },
        skipped_types={
            str(w.message).split("Tried to parse ", 1)[1].split(" ", 1)[0]
            for w in caught if "Tried to parse" in str(w.message)
        },
        session=session,
    )


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, Deployed]]:
    """Both deployments, in one ``mock_aws`` that lasts for the test module."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
        }.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        # moto bug (5.2): AWS::RDS::DBParameterGroup has no physical id, so `!Ref` to it
        # yields the Python object instead of the group's name. Give it the real one.
        from moto.rds.models import DBParameterGroup

        mp.setattr(DBParameterGroup, "physical_resource_id",
                   property(lambda self: self.name), raising=False)
        with mock_aws():
            yield {mode: _create(mode) for mode in DEPLOYMENTS}


@pytest.fixture(params=sorted(DEPLOYMENTS))
def deployed(request: pytest.FixtureRequest, stacks: dict[str, Deployed]) -> Deployed:
    return stacks[request.param]
