"""The slots of a denial (principal, action, resource, reason) as AWS and people write them."""

from __future__ import annotations

from diagnostics.extract import extract_text
from diagnostics.request.context import enrich


def test_a_bare_name_ending_in_user_is_kept_as_written() -> None:
    """``User: myUser is not authorized`` keeps ``myUser``: the name's tail is no ``User`` label."""
    (f,) = extract_text(
        "AccessDeniedException: User: myUser is not authorized to perform: ssm:GetParameter"
        " on resource: myResource/myParameter\n"
    )
    assert (f.principal_arn, f.principal_text) == (None, "myUser")


def test_a_pasted_decoded_message_with_redactions_keeps_them_as_text() -> None:
    """A decoded message with starred-out principal and resource gives no ARN and no account."""
    (found,) = extract_text(
        "The decoded message is as follows:\n"
        "{\n"
        '    "allowed": false,\n'
        '    "explicitDeny": false,\n'
        '    "matchedStatements": {\n'
        '        "items": []\n'
        "    },\n"
        '    "context": {\n'
        '        "principal": {\n'
        '            "id": "**:***",\n'
        '            "arn": "arn:aws:sts::**:assumed-role/karpenter-controller-****/***"\n'
        "        },\n"
        '        "action": "ec2:RunInstances",\n'
        '        "resource": "arn:aws:ec2:us-east-1:******:launch-template/lt-0638ed6a3b7addbf5",\n'
        '        "conditions": {\n'
        '            "items": []\n'
        "        }\n"
        "    }\n"
        "}\n"
    )
    f = enrich(found, found.decoded)  # as the pipeline reads a decoded message
    assert f.kind == "decoded"
    assert (f.principal_arn, f.principal_text) == (
        None,
        "arn:aws:sts::**:assumed-role/karpenter-controller-****/***",
    )
    assert (f.resource, f.resource_text) == (
        None,
        "arn:aws:ec2:us-east-1:******:launch-template/lt-0638ed6a3b7addbf5",
    )
    assert f.account_id is None


def test_a_decoded_action_without_its_service_takes_it_from_the_matched_statement() -> None:
    """A decoded ``"action": "RunInstances"`` is the matched statement's ``ec2:RunInstances``."""
    (found,) = extract_text(
        '{"allowed":false,"explicitDeny":true,"matchedStatements":{"items":[{"statementId":"D",'
        '"effect":"DENY","principals":{"items":[{"value":"AROA123456789EXAMPLE"}]},'
        '"principalGroups":{"items":[]},"actions":{"items":[{"value":"ec2:RunInstances"}]},'
        '"resources":{"items":[{"value":"*"}]},"conditions":{"items":[]}}]},'
        '"failures":{"items":[]},"context":{"principal":{"id":"AROA123456789EXAMPLE:Ana",'
        '"arn":"arn:aws:sts::111122223333:assumed-role/Developer/Ana"},"action":"RunInstances",'
        '"resource":"*","conditions":{"items":[]}}}\n'
    )
    assert enrich(found, found.decoded).action == "ec2:RunInstances"


def test_you_are_not_authorized_to_perform_an_action_names_it() -> None:
    """Athena's ``You are not authorized to perform: athena:X on the resource.`` is read."""
    (f,) = extract_text(
        "software.amazon.awssdk.services.athena.model.AthenaException: You are not authorized to"
        " perform: athena:GetTableMetadata on the resource. After your AWS administrator or you"
        " have updated your permissions, please try again. (Service: Athena, Status Code: 400,"
        " Request ID: d565803f-77bb-4aad-bf04-f9df881e47c5)\n"
    )
    assert (f.principal_arn, f.principal_text) == (None, None)
    assert (f.action, f.resource) == ("athena:GetTableMetadata", None)


def test_kms_resource_associated_with_this_ciphertext_keeps_the_reason() -> None:
    """KMS's ``on the resource associated with this ciphertext because ...`` keeps both parts."""
    (f,) = extract_text(
        "AccessDenied (client): User: arn:aws:sts::123456789012:assumed-role/app/s1 is not"
        " authorized to perform: kms:Decrypt on the resource associated with this ciphertext"
        " because no identity-based policy allows the kms:Decrypt action\n"
    )
    assert (f.resource, f.resource_text) == (None, "the resource associated with this ciphertext")
    assert (f.policy_type, f.explicit_deny) == ("identity", False)


def test_explicit_deny_before_a_closing_curly_quote() -> None:
    """``... with an explicit deny”`` (a quoted example) is an explicit deny."""
    (f,) = extract_text(
        "“An error occurred (KMS.AccessDeniedException) when calling the SendMessage operation:"
        " User: arn:aws:iam::123456789012:user/ops is not authorized to perform:"
        " kms:GenerateDataKey on resource: arn:aws:kms:us-east-1:123456789012:key/1234abcd"
        " with an explicit deny”\n"
    )
    assert f.explicit_deny is True


def test_sqs_names_the_queue_endpoint_as_written() -> None:
    """SQS's ``Access to the resource <url> is denied.`` keeps the URL as written."""
    (f,) = extract_text(
        "An error occurred (AccessDenied) when calling the SendMessage operation: Access to the"
        " resource https://sqs.us-east-1.amazonaws.com/ is denied.\n"
    )
    assert (f.resource, f.resource_text) == (None, "https://sqs.us-east-1.amazonaws.com/")


def test_a_sentence_cut_inside_the_action_keeps_its_principal() -> None:
    """``User: <arn> is not authorized to perform: st`` (a cut paste) keeps the principal."""
    (f,) = extract_text(
        "# Error output: An error occurred (AccessDenied) when calling the AssumeRole operation:"
        " User: arn:aws:iam::123456789012:user/testuser is not authorized to perform: st\n"
    )
    assert (f.principal_arn, f.account_id) == (
        "arn:aws:iam::123456789012:user/testuser",
        "123456789012",
    )
    assert f.truncated


def _resource_of(resource: str) -> tuple[str | None, str | None]:
    (f,) = extract_text(
        "An error occurred (AccessDenied) when calling the ListResourceRecordSets operation:"
        " User: arn:aws:iam::123456789012:user/ops is not authorized to perform:"
        f" route53:ListResourceRecordSets on resource: {resource}\n"
    )
    return f.resource, f.resource_text


def test_a_masked_or_placeholder_resource_id_is_kept_as_text() -> None:
    """A zone ID masked as ``XXXXXXX``, ``XXXXYYYYZZZ`` or ``ZONEID`` is no resource to grant."""
    for masked in ("XXXXXXX", "xxxxxxxxxxxxxx", "XXXXYYYYZZZ", "ZONEID"):
        arn = f"arn:aws:route53:::hostedzone/{masked}"
        assert _resource_of(arn) == (None, arn), masked


def test_a_real_hosted_zone_id_is_the_resource() -> None:
    """Route 53's own IDs (``Z02067303BNM3QIK0WKXX``, ``ZFZVNFRHXMOIV``) stay the resource."""
    for real in ("Z02067303BNM3QIK0WKXX", "ZFZVNFRHXMOIV", "Z1D633PJN98FT9"):
        arn = f"arn:aws:route53:::hostedzone/{real}"
        assert _resource_of(arn) == (arn, None), real


def test_an_arn_missing_the_region_and_account_its_service_needs_is_text() -> None:
    """``arn:aws:sns:::topic`` (region and account deleted) is text; S3 and public AMIs are not."""
    (f,) = extract_text(
        "An error occurred (AuthorizationError) when calling the Publish operation: User:"
        " arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform: SNS:Publish"
        " on resource: arn:aws:sns:::aft-failure-notifications because no identity-based policy"
        " allows the SNS:Publish action\n"
    )
    assert (f.resource, f.resource_text) == (None, "arn:aws:sns:::aft-failure-notifications")
    for clean in (
        "arn:aws:s3:::my-bucket/key",
        "arn:aws:s3:::my-bucket/EXPORTS/ORDERID/AAABBB.csv",
        "arn:aws:ec2:us-east-1::image/ami-0abcdef1234567890",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2",
    ):
        assert _resource_of(clean) == (clean, None), clean


def test_a_log_stream_arn_keeps_its_trailing_colon() -> None:
    """Logs' ``...:log-group:NAME:log-stream:`` is AWS's ARN as printed, colon included."""
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:log-stream:"
    (f,) = extract_text(
        "An error occurred (AccessDeniedException) when calling the CreateLogGroup operation:"
        " User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform:"
        f" logs:CreateLogGroup on resource: {arn} because no identity-based policy allows the"
        " logs:CreateLogGroup action\n"
    )
    assert (f.resource, f.resource_text) == (arn, None)


def test_a_principal_arn_with_an_elided_name_is_kept_as_text() -> None:
    """``assumed-role/external_dns...6050/1766...752915`` (elided with ``...``) is no clean ARN."""
    arn = "arn:aws:sts::525294151996:assumed-role/external_dns2021...6050000000b/1766...51399752915"
    (f,) = extract_text(
        "AccessDenied: User: " + arn + " is not authorized to perform:"
        " route53:ChangeResourceRecordSets on resource:"
        " arn:aws:route53:::hostedzone/Z1D633PJN98FT9\n"
    )
    assert (f.principal_arn, f.principal_text) == (None, arn)
    assert f.account_id == "525294151996"


def test_a_cut_decoded_message_takes_the_one_action_its_statements_name() -> None:
    """A decoded message cut before its context takes the action every matched statement names."""
    statement = (
        '{"statementId":"S%d","effect":"DENY","principals":{"items":[{"value":"AROAEXAMPLE"}]},'
        '"principalGroups":{"items":[]},"actions":{"items":[{"value":"ec2:RunInstances"}]},'
        '"resources":{"items":[{"value":"arn:aws:ec2:*:*:instance/*"}]},'
        '"conditions":{"items":[]}}'
    )
    head = '{"allowed":false,"explicitDeny":true,"matchedStatements":{"items":['
    (found,) = extract_text(head + statement % 1 + "," + statement % 2 + "]}\n")
    f = enrich(found, found.decoded)
    assert (f.action, f.explicit_deny) == ("ec2:RunInstances", True)
    two = statement % 2
    other = two.replace("ec2:RunInstances", "ec2:CreateTags")
    (found,) = extract_text(head + statement % 1 + "," + other + "]}\n")
    assert enrich(found, found.decoded).action is None  # two actions: which was asked is unsaid


def test_a_decoded_message_cut_inside_an_action_still_names_it() -> None:
    """A message cut mid-value (``"ec2:RunIn``) takes the action its whole statements name."""
    statement = (
        '{"statementId":"S1","effect":"DENY","principals":{"items":[{"value":"AROAEXAMPLE"}]},'
        '"principalGroups":{"items":[]},"actions":{"items":[{"value":"ec2:RunInstances"}]},'
        '"resources":{"items":[{"value":"*"}]},"conditions":{"items":[]}}'
    )
    (found,) = extract_text(
        '{"allowed":false,"explicitDeny":true,"matchedStatements":{"items":['
        + statement
        + ',{"statementId":"S2","effect":"DENY","actions":{"items":[{"value":"ec2:RunIn\n'
    )
    assert enrich(found, found.decoded).action == "ec2:RunInstances"


def test_a_hard_wrapped_cli_decoded_message_is_read_whole() -> None:
    """A hard-wrapped ``"DecodedMessage": "{\\"allowed\\"...`` gives its action and principal."""
    found = extract_text(
        "{\n"
        '"DecodedMessage": "{\\"allowed\\":false,\\"explicitDeny\\":false,\n'
        '\\"matchedStatements\\":{\\"items\\":[]},\\"failures\\":{\\"items\\":[]},\n'
        '\\"context\\":{\\"principal\\":{\\"id\\":\\"AROAEXAMPLE:i-1\\",\n'
        '\\"arn\\":\\"arn:aws:sts::123456789012:assumed-role/my-role-ec2/i-123456e7\\"},\n'
        '\\"action\\":\\"iam:PassRole\\",'
        '\\"resource\\":\\"arn:aws:iam::123456789012:role/my-role-ec2\\",\n'
        '\\"conditions\\":{\\"items\\":[]}}}"\n'
        "}\n"
    )
    (f,) = [enrich(f, f.decoded) for f in found]
    assert (f.kind, f.action, f.explicit_deny) == ("decoded", "iam:PassRole", False)
    assert f.principal_arn == "arn:aws:sts::123456789012:assumed-role/my-role-ec2/i-123456e7"
    assert f.resource == "arn:aws:iam::123456789012:role/my-role-ec2"


def test_user_as_the_sentence_subject_is_no_principal() -> None:
    """A heading ``User is not authorized to perform: X`` names nobody: ``User`` is no label."""
    first, *_ = extract_text(
        "User is not authorized to perform: sts:AssumeRole\n"
        "Example error: User: arn:aws:iam:::user/assume-only-user is not authorized to perform:"
        " sts:AssumeRole\n"
    )
    assert (first.principal_arn, first.principal_text) == (None, None)


def test_a_placeholder_principal_starting_a_quoted_fragment_is_kept_as_written() -> None:
    """``"<role> is not authorized to perform: X`` (a pasted errorMessage) keeps ``<role>``."""
    (f,) = extract_text(
        '"<role> is not authorized to perform: secretsmanager:GetSecretValue on resource:'
        " ChimeChannelID because no identity-based policy allows the"
        ' secretsmanager:GetSecretValue action","requestParameters":null\n'
    )
    assert (f.principal_arn, f.principal_text, f.action) == (
        None,
        "<role>",
        "secretsmanager:GetSecretValue",
    )


def test_an_error_message_pasted_from_a_cloudtrail_record_is_a_cloudtrail_failure() -> None:
    """``"errorCode"`` then ``"errorMessage": "User: ..."`` (a record's fields) is CloudTrail's."""
    sentence = (
        "User: arn:aws:iam::123456789012:role/app is not authorized to perform: s3:GetObject"
        " on resource: arn:aws:s3:::b/k with an explicit deny in a resource-based policy"
    )
    (f,) = extract_text(f'  "errorCode": "AccessDenied",\n  "errorMessage": "{sentence}"\n')
    (g,) = extract_text(f'"{sentence}","requestParameters":null,"responseElements":null\n')
    (lam,) = extract_text(f'{{"errorType":"AccessDeniedException","errorMessage":"{sentence}"}}\n')
    assert (f.kind, g.kind, lam.kind) == ("cloudtrail", "cloudtrail", "plain")
