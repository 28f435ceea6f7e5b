"""``scan --iac DIR``: find where a Terraform or CloudFormation tree defines a fix's target."""

from __future__ import annotations
