"""Edit a desired-state file as text, touching only the value that changes.

Write-back commits must read like a person's edit: comments, order and quoting of
everything else stay as they were. The YAML node of the tag is located with the
parser's marks and only its characters are replaced.
"""

from __future__ import annotations

import re

import yaml

from ecs_gitops.errors import DesiredStateError, EditError, Problem

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _scalar(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found: yaml.Node = value_node
            return found
    return None


def set_image_tag(text: str, service: str, tag: str, *, path: str = "<desired state>") -> str:
    """`text` with the image tag of `service` (its `name` or `serviceName`) set to `tag`.

    Raises:
        EditError: `tag` is not a valid image tag.
        DesiredStateError: no such service with a plain image tag in `text` (an
            anchor, alias or explicit YAML tag is refused rather than guessed at).
    """
    if not _PLAIN.match(tag):
        raise EditError(f"not a valid image tag: {tag!r}")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    services = _scalar(root, "services")
    if isinstance(services, yaml.SequenceNode):
        for item in services.value:
            names = {getattr(_scalar(item, k), "value", None) for k in ("name", "serviceName")}
            if service in names:
                node = _scalar(_scalar(item, "image"), "tag")
                if isinstance(node, yaml.ScalarNode):
                    return _replace(text, node, item, tag, path)
    raise DesiredStateError([Problem(path, 1, 1, "services",
                                     f"no service {service!r} with an image tag to set")])


def _replace(text: str, node: yaml.ScalarNode, item: yaml.Node, tag: str, path: str) -> str:
    start, end = node.start_mark.index, node.end_mark.index
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    inside = item.start_mark.index <= start and end <= item.end_mark.index
    if not inside or text[start:start + 1] in ("&", "*", "!"):
        # An alias, an anchor or an explicit tag: editing the text would change other
        # services or drop the anchor. Refuse rather than guess.
        raise DesiredStateError([Problem(
            path, line, column, "image.tag",
            "the image tag uses a YAML anchor, alias or tag; write it as a plain value so "
            "that ecs-gitops can update it")])
    # Quote what YAML would not read back as the same string ("1.10", "20240101", "no").
    plain_ok = isinstance(yaml.safe_load(tag), str)
    quote = node.style if node.style in ("'", '"') else ("" if plain_ok else '"')
    return f"{text[:start]}{quote}{tag}{quote}{text[end:]}"
