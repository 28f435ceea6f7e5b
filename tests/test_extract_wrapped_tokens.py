"""Wraps inside a token (issue 21, class 3): a role name cut by the terminal, a reason on
the next line after "on this resource", a box border inside the error code."""

from __future__ import annotations

from diagnostics.extract import extract_text

SESSION = "arn:aws:sts::111122223333:assumed-role/app-role/session"


def test_arn_cut_inside_a_role_name_is_glued_without_a_blank() -> None:
    """A 120-column terminal cut "app-ro" / "le/session": the principal is whole."""
    line = (
        "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
        + SESSION
        + " is not authorized to perform: kms:Decrypt on this resource because no "
        "identity-based policy allows the kms:Decrypt action"
    )
    cut = line.index("app-ro") + len("app-ro")
    (f,) = extract_text(line[:cut] + "\n" + line[cut:] + "\n")
    assert f.principal_arn == SESSION and f.account_id == "111122223333"


def test_reason_on_the_line_after_on_this_resource() -> None:
    """KMS's "on this resource" then the reason clause on its own line: one sentence."""
    text = (
        "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
        f"{SESSION} is not authorized to perform: kms:Decrypt on this resource\n"
        "because no identity-based policy allows the kms:Decrypt action\n"
    )
    (f,) = extract_text(text)
    assert (f.action, f.policy_type, f.explicit_deny) == ("kms:Decrypt", "identity", False)


def test_box_border_inside_the_error_code() -> None:
    """A boxed diagnostic whose right border cuts "AccessDeniedE │" / "│ xception"."""
    msg = (
        "Error: reading IAM Role (app): operation error IAM: GetRole, https response error "
        "StatusCode: 403, RequestID: 5b3c, api error AccessDeniedException: User: "
        "arn:aws:sts::111122223333:assumed-role/deploy/ci is not authorized to perform: "
        "iam:GetRole on resource: role app because no identity-based policy allows the "
        "iam:GetRole action"
    )
    width = msg.index("AccessDeniedE") + len("AccessDeniedE")
    rows = [msg[i : i + width] for i in range(0, len(msg), width)]
    box = "\n".join(["╷", *(f"│ {r.ljust(width)} │" for r in rows), "╵"]) + "\n"
    (f,) = extract_text(box)
    assert (f.error_code, f.operation, f.action) == (
        "AccessDeniedException",
        "GetRole",
        "iam:GetRole",
    )
    assert (f.resource, f.resource_text) == (None, "role app")
