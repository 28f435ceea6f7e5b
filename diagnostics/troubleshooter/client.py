"""What this botocore knows of iam-toolbox: whether it has the model, and which parts.

The clients themselves (credentials, per-account roles, the token bucket)
are the lookup core's (``diagnostics.lookup.clients``).
"""

from __future__ import annotations

from typing import Any


def botocore_version() -> str:
    import botocore

    version: str = botocore.__version__
    return version


def model_features(model: Any) -> tuple[bool, bool]:
    """``(has GetRequestAuthorizationPolicy, evaluations have checks)`` in this service model.

    botocore 1.43.80 to 1.44.3 ship an earlier iam-toolbox model: details only,
    with the matched policies on each evaluation, and no ``checks``; botocore
    drops members its model does not name, so those answers are poorer.
    """
    has_policy = "GetRequestAuthorizationPolicy" in model.operation_names
    evaluation = model.shape_for("Evaluation")
    return has_policy, "checks" in evaluation.members


__all__ = ["botocore_version", "model_features"]
