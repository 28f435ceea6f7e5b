"""IAM dataset facts the placeholders need, through ``diagnostics.iam``."""

from __future__ import annotations

from diagnostics.rules.subject import Subject


def required_arns(s: Subject, extra_types: str | None = None) -> list[str] | None:
    """ARNs for every resource type the action requires (plus ``extra_types``).

    The failing resource stays exact; the other types get ``*`` for the parts
    the request cannot know (the new instance's id), with the request's own
    partition, account and region.  None when the action is not in the dataset.
    """
    if not s.action or ":" not in s.action:
        return None
    from diagnostics.iam.arn_templates import arn_formats, fill_arn, resource_type_for_arn
    from diagnostics.iam.dataset import get_action, required_resource_types

    info = get_action(s.action)
    if info is None:
        return None
    types = [rt.name for rt in required_resource_types(s.action)]
    for name in (extra_types or "").split(","):
        if name.strip() and name.strip() not in types:
            types.append(name.strip())
    exact_type = resource_type_for_arn(info.service, s.resource) if s.resource else None
    out: list[str] = [s.resource] if s.resource and exact_type else []
    partition = (
        (s.resource or s.principal_arn or "arn:aws").split(":")[1]
        if ":" in (s.resource or s.principal_arn or "")
        else "aws"
    )
    from diagnostics.iam.call_needs import stated_arns

    for name in types:
        if name == exact_type:
            continue
        # The most specific ARN the input gives: ec2:ParentVolume names the volume.
        stated = stated_arns(info.service, s.ctx.conditions, name)
        out.extend(arn for arn in stated if arn not in out)
        for fmt in [] if stated else arn_formats(info.service, name):
            arn = fill_arn(fmt, partition=partition, region=s.region, account=s.account)
            if arn not in out:
                out.append(arn)
    return out or None
