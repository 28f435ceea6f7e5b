"""ARN templates from the dataset: which resource type an ARN is, and building ARNs.

The Service Authorization Reference writes each resource type's ARN as a
template such as ``arn:${Partition}:s3:::${BucketName}/${ObjectName}``.
"""

from __future__ import annotations

import functools
import re

from diagnostics.iam.dataset import _resource_types, get_action

# Linear: literal delimiters around one class.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# Placeholders with a known shape; everything else is "one or more characters".
_SHAPES = {
    "partition": r"aws[a-z-]*",
    "region": r"[a-z0-9-]*",
    "account": r"[^:]*",
    # Lambda versions are numbers or $LATEST; aliases may not be all digits
    # (Lambda CreateAlias API reference), which keeps the two types apart.
    "version": r"\d+|\$LATEST",
    "layerversion": r"\d+",
}


def _service_of(action_or_service: str) -> str:
    return action_or_service.split(":", 1)[0].strip().lower()


@functools.lru_cache(maxsize=4096)
def arn_formats(service: str, resource_type: str) -> tuple[str, ...]:
    """The ARN template(s) for ``resource_type`` of ``service`` (empty if unknown)."""
    entry = _resource_types(_service_of(service)).get(resource_type.lower())
    if not isinstance(entry, dict):
        return ()
    arn = entry.get("arn")
    if isinstance(arn, list):
        return tuple(str(a) for a in arn)
    return (str(arn),) if arn else ()


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source, re.DOTALL)


@functools.lru_cache(maxsize=4096)
def _template_source(template: str) -> tuple[str, tuple[int, int]]:
    """The template's regex source, and its specificity: literal characters, shaped placeholders."""
    pieces: list[str] = []
    literal = 0
    shaped = 0
    pos = 0
    matches = list(_PLACEHOLDER.finditer(template))
    for i, m in enumerate(matches):
        text = template[pos : m.start()]
        pieces.append(re.escape(text))
        literal += len(text)
        name = m.group(1).lower()
        last = i == len(matches) - 1 and m.end() == len(template)
        shape = _SHAPES.get(name, ".+" if last else "[^:]+")
        shaped += name in _SHAPES
        pieces.append(f"(?:{shape})")
        pos = m.end()
    pieces.append(re.escape(template[pos:]))
    literal += len(template) - pos
    return "".join(pieces), (literal, shaped)


@functools.lru_cache(maxsize=4096)
def resource_type_for_arn(action_or_service: str, arn: str) -> str | None:
    """The resource type an ARN is, by the service's ARN templates.

    Given an action (``s3:GetObject``) only that action's resource types are
    considered; given a service prefix (``s3``) all of the service's.  When
    several templates match, the one with the most literal text wins, so
    ``arn:aws:s3:::b/k`` is an ``object`` and not a ``bucket``; then the one
    with more typed placeholders (a Lambda version is digits, an alias is not).

    The verifier asks this for every fix (EC2 has about a hundred templates),
    so recent answers are remembered, and a template is tried only when the
    ARN holds its longest literal piece, which every match must contain
    (and its regex is compiled only then: EC2's hundred cost 50 ms).
    """
    for source, name, piece in _candidates(action_or_service):
        if piece in arn and _compiled(source).fullmatch(arn):
            return name
    return None


@functools.lru_cache(maxsize=4096)
def _candidates(action_or_service: str) -> tuple[tuple[str, str, str], ...]:
    """Every (template regex source, resource type, longest literal piece), most specific first.

    Depends only on the action or service, so it is worked out once: the
    first template that matches is then the best one, and the search stops
    there (EC2 alone has about a hundred resource types).  The sort is stable,
    so among equally specific templates the first listed still wins.
    """
    service = _service_of(action_or_service)
    table = _resource_types(service)
    names: list[str]
    if ":" in action_or_service:
        info = get_action(action_or_service)
        if info is None:
            return ()
        names = [rt.name for rt in info.resource_types]
    else:
        names = [str(v.get("key", k)) for k, v in table.items() if isinstance(v, dict)]
    scored: list[tuple[tuple[int, int], str, str, str]] = []
    for name in names:
        for template in arn_formats(service, name):
            source, score = _template_source(template)
            # The regex is the escaped literal pieces around placeholders, case-sensitive.
            piece = max(_PLACEHOLDER.split(template)[::2], key=len)
            scored.append((score, source, name, piece))
    scored.sort(key=lambda item: item[0], reverse=True)
    return tuple((source, name, piece) for _, source, name, piece in scored)


@functools.lru_cache(maxsize=1024)
def is_regional(service: str) -> bool:
    """True when every ARN the dataset gives for ``service`` names a region.

    ``service`` is the ARN's own service field (``sns``).  An SNS topic, an
    SQS queue or a Lambda function always has one, so ``arn:aws:sns:::topic``
    lost it to a person's redaction; S3 buckets, Route 53 zones and IAM have
    none.  A service the dataset does not know is not regional (nothing to go by).
    """
    regions = [
        template.split(":", 4)[3]
        for entry in _resource_types(service).values()
        if isinstance(entry, dict)
        for template in _templates(entry.get("arn"))
        if template.count(":") >= 5 and template.split(":", 3)[2] == service
    ]
    return bool(regions) and all(regions)


@functools.lru_cache(maxsize=1024)
def names_follow(service: str, word: str) -> bool:
    """True when an ARN format of ``service`` has ``:word:`` followed by a name.

    ``names_follow("logs", "log-stream")``: Logs' format ends
    ``:log-stream:${LogStreamName}``.
    """
    literal = f":{word}:${{"
    return bool(word) and any(
        literal in template
        for entry in _resource_types(service).values()
        if isinstance(entry, dict)
        for template in _templates(entry.get("arn"))
    )


def _templates(arn: object) -> tuple[str, ...]:
    if isinstance(arn, list):
        return tuple(str(a) for a in arn)
    return (str(arn),) if arn else ()


def placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names in a template, in order (``Partition``, ``BucketName``...)."""
    return tuple(m.group(1) for m in _PLACEHOLDER.finditer(template))


def fill_arn(
    template: str,
    *,
    partition: str = "aws",
    region: str | None = None,
    account: str | None = None,
    **names: str | None,
) -> str:
    """Fill an ARN template; any placeholder left without a value becomes ``*``.

    Names match placeholders case-insensitively: ``fill_arn(t, bucketname="b")``.
    """
    values: dict[str, str | None] = {k.lower(): v for k, v in names.items()}
    values.update(partition=partition, region=region, account=account)

    def sub(m: re.Match[str]) -> str:
        value = values.get(m.group(1).lower())
        return value if value else "*"

    return _PLACEHOLDER.sub(sub, template)
