"""Which resource type an ARN is (``iam.arn_templates.resource_type_for_arn``) stays as defined.

The lookup runs for every fix the verifier checks, so it skips templates
whose literal text the ARN lacks and remembers recent answers; these tests
hold it to the plain definition (the first of the specificity-ordered
templates whose regex matches the whole ARN) for every template of the
services the benchmarks and the real corpus use, filled and mangled.
"""

from __future__ import annotations

import re

import pytest

from diagnostics.iam import arn_templates
from diagnostics.iam.arn_templates import arn_formats, fill_arn, resource_type_for_arn
from diagnostics.iam.dataset import _resource_types, action_names

SERVICES = ("ec2", "s3", "iam", "sts", "kms", "lambda", "dynamodb", "ecr", "sqs", "sns", "logs")


def _definition(action_or_service: str, arn: str) -> str | None:
    """The first template, most specific first, whose regex matches all of ``arn``."""
    service = action_or_service.split(":", 1)[0].lower()
    if ":" in action_or_service:
        from diagnostics.iam.dataset import get_action

        info = get_action(action_or_service)
        if info is None:
            return None
        names = [rt.name for rt in info.resource_types]
    else:
        names = [str(v.get("key", k)) for k, v in _resource_types(service).items()]
    scored = []
    for name in names:
        for template in arn_formats(service, name):
            source, score = arn_templates._template_source(template)
            scored.append((score, re.compile(source, re.DOTALL), name))
    scored.sort(key=lambda item: item[0], reverse=True)
    return next((name for _, regex, name in scored if regex.fullmatch(arn)), None)


def _arns(service: str) -> list[str]:
    """Each template of ``service`` filled with plain and awkward values, and mangled."""
    out: list[str] = []
    for key, value in _resource_types(service).items():
        for template in arn_formats(service, str(value.get("key", key))):
            for filler in ("x", "a/b", "a:b", "123", "$LATEST", "*"):
                arn = re.sub(r"\$\{[A-Za-z0-9_]+\}", filler, template)
                out += [arn, arn.upper(), arn[:-1], arn + "/k", arn.replace(":", "::", 1)]
            out.append(fill_arn(template, region="us-east-1", account="111122223333"))
    return out


@pytest.mark.parametrize("service", SERVICES)
def test_resource_type_of_every_template_is_as_defined(service: str) -> None:
    """Every filled and mangled ARN of a service gets the type the plain definition gives."""
    resource_type_for_arn.cache_clear()
    actions = [f"{service}:{name}" for name in action_names(service)[:40]]
    for arn in _arns(service):
        for key in (service, *actions[:: max(1, len(actions) // 6)]):
            assert resource_type_for_arn(key, arn) == _definition(key, arn), (key, arn)
            # Asked again, the remembered answer is the same.
            assert resource_type_for_arn(key, arn) == _definition(key, arn), (key, arn)


def test_unknown_services_and_actions_have_no_type() -> None:
    """An ARN of a service or action the dataset does not know has no resource type."""
    assert resource_type_for_arn("nosuchservice", "arn:aws:nosuchservice:::x") is None
    assert resource_type_for_arn("s3:NoSuchAction", "arn:aws:s3:::b/k") is None
    assert resource_type_for_arn("s3:GetObject", "arn:aws:s3:::b/k") == "object"
    assert resource_type_for_arn("s3", "arn:aws:s3:::b") == "bucket"
