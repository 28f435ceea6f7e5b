"""boto3 ``iam-toolbox`` clients: base credentials, or the per-account role.

The same factory as the STS decoder's (``StsClients``): one session, the
role template assumed per account (AssumeRole stays on STS), botocore's
retries, and a token from the bucket before every HTTP attempt.  boto3 is
imported lazily, the first time a client is needed.
"""

from __future__ import annotations

from typing import Any

from diagnostics.decode.clients import StsClients


class NoToolboxModel(Exception):
    """This botocore does not ship the iam-toolbox service model."""


class ToolboxClients(StsClients):
    """Thread-safe iam-toolbox clients for a ``Resolver``."""

    SERVICE = "iam-toolbox"

    def service_endpoint(self) -> str | None:
        return self.settings.toolbox_endpoint_url

    def _new_client(
        self, endpoint_url: str | None, *, service: str | None = None, **credentials: str
    ) -> Any:
        from botocore.exceptions import UnknownServiceError

        try:
            return super()._new_client(endpoint_url, service=service, **credentials)
        except UnknownServiceError:
            raise NoToolboxModel(botocore_version()) from None

    def caller_account(self, role_arn: str | None) -> str | None:
        """The account the calls are made from: the role's, else the base caller's."""
        arn = role_arn or self.caller_arn()
        if not arn:
            return None
        parts = arn.split(":")
        return parts[4] if len(parts) > 5 and parts[4] else None


def botocore_version() -> str:
    import botocore

    version: str = botocore.__version__
    return version


def model_features(client: Any) -> tuple[bool, bool]:
    """``(has GetRequestAuthorizationPolicy, evaluations have checks)`` in this model.

    botocore 1.43.80 to 1.44.3 ship an earlier iam-toolbox model: details only,
    with the matched policies on each evaluation, and no ``checks``; botocore
    drops members its model does not name, so those answers are poorer.
    """
    model = client.meta.service_model
    has_policy = "GetRequestAuthorizationPolicy" in model.operation_names
    evaluation = model.shape_for("Evaluation")
    return has_policy, "checks" in evaluation.members


__all__ = ["NoToolboxModel", "ToolboxClients", "botocore_version", "model_features"]
