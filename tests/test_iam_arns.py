"""Session ARNs mapped to the role ARN a policy names, including IAM Identity Center roles."""

from __future__ import annotations

from diagnostics.iam.arns import iam_path_arn, permission_set_name, principal_for_policy
from diagnostics.rules.resources import policy_resource

SSO = (
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com"
)


def test_sso_session_maps_to_the_aws_reserved_path() -> None:
    """An Identity Center session maps to its role under aws-reserved/sso.amazonaws.com/."""
    assert principal_for_policy(SSO) == (
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/"
        "AWSReservedSSO_Admin_0123456789abcdef"
    )
    assert permission_set_name(SSO) == "Admin"


def test_ordinary_and_lookalike_roles_keep_the_root_path() -> None:
    """A role named like SSO but without the 16-hex suffix is an ordinary role."""
    odd = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin/s"
    assert principal_for_policy(odd) == "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin"
    assert permission_set_name(odd) is None
    assert permission_set_name("arn:aws:iam::111122223333:user/alice") is None


def test_iam_path_descriptions_map_to_arn_patterns() -> None:
    """ "policy path /" becomes the account's policy/* pattern; unknown text becomes "*"."""
    assert iam_path_arn("policy path /", "111122223333") == "arn:aws:iam::111122223333:policy/*"
    assert iam_path_arn("user path /division_abc/", "111122223333") == (
        "arn:aws:iam::111122223333:user/division_abc/*"
    )
    assert iam_path_arn("policy path /", None) is None
    value, note = policy_resource("some bucket", "111122223333", "aws")
    assert value == "*" and note and "narrow it" in note
    assert policy_resource("arn:aws:s3:::b", None, "aws") == ("arn:aws:s3:::b", None)
