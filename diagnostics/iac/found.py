"""A resource an IaC file defines that a fix may target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Defined:
    """One role, user, group or bucket resource, where it starts, and what it sets."""

    kind: str  # role, user, group, bucket
    name: str
    #: The IAM path the resource sets literally, or None when it sets none (or not literally).
    path: str | None
    file: str
    line: int
    #: ``aws_iam_role.ci_deployer`` or ``CiDeployerRole (AWS::IAM::Role)``
    resource: str
    tool: str  # terraform or cloudformation
