"""Decisions about the AWS environment made before boto3 is imported."""

from __future__ import annotations

import os
from pathlib import Path

# DMI fields that identify an EC2 instance (Nitro and Xen); the same check
# cloud-init's EC2 datasource makes.  Reading them needs no network.
_EC2_HINTS = (
    (Path("/sys/devices/virtual/dmi/id/sys_vendor"), "Amazon EC2"),
    (Path("/sys/devices/virtual/dmi/id/board_asset_tag"), "i-"),
    (Path("/sys/hypervisor/uuid"), "ec2"),
)


def on_ec2() -> bool:
    """True when this machine looks like an EC2 instance."""
    for path, prefix in _EC2_HINTS:
        try:
            if path.read_text(errors="replace").strip().startswith(prefix):
                return True
        except OSError:
            continue
    return False


def avoid_instance_metadata_off_ec2() -> None:
    """Stop botocore from probing 169.254.169.254 on machines that are not EC2.

    Without this, a laptop with no credentials waits on a link-local timeout
    for every client and sends packets nobody should see.  A user who needs
    the metadata service elsewhere sets AWS_EC2_METADATA_DISABLED=false.
    """
    if "AWS_EC2_METADATA_DISABLED" not in os.environ and not on_ec2():
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
