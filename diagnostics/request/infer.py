"""Infer the IAM action from the API operation when the text names only the operation.

Below both the pipeline and the rule cases, so ``rules test`` sees a case
exactly as a scan would without the rules importing the pipeline.
"""

from __future__ import annotations

import dataclasses

from diagnostics.model import Failure

#: The codes S3 gives a bare refusal: AccessDenied, or the HTTP status of a
#: body-less HEAD response (botocore prints "403" / "Forbidden").
_BARE_S3_CODES = frozenset({"AccessDenied", "403", "Forbidden"})


def _service_hint(failure: Failure) -> str | None:
    if failure.event_source:
        return failure.event_source
    code = failure.error_code or ""
    # Only EC2 answers "UnauthorizedOperation" (AWS EC2 API error code list);
    # old EC2 errors carry the blob and the operation but no service name.
    if code.endswith("UnauthorizedOperation"):
        return "ec2"
    # S3 answers a bare "Access Denied" naming no service (`aws s3 ls` prints
    # only the operation); its rule already explains ListObjectsV2 as
    # s3:ListBucket, so the action field says it too.
    if code in _BARE_S3_CODES and failure.operation:
        from diagnostics.iam.operations import is_s3_operation

        if is_s3_operation(failure.operation):
            return "s3"
    if not failure.operation:
        return None
    from diagnostics.iam.error_codes import is_authz_error_code

    if not is_authz_error_code(code):
        # Another code (EKS's InvalidRequestException for a launch template) means
        # the call was allowed and something it did was not.
        return None
    # A refusal of the call itself that names no service (botocore's ClientError):
    # the operation name alone, when it belongs to one service (or one usual one).
    from diagnostics.iam.operations import service_for_operation

    return service_for_operation(failure.operation, code)


def infer_action(failure: Failure) -> Failure:
    """Fill ``action`` from the API operation when the text did not name it."""
    if failure.action or not failure.operation:
        return failure
    service = _service_hint(failure)
    if service is None:
        return failure
    from diagnostics.iam import action_for_operation

    action = action_for_operation(service, failure.operation)
    return dataclasses.replace(failure, action=action) if action else failure
