"""The EventBridge pattern matcher of the embedded cloud, table by table.

Each row is (name, pattern, event, expected), taken from the EventBridge user guide's
examples and rules ("Content filtering in Amazon EventBridge event patterns", "Matching
events on null values and empty strings", "Arrays in Amazon EventBridge event patterns");
then every rule of template.yaml against every sample of events/, as events/README.md
routes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ecs_gitops.errors import EcsGitopsError
from ecs_gitops_tools.local.patterns import PatternError, matches, validate
from ecs_gitops_tools.local.template import Template, resolve

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"

EC2 = {
    "version": "0", "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
    "account": "012345679012", "time": "2017-10-02T16:24:49Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
               "instance-id": "i-000000aaaaaa00000", "state": "running"},
}  # fmt: skip


def detail(**fields: Any) -> dict[str, Any]:
    return {"source": "test", "detail": fields}


def field(*conditions: Any) -> dict[str, Any]:
    """A pattern on detail.f."""
    return {"detail": {"f": list(conditions)}}


CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # ------------------------------------------------------------ equality, AND, OR
    ("exact", {"source": ["aws.ec2"]}, EC2, True),
    ("exact is case sensitive", {"source": ["AWS.EC2"]}, EC2, False),
    ("array is an OR", {"source": ["aws.s3", "aws.ec2"]}, EC2, True),
    ("fields are an AND", {"source": ["aws.ec2"], "region": ["eu-west-1"]}, EC2, False),
    ("fields not in the pattern are ignored",
     {"detail-type": ["EC2 Instance State-change Notification"],
      "detail": {"state": ["initializing", "running"]}}, EC2, True),
    ("nested object", {"detail": {"state": ["running"]}}, EC2, True),
    ("nested mismatch", {"detail": {"state": ["stopped"]}}, EC2, False),
    ("missing field", {"detail": {"nope": ["running"]}}, EC2, False),
    ("nested pattern on a scalar", {"source": {"x": ["aws.ec2"]}}, EC2, False),
    ("leaf pattern on an object", {"detail": ["running"]}, EC2, False),
    ("number", {"detail": {"c-count": [5]}}, EC2, True),
    ("number compared as a number", field(300), detail(f=3.0e2), True),
    ("int and float", field(5.0), detail(f=5), True),
    ("number is not a string", field(5), detail(f="5"), False),
    ("string is not a number", field("5"), detail(f=5), False),
    ("true", field(True), detail(f=True), True),
    ("true is not 1", field(True), detail(f=1), False),
    ("1 is not true", field(1), detail(f=True), False),
    ("true is not the string", field(True), detail(f="true"), False),
    ("false", field(False), detail(f=False), True),
    # ------------------------------------------------------- null and empty string
    ("null matches null", field(None), detail(f=None), True),
    ("null does not match a missing field", field(None), detail(), False),
    ("null is not the empty string", field(None), detail(f=""), False),
    ("empty string matches empty string", field(""), detail(f=""), True),
    ("empty string is not null", field(""), detail(f=None), False),
    ("empty string does not match a missing field", field(""), detail(), False),
    # ------------------------------------------------------------------- arrays
    ("event array intersects",
     {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                    "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]},
     {"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x",
                    "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, True),
    ("event array without intersection", {"resources": ["a", "b"]}, {"resources": ["c"]}, False),
    ("empty event array has no value", {"resources": [None]}, {"resources": []}, False),
    ("nested event arrays are flattened", field(3), detail(f=[[1, 2], [3]]), True),
    ("objects in an array",
     {"employees": {"firstName": ["Anna"]}},
     {"employees": [{"firstName": "John", "lastName": "Doe"},
                    {"firstName": "Anna", "lastName": "Smith"}]}, True),
    ("fields of one array element",
     {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
     {"employees": [{"firstName": "John", "lastName": "Smith"},
                    {"firstName": "Anna", "lastName": "Smith"}]}, True),
    ("fields of different array elements never combine",
     {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
     {"employees": [[{"firstName": "John", "lastName": "Doe"},
                     {"firstName": "Anna", "lastName": "Smith"}],
                    [{"firstName": "Peter", "lastName": "Jones"}]]}, False),
    # ------------------------------------------------------------------- prefix
    ("prefix", {"time": [{"prefix": "2017-10-02"}]}, EC2, True),
    ("prefix mismatch", {"time": [{"prefix": "2017-10-03"}]}, EC2, False),
    ("prefix is for strings", field({"prefix": "1"}), detail(f=12), False),
    ("empty prefix matches any string", field({"prefix": ""}), detail(f="x"), True),
    ("empty prefix does not match null", field({"prefix": ""}), detail(f=None), False),
    ("prefix ignoring case", field({"prefix": {"equals-ignore-case": "EventB"}}),
     detail(f="eventbridge"), True),
    ("prefix ignoring case mismatch", field({"prefix": {"equals-ignore-case": "EventB"}}),
     detail(f="sns"), False),
    # ------------------------------------------------------------------- suffix
    ("suffix", field({"suffix": ".png"}), detail(f="image.png"), True),
    ("suffix is case sensitive", field({"suffix": ".png"}), detail(f="image.PNG"), False),
    ("suffix ignoring case", field({"suffix": {"equals-ignore-case": ".png"}}),
     detail(f="image.PNG"), True),
    ("suffix is for strings", field({"suffix": "5"}), detail(f=5), False),
    # --------------------------------------------------------- equals-ignore-case
    ("equals-ignore-case", {"source": [{"equals-ignore-case": "AWS.EC2"}]}, EC2, True),
    ("equals-ignore-case mismatch", field({"equals-ignore-case": "alice"}), detail(f="alicia"),
     False),
    ("equals-ignore-case empty", field({"equals-ignore-case": ""}), detail(f=""), True),
    ("equals-ignore-case is for strings", field({"equals-ignore-case": "1"}), detail(f=1), False),
    # ----------------------------------------------------------------- wildcard
    ("wildcard", field({"wildcard": "Simple*Service"}), detail(f="SimpleQueueService"), True),
    ("wildcard matches zero characters", field({"wildcard": "Simple*Service"}),
     detail(f="SimpleService"), True),
    ("wildcard mismatch", field({"wildcard": "Simple*Service"}), detail(f="SimpleQueue"), False),
    ("wildcard is anchored", field({"wildcard": "*.png"}), detail(f="a.png.bak"), False),
    ("several wildcards", field({"wildcard": "*/lib/*.jar"}), detail(f="/opt/lib/x.jar"), True),
    ("lone wildcard matches the empty string", field({"wildcard": "*"}), detail(f=""), True),
    ("escaped star is a star", field({"wildcard": "a\\*b"}), detail(f="a*b"), True),
    ("escaped star is not a wildcard", field({"wildcard": "a\\*b"}), detail(f="axb"), False),
    ("escaped backslash", field({"wildcard": "a\\\\*"}), detail(f="a\\bc"), True),
    ("wildcard dots are literal", field({"wildcard": "a.c"}), detail(f="abc"), False),
    ("wildcard spans lines", field({"wildcard": "a*c"}), detail(f="a\nc"), True),
    ("wildcard is for strings", field({"wildcard": "*"}), detail(f=1), False),
    # ------------------------------------------------------------- anything-but
    ("anything-but string", {"detail": {"state": [{"anything-but": "initializing"}]}}, EC2, True),
    ("anything-but the value", {"detail": {"state": [{"anything-but": "running"}]}}, EC2, False),
    ("anything-but does not match a missing field", field({"anything-but": "x"}), detail(),
     False),
    ("anything-but matches null", field({"anything-but": "x"}), detail(f=None), True),
    ("anything-but a string matches a number", field({"anything-but": "5"}), detail(f=5), True),
    ("anything-but number", {"detail": {"x-limit": [{"anything-but": 123}]}}, EC2, True),
    ("anything-but the number", field({"anything-but": 123}), detail(f=123.0), False),
    ("anything-but string list", field({"anything-but": ["stopped", "overloaded"]}),
     detail(f="running"), True),
    ("anything-but in the string list", field({"anything-but": ["stopped", "overloaded"]}),
     detail(f="stopped"), False),
    ("anything-but number list", field({"anything-but": [100, 200, 300]}), detail(f=200), False),
    ("anything-but on an event array: one value is not excluded",
     field({"anything-but": [100, 500]}), detail(f=[100, 50]), True),
    ("anything-but on an event array: all excluded",
     field({"anything-but": [100, 500]}), detail(f=[100, 500]), False),
    ("anything-but prefix", field({"anything-but": {"prefix": "init"}}), detail(f="running"), True),
    ("anything-but prefix excluded", field({"anything-but": {"prefix": "init"}}),
     detail(f="initializing"), False),
    ("anything-but prefix on a number", field({"anything-but": {"prefix": "init"}}),
     detail(f=12), True),
    ("anything-but prefix on a missing field", field({"anything-but": {"prefix": "init"}}),
     detail(), False),
    ("anything-but prefix list", field({"anything-but": {"prefix": ["init", "test"]}}),
     detail(f="testing"), False),
    ("anything-but suffix", field({"anything-but": {"suffix": ".png"}}), detail(f="a.jpg"), True),
    ("anything-but suffix excluded", field({"anything-but": {"suffix": ".png"}}),
     detail(f="a.png"), False),
    ("anything-but ignoring case", field({"anything-but": {"equals-ignore-case": "initializing"}}),
     detail(f="INITIALIZING"), False),
    ("anything-but ignoring case, list",
     field({"anything-but": {"equals-ignore-case": ["stopped", "overloaded"]}}),
     detail(f="Running"), True),
    ("anything-but wildcard", field({"anything-but": {"wildcard": "*/lib/*"}}),
     detail(f="/usr/bin/x"), True),
    ("anything-but wildcard excluded", field({"anything-but": {"wildcard": "*/lib/*"}}),
     detail(f="/usr/lib/x"), False),
    ("anything-but empty wildcard", field({"anything-but": {"wildcard": ""}}),
     detail(f="dir/file"), True),
    # ------------------------------------------------------------------ numeric
    ("numeric range", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, EC2, True),
    ("numeric upper bound excluded", field({"numeric": [">", 0, "<", 5]}), detail(f=5), False),
    ("numeric lower bound excluded", field({"numeric": [">", 0, "<=", 5]}), detail(f=0), False),
    ("numeric lower bound included", field({"numeric": [">=", 0, "<=", 5]}), detail(f=0), True),
    ("numeric fraction", field({"numeric": [">", 0, "<=", 5]}), detail(f=4.999999), True),
    ("numeric less than", {"detail": {"d-count": [{"numeric": ["<", 10]}]}}, EC2, True),
    ("numeric equals", {"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}, EC2, True),
    ("numeric greater or equal", field({"numeric": [">=", 10]}), detail(f=9), False),
    ("numeric on a string", field({"numeric": [">", 0]}), detail(f="3"), False),
    ("numeric on a boolean", field({"numeric": [">", 0]}), detail(f=True), False),
    ("numeric on an event array", field({"numeric": [">", 10]}), detail(f=[1, 20]), True),
    # ------------------------------------------------------------------- exists
    ("exists", {"detail": {"state": [{"exists": True}]}}, EC2, True),
    ("exists on null", field({"exists": True}), detail(f=None), True),
    ("exists on a missing field", field({"exists": True}), detail(), False),
    ("exists on an object (not a leaf)", field({"exists": True}), detail(f={"c1": 100}), False),
    ("exists on an empty array", field({"exists": True}), detail(f=[]), False),
    ("not exists on a missing field", {"detail": {"c-count": [{"exists": False}]}},
     {"detail": {"state": ["initializing", "running"]}}, True),
    ("not exists on an object (not a leaf)", {"detail": {"c-count": [{"exists": False}]}},
     {"detail": {"state": "running", "c-count": {"c1": 100}}}, True),
    ("not exists on a present field", field({"exists": False}), detail(f="x"), False),
    ("not exists on null", field({"exists": False}), detail(f=None), False),
    ("not exists under a missing parent",
     {"detail": {"level1": {"level2:": {"level3": {"level4": [{"exists": False}]}}}}},
     {"detail": {"level1": {"level2": "l2 value"}}}, True),
    ("not exists under a scalar parent",
     {"detail": {"level1": {"level2": {"level3": [{"exists": False}]}}}},
     {"detail": {"level1": {"level2": "l2 value"}}}, True),
    ("not exists, deep and present",
     {"detail": {"level1": {"level2": {"level3": [{"exists": False}]}}}},
     {"detail": {"level1": {"level2": {"level3": "l3 value"}}}}, False),
    ("not exists or a value: absent", field({"exists": False}, "x"), detail(), True),
    ("not exists or a value: the value", field({"exists": False}, "x"), detail(f="x"), True),
    ("not exists or a value: another", field({"exists": False}, "x"), detail(f="y"), False),
    # ---------------------------------------------------------------------- cidr
    ("cidr", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EC2, True),
    ("cidr last address", field({"cidr": "10.0.0.0/24"}), detail(f="10.0.0.255"), True),
    ("cidr outside", field({"cidr": "10.0.0.0/24"}), detail(f="10.0.1.0"), False),
    ("cidr IPv6", field({"cidr": "2001:db8::/32"}), detail(f="2001:db8:ffff::1"), True),
    ("cidr IPv6 outside", field({"cidr": "2001:db8::/32"}), detail(f="2001:db9::1"), False),
    ("cidr IPv4 block, IPv6 value", field({"cidr": "0.0.0.0/0"}), detail(f="::1"), False),
    ("cidr on a non-address", field({"cidr": "10.0.0.0/8"}), detail(f="10.0.0.x"), False),
    ("cidr on a number", field({"cidr": "10.0.0.0/24"}), detail(f=123), False),
    ("an IP literal matches the same address", field("::1"), detail(f="0:0:0:0:0:0:0:1"), True),
    # ----------------------------------------------------------------------- $or
    ("$or, first", {"source": ["aws.cloudwatch"],
                    "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
     {"source": "aws.cloudwatch", "metricName": "CPUUtilization"}, True),
    ("$or, second", {"source": ["aws.cloudwatch"],
                     "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
     {"source": "aws.cloudwatch", "namespace": "AWS/EC2"}, True),
    ("$or, neither", {"source": ["aws.cloudwatch"],
                      "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
     {"source": "aws.cloudwatch", "namespace": "AWS/ES"}, False),
    ("$or, sibling fails", {"source": ["aws.cloudwatch"],
                            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
     {"source": "aws.ec2", "metricName": "CPUUtilization"}, False),
    ("$or with an AND inside",
     {"$or": [{"metricName": ["CPUUtilization"]},
              {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]}]},
     {"metricType": "MetricType", "namespace": "AWS/ES"}, False),
    ("$or nested",
     {"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"state": ["running"]}]}},
     EC2, True),
    ("$or nested, neither",
     {"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"state": ["stopped"]}]}},
     EC2, False),
    ("$or in $or",
     {"source": ["aws.cloudwatch"],
      "$or": [{"metricName": ["CPUUtilization"]},
              {"namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]}]},
     {"source": "aws.cloudwatch", "namespace": "AWS/EC2", "spaceId": 1000}, True),
    ("parallel $or",
     {"$or": [{"a": ["1"]}, {"b": ["2"]}], "detail": {"$or": [{"c": ["3"]}, {"d": ["4"]}]}},
     {"b": "2", "detail": {"c": "0", "d": "4"}}, True),
    ("$or with exists false", {"$or": [{"a": [{"exists": False}]}, {"a": ["x"]}]},
     {"a": "y"}, False),
]


@pytest.mark.parametrize(("name", "pattern", "event", "expected"), CASES,
                         ids=[case[0] for case in CASES])
def test_matches(name: str, pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    validate(pattern)
    assert matches(pattern, event) is expected, name


ERRORS: list[tuple[str, Any, str]] = [
    ("not an object", ["source"], "pattern: must be a JSON object"),
    ("non-array leaf", {"source": "aws.ec2"}, "source: must be an object or an array"),
    ("nested non-array leaf", {"detail": {"state": 5}}, "detail.state: must be an object or an array"),
    ("empty pattern", {}, "pattern: empty objects are not allowed"),
    ("empty object", {"detail": {}}, "detail: empty objects are not allowed"),
    ("empty array", {"source": []}, "source: empty arrays are not allowed"),
    ("array in an array", {"source": [["a"]]}, "source: ['a'] is not a string"),
    ("unknown operator", {"detail": {"state": [{"contains": "x"}]}},
     "detail.state: unknown operator 'contains'"),
    ("exactly is not documented", field({"exactly": "x"}), "detail.f: unknown operator 'exactly'"),
    ("intrinsic left unresolved", {"resources": [{"Fn::Sub": "arn:${X}"}]},
     "resources: unknown operator 'Fn::Sub'"),
    ("two operators in one object", field({"prefix": "a", "suffix": "b"}),
     "detail.f: one operator per object"),
    ("prefix of a number", field({"prefix": 1}), "detail.f: prefix: must be a string"),
    ("prefix ignoring case of a number", field({"prefix": {"equals-ignore-case": 1}}),
     "detail.f: prefix: must be a string"),
    ("prefix with another operator", field({"prefix": {"wildcard": "a"}}),
     "detail.f: prefix: must be a string"),
    ("suffix list", field({"suffix": [".png"]}), "detail.f: suffix: must be a string"),
    ("equals-ignore-case of an object", field({"equals-ignore-case": {"prefix": "a"}}),
     "detail.f: equals-ignore-case: must be a string"),
    ("consecutive wildcards", field({"wildcard": "a**b"}),
     "detail.f: wildcard: consecutive wildcard characters at position 1"),
    ("bad escape in a wildcard", field({"wildcard": "a\\b"}), "detail.f: wildcard: invalid escape"),
    ("dangling escape in a wildcard", field({"wildcard": "a\\"}), "detail.f: wildcard: invalid escape"),
    ("wildcard of a number", field({"wildcard": 1}), "detail.f: wildcard: must be a string"),
    ("numeric !=", field({"numeric": ["!=", 1]}), "detail.f: numeric: must be [op, number]"),
    ("numeric two lower bounds", field({"numeric": [">", 0, ">", 0]}), "detail.f: numeric:"),
    ("numeric bounds reversed", field({"numeric": ["<", 5, ">", 1]}), "detail.f: numeric:"),
    ("numeric empty range", field({"numeric": [">=", 5, "<=", 5]}),
     "detail.f: numeric: the lower bound must be below the upper bound"),
    ("numeric = in a range", field({"numeric": ["=", 5, "<", 6]}), "detail.f: numeric:"),
    ("numeric string operand", field({"numeric": ["=", "5"]}), "detail.f: numeric:"),
    ("numeric boolean operand", field({"numeric": [">", True]}), "detail.f: numeric:"),
    ("numeric too long", field({"numeric": [">", 1, "<", 5, "<", 6]}), "detail.f: numeric:"),
    ("numeric not a list", field({"numeric": 5}), "detail.f: numeric:"),
    ("exists of a string", field({"exists": "true"}), "detail.f: exists: must be true or false"),
    ("cidr of a word", field({"cidr": "bad-filter"}), "detail.f: cidr: 'bad-filter' is not"),
    ("cidr without bits", field({"cidr": "10.0.0.0"}), "detail.f: cidr:"),
    ("cidr with too many bits", field({"cidr": "10.0.0.0/33"}), "detail.f: cidr:"),
    ("cidr IPv6 with too many bits", field({"cidr": "::/129"}), "detail.f: cidr:"),
    ("cidr of a number", field({"cidr": 10}), "detail.f: cidr:"),
    ("anything-but null", field({"anything-but": None}), "detail.f: anything-but: must be"),
    ("anything-but true", field({"anything-but": True}), "detail.f: anything-but: must be"),
    ("anything-but empty list", field({"anything-but": []}), "detail.f: anything-but: a list"),
    ("anything-but mixed list", field({"anything-but": ["a", 1]}), "detail.f: anything-but: a list"),
    ("anything-but list of null", field({"anything-but": [None]}), "detail.f: anything-but: a list"),
    ("anything-but empty prefix", field({"anything-but": {"prefix": ""}}),
     "detail.f: anything-but: prefix: must not be empty"),
    ("anything-but empty suffix", field({"anything-but": {"suffix": ""}}),
     "detail.f: anything-but: suffix: must not be empty"),
    ("anything-but prefix ignoring case", field({"anything-but": {"prefix": {"equals-ignore-case": "a"}}}),
     "detail.f: anything-but: prefix: must be a string"),
    ("anything-but prefix list with a number", field({"anything-but": {"prefix": [123, "test"]}}),
     "detail.f: anything-but: prefix: must be a string"),
    ("anything-but unknown operator", field({"anything-but": {"numeric": [">", 1]}}),
     "detail.f: anything-but: unknown operator 'numeric'"),
    ("anything-but two operators", field({"anything-but": {"prefix": "a", "suffix": "b"}}),
     "detail.f: anything-but: one operator per object"),
    ("anything-but bad wildcard", field({"anything-but": {"wildcard": "**"}}),
     "detail.f: anything-but: wildcard: consecutive wildcard characters"),
    ("$or of one", {"$or": [{"a": ["1"]}]}, "$or: must be an array of at least 2 objects"),
    ("$or of an object", {"$or": {"a": ["1"]}}, "$or: must be an array of at least 2 objects"),
    ("$or of a value", {"detail": {"$or": [{"a": ["1"]}, "b"]}},
     "detail.$or[1]: only objects are allowed in $or"),
    ("$or with an operator as a field", {"$or": [{"a": ["1"]}, {"prefix": ["x"]}]},
     "$or[1].prefix: 'prefix' is reserved"),
    ("error inside $or", {"$or": [{"a": ["1"]}, {"b": [{"contains": "x"}]}]},
     "$or[1].b: unknown operator 'contains'"),
]


@pytest.mark.parametrize(("name", "pattern", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_refuses(name: str, pattern: Any, message: str) -> None:
    with pytest.raises(PatternError, match=re.escape(message)):
        validate(pattern)
    with pytest.raises(PatternError, match=re.escape(message)):
        matches(pattern, EC2)


def test_pattern_error_is_ours() -> None:
    assert issubclass(PatternError, EcsGitopsError)


def test_operator_names_are_field_names_outside_or() -> None:
    assert matches({"prefix": ["x"]}, {"prefix": "x"})


# ------------------------------------------------------- template.yaml x events/


def _readme_routes() -> dict[str, tuple[str | None, bool]]:
    """events/README.md's table: sample -> (the function it reaches or None, by schedule?)."""
    rows = re.findall(r"^\| `([^`]+\.json)` \| ([^|]+?) \|", (EVENTS / "README.md").read_text(),
                      re.MULTILINE)
    return {sample: (None if reaches == "no rule" else reaches.split()[0],
                     "(its schedule)" in reaches) for sample, reaches in rows}


ROUTES = _readme_routes()


@pytest.fixture(scope="module")
def rules() -> list[tuple[str, bool, dict[str, Any]]]:
    """Every rule of every function: (function, is a schedule, resolved pattern)."""
    template = Template(ROOT / "template.yaml")
    refs = {**template.parameter_defaults(), "TaskRoleArn": "x", "ExecutionRoleArn": "x"}
    # Ref of a CodeBuild project is its name.
    refs |= {name: str(project["Properties"]["Name"])
             for name, project in template.resources_of("AWS::CodeBuild::Project").items()}
    return [(function, rule.schedule is not None, resolve(rule.pattern, refs))
            for function, spec in template.functions().items() for rule in spec.rules]


def test_the_readme_routes_every_sample() -> None:
    assert set(ROUTES) == {path.name for path in EVENTS.glob("*.json")}
    assert len(ROUTES) == 23


def test_every_rule_of_the_template_is_valid(rules: list[tuple[str, bool, dict[str, Any]]]) -> None:
    assert {function for function, _, _ in rules} == {
        "PushFunction", "PullRequestFunction", "BuildFinishedFunction", "ReconcileFunction",
        "DeploymentEventsFunction", "SweepFunction"}
    assert sum(schedule for _, schedule, _ in rules) == 2
    for _, _, pattern in rules:
        validate(pattern)


@pytest.mark.parametrize("sample", sorted(ROUTES))
def test_sample_reaches_the_functions_the_readme_says(
    rules: list[tuple[str, bool, dict[str, Any]]], sample: str
) -> None:
    event = json.loads((EVENTS / sample).read_text())
    by_pattern = {f for f, schedule, p in rules if not schedule and matches(p, event)}
    by_schedule = {f for f, schedule, p in rules if schedule and matches(p, event)}
    function, scheduled = ROUTES[sample]
    expected = set() if function is None else {function}
    # tests/functional/test_template.py's matcher sees the pattern rules only: agree with it.
    assert by_pattern == (set() if scheduled else expected)
    assert by_schedule == (expected if scheduled else set())
