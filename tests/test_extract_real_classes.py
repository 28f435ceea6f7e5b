"""Regression cases for the reader's tolerance classes (issue 11), each from a real paste.

Every case is a short snippet shaped like one that a user pasted into a public
thread (its URL is beside it), and the fields a careful reader takes from it.
The snippets go through ``extract_text``, the same line assembler ``scan``
uses.  A field absent from an expectation is not checked; ``None`` must be null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from diagnostics.extract import extract_path, extract_text
from diagnostics.model import Failure, InputStats


@dataclass(frozen=True)
class Case:
    id: str
    url: str
    text: str
    expect: list[dict[str, Any]] = field(default_factory=list)


def _view(f: Failure) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "principal_arn": f.principal_arn,
        "principal_text": f.principal_text,
        "account_id": f.account_id,
        "action": f.action,
        "resource": f.resource,
        "resource_text": f.resource_text,
        "policy_type": f.policy_type,
        "policy_arn": f.policy_arn,
        "explicit_deny": f.explicit_deny,
        "truncated": f.truncated,
        "error_code": f.error_code,
        "operation": f.operation,
        "encoded_message": f.encoded_message,
    }


def _unique(failures: list[Failure]) -> list[Failure]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in failures:
        if f.dedup_key() not in seen:
            seen.add(f.dedup_key())
            out.append(f)
    return out


def check(case: Case) -> list[Failure]:
    """The case's failures as ``scan`` reports them (its action from the operation too)."""
    from diagnostics.diagnose.pipeline import infer_action

    stats = InputStats()
    found = [infer_action(f) for f in _unique(extract_text(case.text, "paste.txt", stats))]
    views = [_view(f) for f in found]
    assert len(views) == len(case.expect), views
    for got, want in zip(views, case.expect, strict=True):
        for key, value in want.items():
            assert got[key] == value, (key, got)
    return found


# -- class 1: the EC2 sentence outside the botocore wrapper ------------------

EC2_CASES = [
    # https://github.com/kubernetes-sigs/cluster-api-provider-aws/issues/815
    Case(
        "go-sdk-v1-status-line",
        "https://github.com/kubernetes-sigs/cluster-api-provider-aws/issues/815",
        "E0610 08:12:02.487821       1 controller.go:134] Error reconciling cluster object "
        'test1; failed to reconcile network for cluster "test1": failed to create new vpc: '
        "failed to set vpc attributes: UnauthorizedOperation: You are not authorized to "
        "perform this operation.\n"
        "\tstatus code: 403, request id: cc277ef7-2f64-49e3-9426-bb87acfeee88\n",
        [{"kind": "plain", "error_code": "UnauthorizedOperation", "principal_arn": None}],
    ),
    # https://github.com/eksctl-io/eksctl/issues/365 (CloudFormation events via eksctl)
    Case(
        "cloudformation-api-prefix",
        "https://github.com/eksctl-io/eksctl/issues/365",
        '2018-12-29T00:04:53Z [✖]  AWS::EC2::VPC/VPC: CREATE_FAILED – "API: ec2:DescribeVpcs '
        'You are not authorized to perform this operation."\n'
        '2018-12-29T00:04:53Z [✖]  AWS::EC2::EIP/NATIP: CREATE_FAILED – "API: '
        'ec2:describeAddresses You are not authorized to perform this operation."\n',
        [
            {"kind": "plain", "action": "ec2:DescribeVpcs", "resource": None},
            {"kind": "plain", "action": "ec2:DescribeAddresses", "explicit_deny": None},
        ],
    ),
    # https://github.com/webiny/webiny-js/issues/2953 (Pulumi over the Terraform provider)
    Case(
        "terraform-reading-ec2",
        "https://github.com/webiny/webiny-js/issues/2953",
        "        * error reading EC2 VPC (--) ClassicLinkEnabled: UnauthorizedOperation: You are "
        "not authorized to perform this operation.\n"
        "        status code: 403, request id:\n",
        [{"kind": "plain", "error_code": "UnauthorizedOperation"}],
    ),
    # https://github.com/StreisandEffect/streisand/issues/1618 (boto2's raw XML reply)
    Case(
        "xml-error-document",
        "https://github.com/StreisandEffect/streisand/issues/1618",
        "An exception occurred during task execution. To see the full traceback, use -vvv. The "
        "error was: <Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are "
        "not authorized to perform this operation.</Message></Error></Errors><RequestID>"
        "a1c6396c-f067-4e6b-bc27-aeebaf780b68</RequestID></Response>\n",
        [{"kind": "plain", "action": None}],
    ),
    # https://github.com/tensult/cloud-reports/issues/74 (JS SDK v2)
    Case(
        "js-sdk-v2-code-prefix",
        "https://github.com/tensult/cloud-reports/issues/74",
        "[ERROR] aws.ec2.EC2InstancesCollector failed UnauthorizedOperation: You are not "
        "authorized to perform this operation.\n"
        "    at Request.extractError (/home/ec2-user/cloud-reports/node_modules/aws-sdk/lib/"
        "services/ec2.js:50:35)\n",
        [{"kind": "plain", "error_code": "UnauthorizedOperation"}],
    ),
    # https://github.com/serverless/serverless/issues/2055 (the sentence wrapped mid-phrase)
    Case(
        "serverless-wrapped-sentence",
        "https://github.com/serverless/serverless/issues/2055",
        "     - Your access has been denied by EC2, please make sure\n"
        "     your request credentials have permission to DescribeSecurityGroups\n"
        "     for xxxx. EC2 Error Code: UnauthorizedOperation.\n"
        "     EC2 Error Message: You are not authorized to perform\n"
        "     this operation..\n",
        [{"kind": "plain", "principal_arn": None}],
    ),
    # Packer's documentation: the builder's words name the EC2 call, nothing else does.
    Case(
        "packer-docs-bare-sentence",
        "https://src.isharkfly.com/iSharkFly-Docs/packer-cn/blame/commit/99061b96d6267033437d7d9d1698906264a9328f/website/source/docs/builders/amazon.html.markdown",
        "==> amazon-ebs: Error launching source instance: You are not authorized to perform "
        "this operation.\n",
        [{"kind": "plain", "operation": "RunInstances"}],
    ),
]

NEGATIVES = [
    # https://github.com/CDCgov/prime-reportstream/issues/12209 (Azure Storage, not AWS)
    Case(
        "azure-storage-403",
        "https://github.com/CDCgov/prime-reportstream/issues/12209",
        "This request is not authorized to perform this operation.\n"
        "RequestId:eac84bcc-f01e-0034-433b-1623fc000000\n"
        "Status: 403 (This request is not authorized to perform this operation.)\n"
        "ErrorCode: AuthorizationFailure\n",
    ),
    Case(
        "prose-you-are-not-authorized",
        "synthetic: documentation prose",
        "If you see You are not authorized to perform this operation, ask your admin.\n",
    ),
    Case(
        "doc-placeholder-blob",
        "synthetic: documentation prose",
        "If the output says Encoded authorization failure message: FR4gBD... decode it.\n",
    ),
]


@pytest.mark.parametrize("case", EC2_CASES, ids=[c.id for c in EC2_CASES])
def test_ec2_sentence_outside_the_cli_wrapper(case: Case) -> None:
    """EC2's bare refusal sentence is one failure wherever a tool printed it."""
    check(case)


@pytest.mark.parametrize("case", NEGATIVES, ids=[c.id for c in NEGATIVES])
def test_lookalikes_are_not_failures(case: Case) -> None:
    """Other products' refusals and documentation prose report nothing."""
    check(case)


# -- class 3: a principal that is not a clean ARN ------------------------------

PRINCIPAL_CASES = [
    Case(
        "redacted-id-brackets",
        "https://github.com/ryanto/next-s3-upload/issues/182",
        "AccessDenied: User: arn:aws:iam::[ID] is not authorized to perform: "
        "sts:GetFederationToken on resource: arn:aws:sts::[ID]:federated-user/S3UploadWebToken\n",
        [
            {
                "kind": "plain",
                "principal_arn": None,
                "principal_text": "arn:aws:iam::[ID]",
                "account_id": None,
                "action": "sts:GetFederationToken",
                "resource": None,
                "resource_text": "arn:aws:sts::[ID]:federated-user/S3UploadWebToken",
                "policy_type": None,
                "explicit_deny": None,
            }
        ],
    ),
    Case(
        "redacted-account-xxx",
        "https://github.com/amzn/selling-partner-api-docs/issues/564",
        "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the "
        "AssumeRole operation: User: arn:aws:iam::xxx:user/mc.my.inventory is not authorized to "
        "perform: sts:AssumeRole on resource: arn:aws:iam::xxx:role/AmazonOrders\n",
        [
            {
                "principal_arn": None,
                "principal_text": "arn:aws:iam::xxx:user/mc.my.inventory",
                "account_id": None,
                "action": "sts:AssumeRole",
                "resource": None,
                "resource_text": "arn:aws:iam::xxx:role/AmazonOrders",
                "operation": "AssumeRole",
            }
        ],
    ),
    Case(
        "perform-null",
        "https://github.com/aws/aws-cli/issues/6274",
        "botocore.errorfactory.AccessDeniedException: An error occurred (AccessDeniedException) "
        "when calling the CreateComponentVersion operation: User: arn:aws:iam::456012345600:user/"
        "Administrator is not authorized to perform: null\n"
        "\n"
        "An error occurred (AccessDeniedException) when calling the CreateComponentVersion "
        "operation: User: arn:aws:iam::456012345600:user/Administrator is not authorized to "
        "perform: null\n",
        [
            {
                "principal_arn": "arn:aws:iam::456012345600:user/Administrator",
                "account_id": "456012345600",
                # "perform: null": the action is the one the operation needs.
                "action": "greengrass:CreateComponentVersion",
                "resource": None,
                "operation": "CreateComponentVersion",
            }
        ],
    ),
    Case(
        "placeholders-from-a-pr",
        "https://github.com/aws-amplify/amplify-backend/pull/2258",
        "Error: Stack <stack> failed: ValidationError: User: <user-arn> is not authorized to "
        "perform: ssm:GetParameters on resource: <resource-arn> because no identity-based policy "
        "allows the ssm:GetParameters action\n",
        [
            {
                "principal_text": "<user-arn>",
                "principal_arn": None,
                "action": "ssm:GetParameters",
                "resource": None,
                "policy_type": "identity",
                "explicit_deny": False,
            }
        ],
    ),
    Case(
        "empty-principal",
        "issue 11 (class 3): 'User:  is not authorized' as pasted",
        "An error occurred (AccessDenied) when calling the ListBuckets operation: User:  is not "
        "authorized to perform: s3:ListAllMyBuckets because no identity-based policy allows the "
        "s3:ListAllMyBuckets action\n",
        [{"principal_text": "", "principal_arn": None, "action": "s3:ListAllMyBuckets"}],
    ),
    Case(
        "bare-name-and-space-in-redaction",
        "issue 11 (class 3): Cognito trigger name and 'xxxx :user' as pasted",
        "User: PostConfirmation is not authorized to perform: cognito-idp:AdminAddUserToGroup on "
        "resource: arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc\n"
        "User: arn:aws:iam::xxxx :user/xxxx is not authorized to perform: sqs:SendMessage on "
        "resource: arn:aws:sqs:us-east-1:xxxx:q\n",
        [
            {"principal_text": "PostConfirmation", "action": "cognito-idp:AdminAddUserToGroup"},
            {"principal_text": "arn:aws:iam::xxxx :user/xxxx", "action": "sqs:SendMessage"},
        ],
    ),
]


@pytest.mark.parametrize("case", PRINCIPAL_CASES, ids=[c.id for c in PRINCIPAL_CASES])
def test_unclean_principal_keeps_the_failure(case: Case) -> None:
    """A redacted, empty or bare principal keeps the failure and everything else it says."""
    found = check(case)
    for f in found:
        if f.principal_arn is None:
            assert any("principal" in note for note in f.parse_notes), f.parse_notes
        if f.action is None:
            assert any("action" in note for note in f.parse_notes), f.parse_notes


# -- class 2: a short, cut or empty blob ----------------------------------------

SHORT_BLOB_TEXT = (
    # Issue 11 (class 2): Terraform printed the phrase with nothing after it.
    "│ Error: creating EC2 Instance: UnauthorizedOperation: You are not authorized to perform "
    "this operation. Encoded authorization failure message: \n"
    "│ \tstatus code: 403, request id: 5f1ee1a2-0000-4000-8000-000000000001\n"
    # A person shortened the blob in a forum post.
    "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are "
    "not authorized to perform this operation. Encoded authorization failure message: fqZ8dN...\n"
)


def test_short_or_empty_blob_keeps_the_failure() -> None:
    """An empty or cut blob is still a failure: code, operation, truncated, and a note why."""
    found = check(
        Case(
            "short-blobs",
            "issue 11 (class 2)",
            SHORT_BLOB_TEXT,
            [
                {"kind": "encoded", "truncated": True, "encoded_message": None},
                {
                    "kind": "encoded",
                    "truncated": True,
                    "encoded_message": "fqZ8dN",
                    "operation": "RunInstances",
                    "error_code": "UnauthorizedOperation",
                },
            ],
        )
    )
    assert "empty" in found[0].parse_notes[0]
    assert "cut to 6 characters" in found[1].parse_notes[0]


def test_short_blobs_are_never_sent_to_sts() -> None:
    """Decoding a cut or empty blob makes no STS call and says it was cut off."""
    from diagnostics.decode import Decoder, DecodeSettings
    from diagnostics.diagnose.pipeline import Pipeline
    from diagnostics.testing import StsDouble

    failures = extract_text(SHORT_BLOB_TEXT)
    offline = list(Pipeline(None).diagnose(failures))
    assert all(d.decode_error and "cut off" in d.decode_error for d in offline)
    with StsDouble() as sts:
        settings = DecodeSettings(endpoint_url=sts.endpoint_url, max_per_second=1000.0)
        with Decoder(settings) as decoder:
            results = [decoder.decode(f) for f in failures]
        assert sts.call_count(None) == 0
    assert all(r.error and "cut off" in r.error for r in results)


# -- class 11: a log that starts with NUL bytes ----------------------------------


def test_log_after_a_nul_hole_is_read(tmp_path: Path) -> None:
    """A copytruncate hole (NULs, no newline) before the first line does not make it binary."""
    line = (
        "2024-05-01T12:00:00Z ERROR User: arn:aws:iam::123456789012:user/ci is not authorized "
        "to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no identity-based "
        "policy allows the s3:GetObject action\n"
    )
    path = tmp_path / "app.log"
    path.write_bytes(b"\x00" * 20_000 + line.encode() + b"\x00" * 5_000)
    stats = InputStats()
    found = list(extract_path(path, stats))
    assert [f.action for f in found] == ["s3:GetObject"]
    assert found[0].principal_arn == "arn:aws:iam::123456789012:user/ci"
    assert not any("binary" in w for w in stats.warnings)


def test_real_binary_is_still_skipped(tmp_path: Path) -> None:
    """NULs mixed into the content (an ELF header, a packed file) still mark a binary."""
    path = tmp_path / "core"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50 + b"User: x is not authorized\n")
    stats = InputStats()
    assert list(extract_path(path, stats)) == []
    assert any("binary" in w for w in stats.warnings)


# -- classes 4-6: wraps, Markdown/HTML, other wordings ----------------------------

WRAP_MARKUP_WORDING_CASES = [
    Case(
        "tui-border-inside-arn",
        "https://github.com/kubernetes-sigs/cluster-api-provider-aws/issues/2166",
        "`failed to describe AutoScalingGroup for nodegroup: AccessDenied: User: "
        "arn:aws:iam::123456: │\n"
        "│ user/bootstrapper.cluster-api-provider-aws.sigs.k8s.io is not authorized to perform: "
        "autoscaling:DescribeAutoScalingGroups`\n",
        [
            {
                "principal_text": "arn:aws:iam::123456:user/bootstrapper.cluster-api-provider-aws"
                ".sigs.k8s.io",
                "action": "autoscaling:DescribeAutoScalingGroups",
            }
        ],
    ),
    Case(
        "sentence-wrapped-at-every-blank-and-token",
        "issue 11 (class 4): 'cloudforma\\ntion', 'us-east-\\n1', 'because no\\nidentity-based'",
        "An error occurred (AccessDenied) when calling the DescribeStacks operation: User: "
        "arn:aws:sts::123456789012:assumed-role/deploy/ci is not authorized to perform: "
        "cloudforma\ntion:DescribeStacks on resource: arn:aws:cloudformation:us-east-\n"
        "1:123456789012:stack/app/* because no\n"
        "identity-based policy allows the cloudformation:DescribeStacks action\n",
        [
            {
                "action": "cloudformation:DescribeStacks",
                "resource": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/*",
                "policy_type": "identity",
                "explicit_deny": False,
            }
        ],
    ),
    Case(
        "cli-wrapped-before-operation",
        "issue 11 (class 4): CLI output wrapped between the operation name and 'operation:'",
        "An error occurred (AccessDenied) when calling the GetObject\n"
        "operation: User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
        "s3:GetObject on resource: arn:aws:s3:::b/k because no identity-based policy allows the "
        "s3:GetObject action\n",
        [{"operation": "GetObject", "action": "s3:GetObject", "error_code": "AccessDenied"}],
    ),
    Case(
        "deep-indented-column-wrap",
        "issue 11 (class 4): column-wrapped fragments under deep indentation",
        "                      User: arn:aws:iam::123456789012:user/bob is not\n"
        "                      authorized to perform: s3:GetObject on resource:\n"
        "                      arn:aws:s3:::b/k with an explicit deny in a service\n"
        "                      control policy\n",
        [
            {
                "principal_arn": "arn:aws:iam::123456789012:user/bob",
                "resource": "arn:aws:s3:::b/k",
                "policy_type": "scp",
                "explicit_deny": True,
            }
        ],
    ),
    Case(
        "markdown-bold-across-lines",
        "https://github.com/aws-actions/configure-aws-credentials/issues/1293",
        "**Assuming role with OIDC\n"
        "Error: Could not assume role with OIDC: Not authorized to perform "
        "sts:AssumeRoleWithWebIdentity**\n",
        [{"action": "sts:AssumeRoleWithWebIdentity"}],
    ),
    Case(
        "markdown-bold-inside-cloudformation-event",
        "https://github.com/eksctl-io/eksctl/issues/834",
        "**2019-06-03T12:03:56Z [✖]  AWS::AutoScaling::AutoScalingGroup/NodeGroup: CREATE_FAILED – "
        '"API: autoscaling:CreateAutoScalingGroup You are not authorized to use** launch '
        'template: eksctl-kube-test-2-nodegroup-test-k8s-nodes"\n',
        [{"action": "autoscaling:CreateAutoScalingGroup", "resource": None}],
    ),
    Case(
        "html-entities-and-backticks",
        "issue 11 (class 5): a web page's &quot; and a backtick-quoted ARN",
        "error: &quot;User: `arn:aws:iam::123456789012:user/web` is not authorized to perform: "
        "`s3:PutObject` on resource: `arn:aws:s3:::site/index.html` because no identity-based "
        "policy allows the s3:PutObject action&quot;\n",
        [
            {
                "principal_arn": "arn:aws:iam::123456789012:user/web",
                "action": "s3:PutObject",
                "resource": "arn:aws:s3:::site/index.html",
            }
        ],
    ),
    Case(
        "explicit-deny-without-policy-type",
        "https://github.com/nccgroup/ScoutSuite/issues/727",
        "ERROR utils.py L58: Failed to get all pages from paginator for the iam service: An error "
        "occurred (AccessDenied) when calling the ListGroups operation: User: "
        "arn:aws:iam::304349946642:user/Scout is not authorized to perform: iam:ListGroups on "
        "resource: arn:aws:iam::304349946642:group/ with an explicit deny\n",
        [
            {
                "explicit_deny": True,
                "policy_type": None,
                "resource": "arn:aws:iam::304349946642:group/",
            }
        ],
    ),
    Case(
        "action-without-service-prefix",
        "https://github.com/opnsense/plugins/issues/2161",
        "`/services_dyndns.php: Route53::listResourceRecordSets(): Sender - AccessDenied: User: "
        "arn:aws:iam::454........:user/some_user is not authorized to perform: GetHostedZone on "
        "resource: arn:aws:route53:::hostedzone/rrset`\n",
        [
            {
                "principal_text": "arn:aws:iam::454........:user/some_user",
                "action": "route53:GetHostedZone",
                "resource": "arn:aws:route53:::hostedzone/rrset",
            }
        ],
    ),
    Case(
        "empty-principal-after-code",
        "https://github.com/kubernetes-sigs/aws-load-balancer-controller/issues/3399",
        "Warning  FailedDeployModel  6s (x5 over 46s)  service  (combined from similar events): "
        "Failed deploy model due to AccessDenied:  is not authorized to perform: "
        "elasticloadbalancing:AddTags on resource: arn:aws:elasticloadbalancing:us-east-1:* "
        "because no identity-based policy allows the elasticloadbalancing:AddTags action\n",
        [{"principal_text": "", "action": "elasticloadbalancing:AddTags", "explicit_deny": False}],
    ),
    Case(
        "bare-name-in-markdown-quote",
        "https://github.com/functionalone/serverless-iam-roles-per-function/issues/106",
        "> PostConfirmation is not authorized to perform: SNS:Publish on\n"
        "> resource: +358.... because no identity-based policy allows the\n"
        "> SNS:Publish action\n",
        [
            {
                "principal_text": "PostConfirmation",
                "action": "sns:Publish",
                "policy_type": "identity",
            }
        ],
    ),
    Case(
        "sqs-access-to-resource-with-quote-mark",
        "https://github.com/aws/aws-sdk-php/issues/188",
        "> AWS Error Code: AccessDenied, Status Code: 403, AWS Request ID: > a8156b52-2952-53fa-"
        "87d3-2043726a2bb8, AWS Error Type: client, AWS Error > Message: Access to the resource "
        "https://sqs.us-west-2.amazonaws.com/ is > denied., User-Agent: aws-sdk-php2/2.3.4\n",
        [{"kind": "plain", "error_code": "AccessDenied", "action": None, "resource": None}],
    ),
    Case(
        "js-sdk-call-failed",
        "issue 11 (class 6): the JS SDK / CDK 'Call failed' trace",
        'Call failed: getBucketLocation({"Bucket":"cdk-assets"}) => Access Denied '
        "(code=AccessDenied)\n",
        [{"kind": "plain", "operation": "GetBucketLocation", "error_code": "AccessDenied"}],
    ),
]


@pytest.mark.parametrize(
    "case", WRAP_MARKUP_WORDING_CASES, ids=[c.id for c in WRAP_MARKUP_WORDING_CASES]
)
def test_wraps_markup_and_other_wordings(case: Case) -> None:
    """Wrapped, marked-up or differently worded refusals give the same fields as clean ones."""
    check(case)


# -- class 7: decoded messages that are not valid JSON -------------------------------

DECODED_CASES = [
    Case(
        "jq-output-with-elision",
        "issue 11 (class 7): jq output with a '(...)' elision",
        "$ aws sts decode-authorization-message --encoded-message $MSG --query DecodedMessage "
        "--output text | jq .\n"
        '{\n  "allowed": false,\n  "explicitDeny": false,\n  "matchedStatements": {\n'
        '    "items": []\n  },\n  "context": {\n    "principal": {\n'
        '      "id": "AROAEXAMPLE:ci",\n'
        '      "arn": "arn:aws:sts::123456789012:assumed-role/ci/runner"\n    },\n'
        '    "action": "ec2:RunInstances",\n'
        '    "resource": "arn:aws:ec2:us-east-1:123456789012:instance/*",\n'
        '    "conditions": {\n      "items": [\n        (...)\n      ]\n    }\n  }\n}\n',
        [
            {
                "kind": "decoded",
                "principal_arn": "arn:aws:sts::123456789012:assumed-role/ci/runner",
                "action": "ec2:RunInstances",
                "resource": "arn:aws:ec2:us-east-1:123456789012:instance/*",
            }
        ],
    ),
    Case(
        "inline-message-cut-off",
        "issue 11 (class 7): a one-line decoded message cut before its closing braces",
        'Decoded: {"allowed":false,"explicitDeny":true,"matchedStatements":{"items":[{'
        '"statementId":"DenyAll","effect":"DENY", ...}]},"context":{"principal":{"id":"AIDAX",'
        '"arn":"arn:aws:iam::123456789012:user/bob"},"action":"s3:PutObject","resource":'
        '"arn:aws:s3:::b/k","conditions":{"items":[{"key":"aws:Region","values":{"items":[{'
        '"value":"us-east-1"}]}},{"key":"aws:\n',
        [{"kind": "decoded", "action": "s3:PutObject", "explicit_deny": True}],
    ),
    Case(
        "half-undone-escapes",
        "issue 11 (class 7): the CLI envelope with some escapes undone by hand",
        '{\n  "DecodedMessage": "{\\"allowed\\":false,"explicitDeny":false,\\"matchedStatements'
        '\\":{\\"items\\":[]},\\"context\\":{\\"principal\\":{\\"arn\\":\\"arn:aws:iam::'
        '123456789012:user/bob\\"},\\"action\\":\\"iam:CreateRole\\",\\"resource\\":\\"'
        'arn:aws:iam::123456789012:role/x\\"}}"\n}\n',
        [
            {
                "kind": "decoded",
                "action": "iam:CreateRole",
                "resource": "arn:aws:iam::123456789012:role/x",
            }
        ],
    ),
]


@pytest.mark.parametrize("case", DECODED_CASES, ids=[c.id for c in DECODED_CASES])
def test_decoded_message_that_is_not_json(case: Case) -> None:
    """An elided, cut or half-unescaped decoded message keeps its principal, action, resource."""
    check(case)


# -- more wordings and tool frames seen in the real corpus ---------------------------

MORE_CASES = [
    Case(
        "cloudtrail-console-row",
        "https://github.com/github-aws-runners/terraform-aws-github-runner/issues/888",
        "arn:aws:sts::xxxxx:assumed-role/sbx-action-syncer-lambda-role/awslambda_744_2021061211444"
        "8101  620a2b93-c9d3-4edc-81e2-ea1570523282  ec2.amazonaws.com  CreateNetworkInterface  "
        "Client.UnauthorizedOperation  You are not authorized to perform this operation.\n",
        [
            {
                "principal_text": "arn:aws:sts::xxxxx:assumed-role/sbx-action-syncer-lambda-role/"
                "awslambda_744_20210612114448101",
                "action": "ec2:CreateNetworkInterface",
                "error_code": "Client.UnauthorizedOperation",
            }
        ],
    ),
    Case(
        "lambda-execution-role-wording",
        "https://github.com/aws/aws-sam-cli/issues/617",
        "The provided execution role does not have permissions to call CreateNetworkInterface on "
        "EC2 (Service: AWSLambda; Status Code: 400; Error Code: InvalidParameterValueException; "
        "Request ID: 944fe586-a15b-11e8-a8ae-8975581ab887)\n",
        [{"action": "ec2:CreateNetworkInterface", "principal_arn": None, "resource": None}],
    ),
    Case(
        "missing-permissions-list",
        "https://github.com/awsdocs/aws-auto-scaling-user-guide/pull/3",
        "    User is missing the following permissions: [ecs:UpdateService]\n",
        [{"action": "ecs:UpdateService", "principal_arn": None}],
    ),
    Case(
        "php-sdk-glued-xml-body",
        "https://github.com/aws/aws-sdk-php/issues/2141",
        'Error executing "ChangeResourceRecordSets" on "https://route53.amazonaws.com/2013-04-01/'
        'hostedzone/Z38NKT9BP95V3O/rrset/"; AWS HTTP error: Client error: `POST https://route53.'
        "amazonaws.com/2013-04-01/hostedzone/Z38NKT9BP95V3O/rrset/` resulted in a `403 Forbidden` "
        "response: Sender SenderAccessDeniedUser: arn:aws:iam::457910130955:user/ is not "
        "authorized to access this resourceaa78f434-adcc-4438-bc9\n",
        [
            {
                "principal_text": "arn:aws:iam::457910130955:user/",
                "account_id": "457910130955",
                "action": "route53:ChangeResourceRecordSets",
                "error_code": "AccessDenied",
            }
        ],
    ),
    Case(
        "sts-session-credentials",
        "https://github.com/aws/aws-sdk-php/issues/1876",
        "~~~\nAccessDenied (client): Cannot call GetSessionToken with session credentials\n~~~\n",
        [{"action": "sts:GetSessionToken", "operation": "GetSessionToken"}],
    ),
    Case(
        "tool-banner-confirms-bare-sentence",
        "https://github.com/test-kitchen/kitchen-ec2/issues/120",
        "D      Creating EC2 Instance..\n"
        ">>>>>> ------Exception-------\n"
        ">>>>>> Class: Kitchen::ActionFailed\n"
        ">>>>>> Message: Failed to complete #create action: [You are not authorized to perform "
        "this operation.]\n",
        [{"kind": "plain", "action": None, "principal_arn": None}],
    ),
    Case(
        "packer-launching-source-instance",
        "https://github.com/hashicorp/packer/pull/5415",
        "Build 'amazon-ebs' errored: Error launching source instance: UnauthorizedOperation: You "
        "are not authorized to perform this operation.\n",
        [{"operation": "RunInstances", "error_code": "UnauthorizedOperation"}],
    ),
    Case(
        "placeholders-with-blanks-in-arns",
        "https://github.com/boostchicken/spring-data-dynamodb/issues/558",
        "User: arn:aws:sts::<account id>:assumed-role/<env>/aws-sdk-java-1649071401744 is not "
        "authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:ap-southeast-1:"
        "<account id>:table/<table name> (Service: AmazonDynamoDBv2; Status Code: 400; Error "
        "Code: AccessDeniedException; Request ID: A400G)\n",
        [
            {
                "principal_text": "arn:aws:sts::<account id>:assumed-role/<env>/aws-sdk-java-"
                "1649071401744",
                "resource": None,
                "resource_text": "arn:aws:dynamodb:ap-southeast-1:<account id>:table/<table name>",
            }
        ],
    ),
    Case(
        "name-alone-on-its-row",
        "https://docs.amazonaws.cn/en_us/awssupport/latest/user/security_iam_troubleshoot.html",
        "role to the service.\nUser: arn:aws-cn:iam::123456789012:user/\nmarymajor\n"
        "is not authorized to perform: iam:PassRole\n",
        [
            {
                "principal_arn": "arn:aws-cn:iam::123456789012:user/marymajor",
                "account_id": "123456789012",
                "action": "iam:PassRole",
            }
        ],
    ),
    Case(
        "sentence-cut-after-on-resource",
        "https://github.com/oslokommune/okctl/issues/243",
        "token-file-web-identity is not authorized to perform: secretsmanager:GetSecretValue on "
        "resource\n\nBy adding secretsmanager:GetSecretValue permission it works\n",
        [
            {
                "principal_text": "token-file-web-identity",
                "action": "secretsmanager:GetSecretValue",
                "resource": None,
                "truncated": True,
            }
        ],
    ),
    Case(
        "cli-frame-cut-before-operation",
        "https://github.com/nccgroup/ScoutSuite/issues/727",
        "ERROR services.py L55: Could not fetch cloudwatch configuration: An error occurred "
        "(UnauthorizedOperation) when calling the\n",
        [{"kind": "plain", "error_code": "UnauthorizedOperation", "truncated": True}],
    ),
    Case(
        "iam-policy-arn-resource-wording",
        "issue 11 (class 6): IAM's 'policy arn:...' resource wording",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:GetPolicy on "
        "resource: policy arn:aws:iam::123456789012:policy/deploy because no identity-based "
        "policy allows the iam:GetPolicy action\n",
        [{"resource": "arn:aws:iam::123456789012:policy/deploy", "policy_type": "identity"}],
    ),
]


@pytest.mark.parametrize("case", MORE_CASES, ids=[c.id for c in MORE_CASES])
def test_more_wordings_and_frames(case: Case) -> None:
    """Other services' wordings and the tools' own frames keep the action and principal."""
    check(case)


def test_bodyless_403_of_any_call_is_a_denial() -> None:
    """``An error occurred (403) when calling the GetObject operation: Forbidden`` is read."""
    (f,) = extract_text(
        "botocore.exceptions.ClientError: An error occurred (403) when calling the GetObject "
        "operation: Forbidden\n"
    )
    assert (f.error_code, f.operation) == ("403", "GetObject")


def test_403_with_another_reason_is_not_read() -> None:
    """A ``(403)`` frame whose message is not the status's reason stays unread (no evidence)."""
    text = "An error occurred (403) when calling the GetObject operation: see the docs\n"
    assert extract_text(text) == []


def test_sentence_cut_inside_its_action_is_kept() -> None:
    """``... is not authorized to perform: sts (truncated...)`` keeps the failure, cut."""
    (f,) = extract_text(
        '{"Error":{"Code":"AccessDenied","Message":"User: arn:aws:iam::111122223333:user/app '
        "is not authorized to perform: sts (truncated...)\n"
    )
    assert (f.action, f.truncated, f.principal_arn) == (
        None,
        True,
        "arn:aws:iam::111122223333:user/app",
    )
    assert any("cut inside its action" in n for n in f.parse_notes)


def test_prose_about_a_service_is_not_a_cut_action() -> None:
    """Prose "not authorized to perform: sts calls here" is no cut sentence."""
    assert extract_text("You are not authorized to perform: sts calls here.\n") == []


#: IAM's reason clauses (docs: "Troubleshoot access denied error messages", the
#: message format "... because no <type> policy allows the <action> action" and
#: "... with an explicit deny in a <type> policy"), here cut where a paste stopped.
_SENTENCE = (
    "User: arn:aws:iam::111122223333:user/app is not authorized to perform: iam:CreateUser "
    "on resource: arn:aws:iam::111122223333:user/new "
)


@pytest.mark.parametrize(
    ("tail", "policy_type", "explicit"),
    [
        ("because no identity-b", "identity", False),
        ("because no resource-based policy", "resource", False),
        ("with an explicit deny in a service con", "scp", True),
        ("because no re", None, False),  # resource-based or resource control: not guessed
        ("because no", None, False),
    ],
)
def test_a_reason_cut_where_the_paste_stops_says_what_it_began_to(
    tail: str, policy_type: str | None, explicit: bool
) -> None:
    """The first words of a cut reason say implicit or explicit; a cut word that
    starts one policy type only names it; the failure is marked truncated."""
    (f,) = extract_text(f'{{"errorMessage": "{_SENTENCE}{tail}\n')
    assert (f.policy_type, f.explicit_deny, f.truncated) == (policy_type, explicit, True)


def test_a_reason_followed_by_more_text_is_not_cut() -> None:
    """A reason that stops and other words follow is no cut: nothing is read from it."""
    (f,) = extract_text(f"{_SENTENCE}because no identity-b and so on. More text here.\n")
    assert (f.policy_type, f.truncated) == (None, False)


#: AppSync's GraphQL response when it cannot assume a data source's role: an entry of
#: "errors" with "errorType" and "message" (AppSync developer guide, "Resolver errors").
_APPSYNC = """{
  "data": {"createMessage": null},
  "errors": [
    {
      "path": ["createMessage"],
      "errorType": "Unauthorized",
      "message": "Unable to assume role arn:aws:iam::111122223333:role/service-role/api-role."
    }
  ]
}
"""


def test_appsync_unable_to_assume_its_data_source_role() -> None:
    """sts:AssumeRole refused on the role named, the error type its code."""
    (f,) = extract_text(_APPSYNC)
    assert (f.action, f.resource, f.error_code) == (
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/service-role/api-role",
        "Unauthorized",
    )


def test_unable_to_assume_role_without_an_authorization_code_is_not_read() -> None:
    """A product's own "Unable to assume role" line (a docs page, a tool's log) is no refusal."""
    text = "Error:\nUnable to assume role arn:aws:iam::111122223333:role/Scheduler\nCauses:\n"
    assert extract_text(text) == []


# CloudFormation's resource status reason is "API: <service>:<Operation> <the service's
# message>"; S3 refuses with its bare "Access Denied" (stack events as the console, the
# CLI's describe-stack-events table and CDK print them).
_CFN_BARE = [
    "MyBucketPolicy  CREATE_FAILED  API: s3:PutBucketPolicy Access Denied",
    "ArtifactCopyPolicy | CREATE_FAILED | API: s3:PutBucketPolicy Access Denied",
    "Status Reason: API: s3:CreateBucket Access Denied",
    "failed creation: ROLLBACK_COMPLETE: API: s3:PutBucketPolicy Access Denied`",
]


@pytest.mark.parametrize("line", _CFN_BARE)
def test_cloudformation_api_prefix_with_a_bare_refusal(line: str) -> None:
    """The call CloudFormation made is the operation, S3 its service (the action
    s3:<Operation> is inferred from them); nothing names the principal or code."""
    (f,) = extract_text(line + "\n")
    op = "CreateBucket" if "CreateBucket" in line else "PutBucketPolicy"
    assert (f.kind, f.operation, f.event_source, f.principal_arn, f.error_code) == (
        "plain",
        op,
        "s3",
        None,
        None,
    )


def test_cloudformation_api_prefix_without_a_refusal_is_not_read() -> None:
    """Another message after the call (a missing bucket, "Access Denied" glued into a
    longer word) is no bare refusal."""
    text = (
        "MyBucketPolicy  CREATE_FAILED  API: s3:PutBucketPolicy The specified bucket does "
        "not exist\nAPI: s3:PutBucketPolicy Access Deniedly\n"
    )
    assert extract_text(text) == []


def test_a_python2_repr_of_a_json_protocol_body() -> None:
    """boto2's JSONResponseError prints the body as a Python 2 dict: the resource ends at
    its string's closing quote, and "__type" keeps the namespace botocore drops at "#"."""
    text = (
        "JSONResponseError: 400 Bad Request\n"
        "{u'Message': u'User: arn:aws:iam::111122223333:user/reader is not authorized to "
        "perform: dynamodb:ListTables on resource: *', "
        "u'__type': u'com.amazon.coral.service#AccessDeniedException'}\n"
    )
    (f,) = extract_text(text)
    assert (f.action, f.resource, f.error_code) == (
        "dynamodb:ListTables",
        "*",
        "AccessDeniedException",
    )


@pytest.mark.parametrize(
    ("placeholder", "arn"),
    [
        ("{user id}", "arn:aws:glue:eu-central-1:{user id}:database/sales"),
        ("[account number]", "arn:aws:glue:eu-central-1:[account number]:database/sales"),
        ("<account id>", "arn:aws:glue:eu-central-1:<account id>:database/sales"),
    ],
)
def test_a_placeholder_with_a_blank_stays_inside_the_resource(placeholder: str, arn: str) -> None:
    """A blank inside an author's bracketed placeholder does not end the ARN: the resource
    is kept as written (as text, since it cannot go into a policy) and the reason is read."""
    text = (
        f"User: arn:aws:iam::111122223333:user/etl is not authorized to perform: glue:GetTable "
        f"on resource: {arn} because no identity-based policy allows the glue:GetTable action\n"
    )
    (f,) = extract_text(text)
    assert (f.resource, f.resource_text, f.policy_type) == (None, arn, "identity")


# CloudFormation refuses a template it cannot resolve for the caller with a ValidationError
# whose message is "AccessDenied. User doesn't have permission to call <action>" (SSM
# parameter types, AMI and key pair lookups); the CLI, the stack events and CDK print it.
@pytest.mark.parametrize(
    ("text", "action"),
    [
        (
            "An error occurred (ValidationError) when calling the CreateStack operation: "
            "AccessDenied. User doesn't have permission to call ssm:GetParameters\n",
            "ssm:GetParameters",
        ),
        (
            "AccessDenied. User doesn't have permission to call ec2:DescribeImages. "
            "Rollback requested by user.\n",
            "ec2:DescribeImages",
        ),
        (
            "stack failed: Error [ValidationError]: AccessDenied. User doesn't have permission "
            "to call ssm:GetParameters\n    at Request.extractError (query.js:50:29)\n",
            "ssm:GetParameters",
        ),
    ],
)
def test_cloudformation_says_the_user_may_not_call_an_action(text: str, action: str) -> None:
    (f,) = extract_text(text)
    assert (f.kind, f.action, f.principal_arn) == ("plain", action, None)


def test_prose_saying_someone_has_permission_to_call_is_no_refusal() -> None:
    text = "The deploy role does have permission to call ssm:GetParameters, so that is fine.\n"
    assert extract_text(text) == []


def test_sts_refusing_a_role_to_root_credentials() -> None:
    """STS's fixed refusal of AssumeRole called with a root user's keys, as the PHP SDK's
    Guzzle error prints the JSON body; the CLI prints the same message."""
    body = (
        "Client error: `POST https://sts.amazonaws.com/` resulted in a `403 Forbidden` "
        'response: {"Error":{"Code":"AccessDenied","Message":"Roles may not be assumed by '
        'root accounts.","Type":"Sender"},"RequestId":"9db1"}\n'
    )
    cli = (
        "An error occurred (AccessDenied) when calling the AssumeRole operation: "
        "Roles may not be assumed by root accounts.\n"
    )
    for text in (body, cli):
        (f,) = extract_text(text)
        assert (f.operation, f.event_source, f.error_code) == ("AssumeRole", "sts", "AccessDenied")


def test_a_java_sdk_class_named_after_a_refusal_code_is_one_whatever_its_message() -> None:
    """The Java SDK v2 names the exception after the service's error code; Lake Formation
    words its refusal "Access is not allowed." (no phrase the reader knows), still a refusal."""
    text = (
        "Caused by: software.amazon.awssdk.services.lakeformation.model.AccessDeniedException: "
        "Access is not allowed. (Service: LakeFormation, Status Code: 400, Request ID: "
        "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)\n"
    )
    (f,) = extract_text(text)
    assert (f.kind, f.error_code) == ("plain", "AccessDeniedException")


def test_a_java_sdk_class_of_another_code_still_needs_a_refusal_message() -> None:
    text = (
        "software.amazon.awssdk.services.glue.model.EntityNotFoundException: Table not found "
        "(Service: Glue, Status Code: 400, Request ID: 0f1e2d3c)\n"
    )
    assert extract_text(text) == []
