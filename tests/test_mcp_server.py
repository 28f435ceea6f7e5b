"""``authz-diag mcp``: a real stdio round trip with the MCP SDK's own client."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

mcp = pytest.importorskip("mcp", reason="the mcp extra is part of the test install")

from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

# A CDK deploy's error as agents paste it: the principal is a session, so the
# fix must name the role (and never the session ARN).
PASTED = (
    "CREATE_FAILED | AWS::Lambda::Function | Handler\n"
    'Resource handler returned message: "User: arn:aws:sts::123456789012:assumed-role/'
    "cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1/AWSCloudFormation is not authorized "
    "to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/app-handler-role "
    'because no identity-based policy allows the iam:PassRole action"\n'
)
ROLE = "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1"
ROOT = Path(__file__).resolve().parents[1]


def _params() -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "diagnostics", "mcp"],
        cwd=str(ROOT),
        # No credentials, no metadata service: the text tool is offline by design.
        env={"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent"},
    )


def _structured(result: Any) -> dict[str, Any]:
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(result.content[0].text))


async def _session_calls(calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    async with (
        stdio_client(_params()) as (read, write),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        tools = await session.list_tools()
        results = [await session.call_tool(name, args) for name, args in calls]
        return (init, tools), results


@pytest.mark.slow
def test_an_agent_gets_the_diagnosis_and_the_role_fix_over_stdio() -> None:
    """Every tool says each fix needs a human; the text tool's fix names the role."""
    (init, tools), [result] = anyio.run(_session_calls, [("diagnose_aws_error", {"text": PASTED})])
    assert init.server_info.name == "authz-diagnostics"
    names = {t.name for t in tools.tools}
    assert names == {
        "diagnose_aws_error",
        "explain_decoded_message",
        "decode_authorization_message",
    }
    # Every fix needs a person, whatever its risk: an empty list is no all-clear.
    for text in (init.instructions, *(t.description for t in tools.tools)):
        assert "whatever its `risk`" in text and "human" in text, text
        assert "non-empty `risk`" not in text
    assert not result.is_error
    answer = _structured(result)
    assert answer["count"] == 1
    # What came from the log (the ARNs, the fix built on them) is marked untrusted.
    d = answer["diagnoses"][0]["untrusted"]
    assert d["action"] == "iam:PassRole"
    assert d["resource"] == "arn:aws:iam::123456789012:role/app-handler-role"
    fixes = [fix for finding in d["findings"] for fix in finding["fixes"]]
    assert fixes, "the agent gets a fix to apply"
    assert {fix["applies_to"] for fix in fixes} == {ROLE}
    assert "assumed-role" not in json.dumps(fixes)


@pytest.mark.slow
def test_bad_input_comes_back_as_a_tool_error_that_says_what_to_do() -> None:
    """Text with no failure says so; a non-decoded message is a tool error, not a crash."""
    _, [empty, bad] = anyio.run(
        _session_calls,
        [
            ("diagnose_aws_error", {"text": "everything is fine\n"}),
            ("explain_decoded_message", {"text": "not json at all"}),
        ],
    )
    answer = _structured(empty)
    assert answer["count"] == 0 and "no AWS authorization failure" in answer["note"]
    assert bad.is_error
    assert "decode" in bad.content[0].text.lower()


def test_the_text_tool_refuses_a_whole_log_and_points_at_scan() -> None:
    """A paste over the size limit is refused with a sentence naming `authz-diag scan`."""
    from diagnostics.errors import UsageError
    from diagnostics.mcp_server.server import MAX_TEXT_BYTES, diagnose_text

    with pytest.raises(UsageError, match="authz-diag scan"):
        diagnose_text("x" * (MAX_TEXT_BYTES + 1), None)


@pytest.mark.slow
def test_the_decode_tool_decodes_through_sts_and_explains() -> None:
    """The decode tool calls STS DecodeAuthorizationMessage (the loopback double, real boto3)."""
    from diagnostics.testing import StsDouble, decoded_message, fake_blob

    blob = fake_blob("mcp")
    answer_of = lambda b, call: decoded_message(  # noqa: E731
        action="s3:GetObject",
        resource="arn:aws:s3:::reports/q3.csv",
        principal_arn="arn:aws:iam::123456789012:user/alice",
    )
    with StsDouble(default=answer_of) as sts:
        params = _params()
        params.env = {
            **(params.env or {}),
            "AWS_ENDPOINT_URL_STS": sts.endpoint_url,
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

        async def call() -> Any:
            async with (
                stdio_client(params) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                text = f"Encoded authorization failure message: {blob}\n"
                return await session.call_tool("decode_authorization_message", {"text": text})

        result = anyio.run(call)
        calls = [c.encoded_message for c in sts.calls]
    assert calls == [blob]
    d = _structured(result)["diagnoses"][0]
    assert d["decode_error"] is None
    assert d["untrusted"]["decoded"]["context"]["action"] == "s3:GetObject"
    assert d["untrusted"]["resource"] == "arn:aws:s3:::reports/q3.csv"


@pytest.mark.slow
def test_the_decode_tool_resolves_an_authorization_id() -> None:
    """An Access Troubleshooter ID in the pasted text is resolved (loopback iam-toolbox double)."""
    from diagnostics.testing.toolbox_double import ToolboxDouble
    from diagnostics.testing.toolbox_samples import ACCOUNT, SCP_DOCUMENTS, scp_deny_details

    auth_id = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"
    text = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/AppDeployer/ci-run-4821 is not authorized "
        "to perform: s3:PutObject on resource: arn:aws:s3:::example-artifacts/build/app-0.zip "
        "with an explicit deny in a service control policy. Go to https://us-east-1.console."
        f"aws.amazon.com/iam/home?region=us-east-1#/authorization-details/{auth_id} for complete "
        "details, or call the GetRequestAuthorizationDetails API with the following "
        f"authorization id: {auth_id}\n"
    )
    with ToolboxDouble() as toolbox:
        toolbox.add_details(auth_id, scp_deny_details(), SCP_DOCUMENTS, account=ACCOUNT)
        params = _params()
        params.env = {
            **(params.env or {}),
            # botocore's per-service endpoint variable (service id "IAM Toolbox").
            "AWS_ENDPOINT_URL_IAM_TOOLBOX": toolbox.endpoint_url,
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

        async def call() -> Any:
            async with (
                stdio_client(params) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await session.call_tool("decode_authorization_message", {"text": text})

        result = anyio.run(call)
    d = _structured(result)["diagnoses"][0]
    assert d["authorization_error"] is None
    assert d["untrusted"]["authorization_id"] == auth_id
    assert d["untrusted"]["authorization_details"]["evaluations"]
    explanation = " ".join(f["explanation"] for f in d["untrusted"]["findings"])
    assert "SCP" in explanation
