"""ReDoS: every regex compiled in diagnostics/ runs in linear time on pathological input.

The regexes are enumerated from the source (``NAME = re.compile(<literal>)``),
so a new one without a case here fails ``test_every_regex_has_a_case``.  Each
case is a list of (prefix, repeated unit) pairs: the input is the prefix, then
the unit repeated to ~50 KB (a long run of what the quantifiers accept), then a
tail that makes the match fail.  The regex is applied the way the code applies
it (``search`` unless the code only ever ``match``es at a found position).
"""

from __future__ import annotations

import ast
import importlib
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIZE = 50_000
BOUND = 0.2  # seconds per 50 KB input
TAIL = "\x00!"

Spec = tuple[str, list[tuple[str, str]]]
ID = "0123456789abcdef" * 2

# key: "path:NAME" -> (method, [(prefix, unit), ...])
CASES: dict[str, Spec] = {
    "diagnostics/extract/parsers/wordings.py:_NO_PERMISSION": (
        "match",
        [("User doesn't have permission to call a", "a")],
    ),
    "diagnostics/extract/parsers/wordings.py:_ASSUME": (
        "match",
        [("Unable to assume role arn:aws:iam::111122223333:role/", "a/")],
    ),
    "diagnostics/extract/parsers/plain.py:_CUT_REASON": (
        "match",
        [(" ", " "), ("because no ", "a -"), ("with an explicit deny in a ", "a")],
    ),
    "diagnostics/diagnose/fold.py:_IDISH": ("sub", [("", "a" * 7 + "1"), ("", "g")]),
    "diagnostics/mcp_server/terms.py:_RATE": (
        "sub",
        [("", "lower the "), ("lower the ", "a"), ("", "lower the a (max_per_second, now ")],
    ),
    "diagnostics/commands/scan_lookup.py:_TIME": ("match", [("2026-", "1"), ("", "2026-12-07T")]),
    "diagnostics/extract/assembly/code_above.py:_MESSAGE_KEY": (
        "match",
        [("", " "), ('"message"', " "), ("", '"')],
    ),
    "diagnostics/iam/grantee.py:_S3_OBJECT": (
        "match",
        [("arn:aws:s3:::b", "a"), ("arn:aws:s3:::b/", "/"), ("arn:aws", "-")],
    ),
    "diagnostics/policy/grammar.py:_SID": ("match", [("", "A"), ("A", "0")]),
    "diagnostics/policy/grammar.py:_SID_BAD": ("sub", [("", "-"), ("", "a-")]),
    "diagnostics/policy/risk.py:_ACCOUNT": ("fullmatch", [("", "1")]),
    "diagnostics/render/markdown_safe.py:_BACKTICKS": ("findall", [("", "`"), ("", "`a")]),
    "diagnostics/render/markdown_safe.py:_BLOCK_START": ("sub", [("", "1"), ("", "#")]),
    "diagnostics/render/markdown_safe.py:_HTML_SPECIAL": ("sub", [("", "<"), ("", "a&")]),
    "diagnostics/render/markdown_safe.py:_INLINE": ("sub", [("", "*"), ("", "a\\")]),
    "diagnostics/render/markdown_safe.py:_SCHEME": ("sub", [("", ":/"), ("", ":")]),
    "diagnostics/render/markdown_safe.py:_WWW": ("sub", [("", "www"), ("", "ww.")]),
    "diagnostics/render/sarif.py:_LINK_CHARS": ("sub", [("", "["), ("", "a\\")]),
    "diagnostics/render/sarif.py:_WORD": ("findall", [("", "a"), ("", "a-")]),
    "diagnostics/testing/lookup_events_double.py:_CREDENTIAL": (
        "search",
        [("Credential=", "A"), ("Credential=A/20261201/", "a"), ("", "Credential=")],
    ),
    "diagnostics/support/durations.py:_DURATION": ("match", [("", "1"), ("", "1.5s"), ("", "1.")]),
    # _PART only runs on strings _DURATION accepted; those are what it gets here.
    "diagnostics/support/durations.py:_PART": ("findall", [("", "1s"), ("", "1.5ms")]),
    "diagnostics/commands/decode.py:_BLOB": ("search", [("", "a"), ("!", "-_")]),
    "diagnostics/commands/decode.py:_OPTION": ("fullmatch", [("--", "a"), ("--a", "-")]),
    "diagnostics/commands/decode.py:_AUTHORIZATION_ID": ("fullmatch", [("", "a"), ("", "0")]),
    "diagnostics/request/context.py:_ACCOUNT_IN_ARN": (
        "match",
        [("arn:aws", "-"), ("arn:aws:s3:", "a-")],
    ),
    "diagnostics/request/context.py:_REGION_IN_ARN": (
        "match",
        [("arn:aws:s3:us", "-a"), ("arn:aws:ec2:", "a"), ("arn:aws:ec2:us-east", "-1")],
    ),
    "diagnostics/decode/messages.py:_BASE64URL": ("search", [("", "A"), ("", "!")]),
    "diagnostics/decode/settings.py:_SESSION_UNSAFE": ("sub", [("", "a"), ("", "!")]),
    "diagnostics/extract/cloudtrail/records.py:_ACCOUNT": ("match", [("", "1")]),
    "diagnostics/extract/cloudtrail/pretty.py:_GUTTER": (
        "match",
        [("", " "), ("", "1"), ("1", " ")],
    ),
    "diagnostics/extract/assembly/cheap.py:_SENTENCE": (
        "match",
        [
            ("User: arn:aws:iam::111122223333:", "a."),
            ("User: arn:aws:iam::111122223333:user/a is not authorized to perform: s3:", "A"),
            (
                "User: arn:aws:iam::111122223333:user/a is not authorized to perform: s3:A"
                " on resource: arn:aws:s3:::",
                "a:",
            ),
            (
                "User: arn:aws:iam::111122223333:user/a is not authorized to perform: s3:A"
                " with an explicit deny in a session policy: arn:aws:",
                "a-",
            ),
        ],
    ),
    "diagnostics/extract/assembly/cheap.py:_CLI_FRAME": (
        "fullmatch",
        [("An error occurred (", "A"), ("An error occurred (A) when calling the ", "a")],
    ),
    "diagnostics/extract/assembly/cheap.py:_JSON_HEAD": (
        "fullmatch",
        [("{", '"a":1,'), ('{"a":"', "a"), ('{"a":', "1."), ("{", '"a":"b",')],
    ),
    "diagnostics/extract/assembly/cheap.py:_EXCEPTION": (
        "fullmatch",
        [("", "AccessDeniedException: ")],
    ),
    "diagnostics/extract/parsers/encoded.py:_BLOB_RUN": ("match", [("", "A-"), ("", "a_9")]),
    "diagnostics/extract/assembly/cheap_blob.py:_EC2_BLOB": (
        "fullmatch",
        [
            ("", "botocore.exceptions.ClientError: "),
            ("An error occurred (UnauthorizedOperation) when calling the A", "a"),
            (
                "An error occurred (UnauthorizedOperation) when calling the A operation: You are"
                " not authorized to perform this operation. Encoded authorization failure"
                " message: ",
                "A-",
            ),
        ],
    ),
    "diagnostics/extract/parsers/authorization_id.py:_URL_ID": (
        "finditer",
        [("", "authorization-details/"), ("authorization-details/", "a"), ("", "\\")],
    ),
    "diagnostics/extract/parsers/authorization_id.py:_API_ID": (
        "finditer",
        [("", "authorization id: "), ("authorization id:", " "), ("authorization id: ", "0")],
    ),
    "diagnostics/extract/parsers/authorization_id.py:_ID_TAIL": (
        "fullmatch",
        [(" ", "a"), ("", " ")],
    ),
    "diagnostics/extract/assembly/request_ids.py:_REQUEST_ID": (
        "search",
        [("", "Request ID: "), ("Request ID: ", "a"), ("", "request id"), ("", "RequestId: >")],
    ),
    "diagnostics/testing/toolbox_double.py:_CREDENTIAL": (
        "search",
        [("Credential=", "A"), ("Credential=A/20261201/", "a"), ("", "Credential=")],
    ),
    "diagnostics/testing/toolbox_double.py:_PATH": (
        "match",
        [("/authorization-details/", "a"), ("/authorization-details/", "%")],
    ),
    "diagnostics/testing/toolbox_double.py:_ID": ("match", [("", "a"), ("", "0")]),
    "diagnostics/extract/parsers/decoded.py:_START": (
        "search",
        [("", "{ "), ("", '{"allowed" '), ("", "{")],
    ),
    "diagnostics/extract/parsers/encoded.py:_PHRASE": (
        "search",
        [("", "encoded authorization failure "), ("", "e")],
    ),
    "diagnostics/extract/parsers/encoded.py:_AFTER_PHRASE": (
        "match",
        [(": ", "A"), ("", " "), ("'", "a-")],
    ),
    "diagnostics/extract/parsers/frames.py:_CLI": (
        "search",
        [("(", "A"), ("(A) when calling the ", "O")],
    ),
    "diagnostics/extract/parsers/frames.py:_CLI_OLD": (
        "search",
        [("A client error (", "A"), ("", "A client error (")],
    ),
    "diagnostics/extract/parsers/frames.py:_GO2_OP": (
        "search",
        [("operation error ", "S "), ("", "operation error ")],
    ),
    "diagnostics/extract/parsers/frames.py:_GO2_CODE": (
        "search",
        [("api error ", "A"), ("", "api error ")],
    ),
    "diagnostics/extract/parsers/frames.py:_JAVA": (
        "search",
        [("", "A"), ("", "Service: "), ("(Service: ", "A")],
    ),
    "diagnostics/extract/parsers/frames.py:_CODE_COLON": (
        "match",
        [("", "A"), ("A", "a."), ("Aa", "0")],
    ),
    "diagnostics/extract/parsers/frames.py:_CODE_RUN": (
        "match",
        [("", "A"), ("", "a."), ("", ".."), ("", "é")],
    ),
    "diagnostics/extract/parsers/frames.py:_STATUS_403": (
        "search",
        [("", "Status Code"), ("", "S")],
    ),
    "diagnostics/extract/assembly/normalize.py:_ANSI_CSI": (
        "sub",
        [("", "\x1b["), ("\x1b[", "0;"), ("", "\x1b[0")],
    ),
    "diagnostics/extract/assembly/normalize.py:_ANSI_OSC": (
        "sub",
        [("", "\x1b]"), ("\x1b]", "a"), ("", "\x1b]a")],
    ),
    "diagnostics/extract/assembly/normalize.py:_JSON_ESCAPE": (
        "sub",
        [("", "\\"), ("", "\\u12"), ("", "\\\\")],
    ),
    "diagnostics/extract/assembly/provenance.py:_ACCESS_LOG": (
        "match",
        [("", "a"), ("a ", "b"), ("a b c [", "0"), ("a b c [01/May", " ")],
    ),
    "diagnostics/extract/assembly/normalize.py:_TIMESTAMP": (
        "match",
        [("2024-05-01T12:00:00", "0"), ("", "2")],
    ),
    "diagnostics/extract/assembly/normalize.py:_PACKER": (
        "match",
        [("==> ", "a"), ("  ", " "), ("  a", ".a")],
    ),
    "diagnostics/extract/parsers/plain.py:_ACTION": (
        "match",
        [(": ", " "), (" s3", "3"), ("s3:", "a")],
    ),
    "diagnostics/extract/parsers/resource_slot.py:_ON_THIS": (
        "match",
        [("", " "), ("", "\t"), (" on the resource", " ")],
    ),
    "diagnostics/extract/parsers/resource_slot.py:_ON_CIPHERTEXT": (
        "match",
        [("", " "), ("", "\t")],
    ),
    "diagnostics/extract/parsers/resource_slot.py:_ON_RESOURCE": (
        "match",
        [("", " "), (" on resource:", " ")],
    ),
    "diagnostics/extract/parsers/plain.py:_REASON": (
        "match",
        [("", " "), (" because ", " "), (" with an ", "a")],
    ),
    "diagnostics/extract/parsers/plain.py:_ALLOWS": ("match", [(" allows the ", "a"), ("", " ")]),
    "diagnostics/extract/parsers/plain.py:_TRANSITIVE": (
        "match",
        [("", " "), (" transitively through a", " ")],
    ),
    "diagnostics/extract/parsers/plain.py:_POLICY_ARN": ("match", [(": ", " "), (": arn:", "a")]),
    "diagnostics/extract/assembly/normalize.py:_BOLD": (
        "sub",
        [("", "**a"), ("**", "a*"), ("", "*")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_GO_DEBUG_DETAILS": (
        "match",
        [("DEBUG: Request ", "a"), ("DEBUG: Response s3/", "A")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_SDK_CALL": (
        "search",
        [("", "a"), ("", "a."), ("s3.", "a"), ("", "s3.list_objects")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_GO_DEBUG": (
        "match",
        [("Validate Response ", "a"), ("Validate Response ec2/", "A")],
    ),
    "diagnostics/extract/parsers/wordings.py:_SQS": (
        "match",
        [("Access to the resource ", "a"), ("Access to the resource a", " is ")],
    ),
    "diagnostics/extract/parsers/wordings.py:_STS": ("match", [("Cannot call ", "Get")]),
    "diagnostics/extract/parsers/image_pulls.py:_HOST": (
        "finditer",
        [("", "1"), ("", "111122223333.dkr.ecr."), ("111122223333.dkr.ecr.us", "-a")],
    ),
    "diagnostics/extract/parsers/image_pulls.py:_PATH": ("match", [("/", "a"), ("", "/")]),
    "diagnostics/extract/parsers/eks_auth.py:_CLUSTER": (
        "finditer",
        [
            ("", "arn:aws"),
            ("arn:aws:eks:", "a"),
            ("arn:aws:eks:us-east-1:111122223333:cluster/", "a"),
        ],
    ),
    "diagnostics/extract/parsers/eks_auth.py:_PRINCIPAL": (
        "finditer",
        [("", "arn:aws:iam::"), ("arn:aws:sts::111122223333:assumed-role/", "a"), ("arn:aws", "-")],
    ),
    "diagnostics/extract/parsers/wordings.py:_CALL_FAILED": (
        "match",
        [("Call failed: a(", "a"), ("Call failed: a(", ") => "), ("Call failed: a() => ", "a")],
    ),
    "diagnostics/extract/parsers/plain.py:_BARE_DENY": (
        "match",
        [("", " "), (" with an explicit", " ")],
    ),
    "diagnostics/extract/parsers/frames.py:_CLI_CODE_ONLY": (
        "match",
        [("An error occurred (", "a")],
    ),
    "diagnostics/extract/parsers/frames.py:_XML_CODE": (
        "match",
        [("<Code>", "a"), ("<Code>a", "<")],
    ),
    "diagnostics/extract/parsers/principals.py:_BARE_NAME": ("match", [("a", "a"), ("a", "!")]),
    "diagnostics/extract/parsers/principals.py:_TOKEN_BREAK": (
        "finditer",
        [("", "a"), ("", " ("), ("", "é")],
    ),
    "diagnostics/extract/assembly/templates.py:_VARIABLE": (
        "search",
        [("", "%"), ("", "%0"), ("${", "a"), ("{{", "a"), ("#{", "a"), ("{", "0"), ("{a", "a")],
    ),
    "diagnostics/extract/assembly/templates.py:_NAMED": ("finditer", [("{", "a"), ("", "{a")]),
    "diagnostics/extract/assembly/templates.py:_ANGLED": ("search", [("<", "a"), ("", "<")]),
    "diagnostics/extract/parsers/resource_slot.py:_CLEAN_ARN": (
        "fullmatch",
        [("arn:aws:s3:::", "a"), ("arn:aws", "-a"), ("arn:aws:ec2:us-east-1:", "1")],
    ),
    "diagnostics/extract/parsers/resource_slot.py:_IAM_PATH": (
        "fullmatch",
        [("policy path /", "a/")],
    ),
    "diagnostics/extract/parsers/exception_frames.py:_CLASS": (
        "finditer",
        [("", "Amazon.a."), ("com.amazonaws.services.", "a"), ("Aws\\", "a"), ("", "aException")],
    ),
    "diagnostics/extract/parsers/exception_frames.py:_PHP_CODE": (
        "search",
        [("", "a"), ("", "a (client)")],
    ),
    "diagnostics/extract/parsers/exception_frames.py:_PHP_HOST": (
        "match",
        [(' on "https://', "a"), (' on "https://', "a."), (' on "https://a.a.', "a")],
    ),
    "diagnostics/extract/parsers/exception_frames.py:_RUBY": (
        "finditer",
        [("Aws::", "a"), ("", "Aws::")],
    ),
    "diagnostics/extract/parsers/exception_frames.py:_PHP_OPERATION": (
        "match",
        [('Error executing "', "a")],
    ),
    "diagnostics/extract/parsers/wordings.py:_LOGS_ACCOUNT": (
        "match",
        [("User with accountId: ", "1"), ("User with accountId: 111122223333 ", " ")],
    ),
    "diagnostics/extract/parsers/wordings.py:_KARPENTER": (
        "match",
        [
            ("Controller isn't authorized to call ", "a"),
            ("Controller isn't authorized to call a:", "a"),
        ],
    ),
    "diagnostics/extract/parsers/wordings.py:_LISTED_ACTION": ("search", [("", "a"), ("a:", "a")]),
    "diagnostics/extract/parsers/wordings.py:_CIPHERTEXT": (
        "match",
        [("The ciphertext refers to a ", "a"), ("The ciphertext refers to a ", "you ")],
    ),
    "diagnostics/extract/parsers/wordings.py:_DOTNET": (
        "match",
        [
            ("Error making request with Error Code ", "a"),
            ("Error making request with Error Code a and Http Status Code ", "a"),
        ],
    ),
    "diagnostics/extract/parsers/wordings.py:_DOTNET_OUTER": (
        "search",
        [("Amazon.", "a"), ("", "Amazon.a.")],
    ),
    "diagnostics/extract/parsers/wordings.py:_JAVA_LEGACY": (
        "match",
        [
            ("Status Code: 403, AWS Service: ", "a"),
            ("Status Code: 403, AWS Service: a, AWS Request ID: ", "a"),
        ],
    ),
    "diagnostics/extract/assembly/code_above.py:_CODE_LINE": (
        "match",
        [("", " "), ("<Code>", "a"), ('"Code": "', "a"), ("", '"Code": "a",')],
    ),
    "diagnostics/extract/assembly/code_above.py:_BARE_MESSAGE": ("match", [("", " "), ("", ">")]),
    "diagnostics/extract/parsers/frames.py:_LEAD_CODE": ("match", [("", "A"), ("A", "a")]),
    "diagnostics/extract/parsers/frames.py:_PHP_S3_CALL": (
        "match",
        [("S3::", "a"), ("S3::a(): [", "a")],
    ),
    "diagnostics/extract/parsers/frames.py:_CFN_API_BARE": (
        "match",
        [("API: s3:P", "a"), ("API: s3:PutBucketPolicy", " ")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_RUBY_LOG": (
        "match",
        [("[Aws::A::Client 403 ", "1"), ("[Aws::A::Client 403 1 1 retries] ", "a")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_CREATING": (
        "match",
        [("creating A", "a"), ("creating A", " A")],
    ),
    "diagnostics/extract/parsers/frames.py:_KOTLIN_CLASS": (
        "match",
        [("aws.sdk.kotlin.services.", "a"), ("aws.sdk.kotlin.services.a.model.", "a")],
    ),
    "diagnostics/extract/parsers/frames.py:_RUST_CODE": ("match", [("unhandled error (", "a")]),
    "diagnostics/extract/assembly/code_above.py:_PLAIN_BARE": (
        "match",
        [("", " "), ("", "*"), ("Access Denied", " ")],
    ),
    "diagnostics/extract/parsers/plain.py:_BARE_OP": (
        "match",
        [("", " "), (": A", "a"), (" Ab", " on")],
    ),
    "diagnostics/extract/assembly/joins.py:_CLI_OP_AT_END": (
        "search",
        [("when calling the ", "a!")],
    ),
    "diagnostics/extract/parsers/decoded_lenient.py:_TRAILING_COMMA": (
        "sub",
        [("", ", "), (",", " ")],
    ),
    "diagnostics/extract/parsers/decoded_lenient.py:_STRING_KEY": (
        "finditer",
        [('"arn": "', "a"), ("", '"arn":')],
    ),
    "diagnostics/extract/parsers/decoded_lenient.py:_BOOL_KEY": ("finditer", [("", '"allowed": ')]),
    "diagnostics/extract/parsers/tool_operations.py:_LAMBDA_EC2": (
        "match",
        [
            ("denied by EC2, please make sure ", "a"),
            ("denied by EC2, please make sure", " permission to "),
            ("denied by EC2, please make sure ", "\n "),
            ("denied by EC2, please make sure permission to", " "),
        ],
    ),
    "diagnostics/extract/parsers/wordings.py:_LAMBDA_ROLE": (
        "match",
        [("The provided execution role does not have permissions to call ", "A")],
    ),
    "diagnostics/extract/parsers/wordings.py:_MISSING": (
        "match",
        [
            ("missing the following permissions: [", "a"),
            ("missing the following permissions: a:", "A"),
        ],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_PHP": (
        "match",
        [('Error executing "A', "a"), ('Error executing "A" on "https://', "a")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_JS_V3": (
        "match",
        [("deserializeAws_", "a"), ("deserializeAws_restXmlA", "a")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_ANDROID_UPLOAD": (
        "search",
        [("", "Failed to upload: "), ("Failed to upload: ", "1")],
    ),
    "diagnostics/extract/parsers/tool_operations.py:_STACK_OP": (
        "search",
        [
            ("", "de_A"),
            ("de_A", "a"),
            ("Client.executeA", "a"),
            ("DefaultA", "a"),
            ("DefaultAClient.a", "a"),
            ("(eval):", "1"),
            ("/aws-sdk-", "a"),
            ("(eval):1:in `a", "a_"),
            (".get_list('A", "a"),
            ("", "Client.execute"),
            (".serde.A", "a"),
            (".serde.A", "Operation"),
        ],
    ),
    "diagnostics/extract/parsers/resource_slot.py:_QUOTED_ACCOUNT": (
        "match",
        [("arn:", "a"), ('arn:a::"', "a")],
    ),
    "diagnostics/extract/parsers/frames.py:_CODE_FIELD": (
        "match",
        [("code: '", "a"), ("::Errors::", "a"), ("code", " ")],
    ),
    "diagnostics/extract/parsers/frames.py:_CLI_ON": (
        "match",
        [("An error occurred (A)", " on x (a"), ("An error occurred (A) on x (", "a")],
    ),
    "diagnostics/extract/parsers/principals.py:_CLEAN_ARN": (
        "match",
        [("arn:aws:iam::", ":"), ("arn:aws:iam::123456789012:", "a "), ("arn:aws", "a")],
    ),
    "diagnostics/extract/parsers/plain.py:_NULL_ACTION": ("match", [("", " "), (": ", "n")]),
    "diagnostics/extract/parsers/ec2.py:_CFN_API": (
        "match",
        [("API: ", "a"), ("API: ec2:", "A"), ("API: ec2:A", " ")],
    ),
    "diagnostics/extract/parsers/ec2.py:_STATUS_403": (
        "search",
        [("", "status code: 40"), ("", "(40")],
    ),
    "diagnostics/extract/parsers/ec2.py:_TEMPLATE": ("match", [("", " "), (": lt-", "0")]),
    "diagnostics/extract/parsers/principals.py:_SERVICE_PRINCIPAL": (
        "match",
        [("a", "."), ("a", "a.amazonaws.com")],
    ),
    "diagnostics/extract/assembly/joins.py:_PRINCIPAL_AT_END": (
        "search",
        [("", "User: "), ("User: ", "a"), ("", "User: arn:")],
    ),
    "diagnostics/iam/arn_templates.py:_PLACEHOLDER": ("findall", [("", "${"), ("${", "a")]),
    "diagnostics/iam/arns.py:_ASSUMED_ROLE": (
        "match",
        [
            ("arn:aws:sts::123456789012:assumed-role/", "a/"),
            # The account may be any text (a redacted "xxxx"): a long one, and a long role.
            ("arn:aws:sts::", "x"),
            ("arn:aws:sts::xxxx:assumed-role/", "a"),
        ],
    ),
    "diagnostics/testing/corpus.py:SLUG": ("fullmatch", [("a", "a-"), ("", "a")]),
    "diagnostics/iam/operations.py:_VERSION_SUFFIX": ("search", [("", "1"), ("", "2020_05_")]),
    "diagnostics/iam/operations.py:_HOST_SUFFIX": ("search", [("", ".amazonaws"), ("", "a.")]),
    "diagnostics/policy/arn_match.py:_VARIABLE": ("finditer", [("", "${"), ("${", "a")]),
    "diagnostics/testing/slack_receiver.py:_BARE_LINK": ("search", [("", "http"), ("<", "a://")]),
    "diagnostics/testing/slack_receiver.py:_PING": ("search", [("", "@"), ("", "@her")]),
    "diagnostics/text/safe.py:_UNSAFE": ("sub", [("", "\x01"), ("", "a"), ("", "\u202e")]),
    "diagnostics/text/safe.py:_JSON_UNSAFE": ("sub", [("", "\x85"), ("", "a")]),
    "diagnostics/iam/error_codes.py:_CODE": ("fullmatch", [("", "A"), ("", "a.")]),
    "diagnostics/diagnose/generalize.py:_PLACEHOLDER": ("findall", [("", "${"), ("${", "a")]),
    # Letters with no digit (each start inside the run rejected by the lookbehind),
    # long runs of digits, and letters before a digit far away.
    "diagnostics/diagnose/shape_memo.py:_SLOT": (
        "split",
        [("", "a"), ("", "0"), ("", "ab"), ("", "a/"), ("x", "fa0")],
    ),
    "diagnostics/rules/placeholders.py:tag_key": (
        "match",
        [("aws:ResourceTag/", "a"), ("", "aws:")],
    ),
    "diagnostics/rules/placeholders.py:_S3_ARN": (
        "match",
        [("arn:aws:s3:::", "a"), ("arn:aws", "-")],
    ),
    "diagnostics/rules/principals.py:_IAM_ARN": (
        "match",
        [("arn:aws:iam::123456789012:", "a"), ("arn:aws", "-")],
    ),
    "diagnostics/rules/schema.py:RULE_ID": ("match", [("a", "a."), ("", "-")]),
    "diagnostics/rules/template.py:PLACEHOLDER": (
        "finditer",
        [("{a|", "{"), ("{a|", "{}"), ("", "{a"), ("{a:", "b")],
    ),
    "diagnostics/sinks/config.py:_VAR": ("sub", [("", "${"), ("${", "a")]),
    "diagnostics/sinks/readback.py:_ID": ("fullmatch", [(ID + ".", "1"), ("", "a")]),
    "diagnostics/sources/cloudtrail_dir.py:_DELIVERY": (
        "match",
        [("", "1"), ("123456789012_CloudTrail_", "a-")],
    ),
    "diagnostics/sources/s3.py:_DELIVERY": (
        "match",
        [("a/CloudTrail/us-east-1/", "/"), ("", "a/CloudTrail/")],
    ),
    "diagnostics/sources/cloudtrail_layout.py:ACCOUNT": ("fullmatch", [("", "1")]),
    "diagnostics/sources/cloudtrail_layout.py:ORG": ("fullmatch", [("o-", "a")]),
    "diagnostics/sources/cloudtrail_layout.py:REGION_DIR": ("fullmatch", [("", "a-")]),
    "diagnostics/sources/cloudtrail_layout.py:REGION": (
        "fullmatch",
        [("us", "-a"), ("us-east", "-1")],
    ),
    "diagnostics/sources/s3_config.py:_DAY": ("match", [("", "1")]),
    "diagnostics/iac/terraform.py:_OPEN": (
        "match",
        [("", " "), ("resource", " "), ('resource "a"', " "), ('resource "', "a")],
    ),
    "diagnostics/iac/terraform.py:_LITERAL": (
        "match",
        [("", " "), ("a", " "), ("a =", " "), ('a = "', "a"), ('a = "a"', " "), ('a="a"#', "a")],
    ),
    "diagnostics/iac/cloudformation.py:_KEY": ("match", [("", " "), ("A", "a"), ("A:", " ")]),
    "diagnostics/iac/cloudformation.py:_SCALAR": (
        "match",
        [("", " "), ("A", " "), ("A:", " "), ('A: "', "a"), ("A: a", " a"), ("A: a#", "#")],
    ),
    "diagnostics/iac/cloudformation.py:_SECTION": (
        "match",
        [("Resources", " "), ("Resources:", " ")],
    ),
    "diagnostics/render/terraform.py:_ADDRESS": ("match", [("aws_", "a"), ("aws_a.", "a")]),
    "diagnostics/testing/slack_receiver.py:_MARKUP": ("search", [("", "<"), ("", "<h")]),
    "diagnostics/testing/sts_double.py:_CREDENTIAL": (
        "search",
        [("Credential=", "A"), ("", "Credential=")],
    ),
    "diagnostics/testing/sts_double.py:_ROLE_ACCOUNT": (
        "match",
        [("arn:aws:iam::123456789012:role/", "a/"), ("arn:aws:iam::123456789012:role/", "a")],
    ),
}

#: Regexes without a comment saying why they are linear, in files this suite's
#: owner cannot edit (reported to their owners).  Shrinks as comments land; a
#: new regex without a comment fails ``test_regexes_say_why_they_are_linear``.
KNOWN_UNCOMMENTED: set[str] = set()


def _compiled() -> dict[str, tuple[Path, int, int, ast.expr]]:
    """Every ``NAME = re.compile(...)`` in diagnostics/: key -> (file, first, last line, call)."""
    out: dict[str, tuple[Path, int, int, ast.expr]] = {}
    for path in sorted((ROOT / "diagnostics").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            f = node.value.func
            if not (isinstance(f, ast.Attribute) and f.attr == "compile"):
                continue
            if getattr(f.value, "id", None) != "re" or not isinstance(node.targets[0], ast.Name):
                continue
            key = f"{path.relative_to(ROOT)}:{node.targets[0].id}"
            out[key] = (path, node.lineno, node.end_lineno or node.lineno, node.value)
    return out


def _regex(key: str) -> re.Pattern[str] | re.Pattern[bytes]:
    """The module's compiled regex; for one local to a function, its call evaluated again."""
    path, name = key.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    found = getattr(module, name, None)
    if found is None:
        call = _compiled()[key][3]
        found = eval(compile(ast.Expression(call), path, "eval"), {"re": re})  # noqa: S307 - our own source
    assert isinstance(found, re.Pattern), f"{key} is not a compiled regex"
    return found


def _apply(rx: re.Pattern[str] | re.Pattern[bytes], method: str, text: str) -> None:
    subject: str | bytes = text.encode("latin-1") if isinstance(rx.pattern, bytes) else text
    if method == "sub":
        rx.sub("", subject)  # type: ignore[arg-type]
    elif method == "findall":
        rx.findall(subject)  # type: ignore[arg-type]
    elif method == "finditer":
        list(rx.finditer(subject))  # type: ignore[arg-type]
    else:
        getattr(rx, method)(subject)


def test_every_regex_has_a_case() -> None:
    """A regex added under diagnostics/ without a pathological-input case here fails CI."""
    found = set(_compiled())
    assert found - set(CASES) == set(), "add a ReDoS case for these regexes"
    assert set(CASES) - found == set(), "these cases name regexes that no longer exist"


#: Quadratic today, in files this suite's owner cannot edit (reported, with a fix).
KNOWN_SLOW: set[str] = set()


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason="quadratic; reported"))
        if k in KNOWN_SLOW
        else k
        for k in sorted(CASES)
    ],
)
def test_regex_is_linear_on_pathological_input(key: str) -> None:
    """Each regex runs a ~50 KB adversarial input (failing tail) in 0.2 s, or linearly."""
    rx = _regex(key)
    method, inputs = CASES[key]
    for prefix, unit in inputs:
        took = _timed(rx, method, prefix, unit, SIZE)
        if took < BOUND:
            continue
        # Slow, but maybe only because the machine is busy: a linear regex takes
        # about 4x as long on 4x the input, a quadratic one 16x.
        bigger = _timed(rx, method, prefix, unit, 4 * SIZE)
        assert bigger < 8 * took, (
            f"{key} took {took:.2f}s on {prefix!r} + {unit!r} * n and {bigger:.2f}s on 4n"
        )


def _timed(rx: re.Pattern[str], method: str, prefix: str, unit: str, size: int) -> float:
    text = prefix + unit * (size // len(unit)) + TAIL
    start = time.perf_counter()
    _apply(rx, method, text)
    return time.perf_counter() - start


def test_regexes_say_why_they_are_linear() -> None:
    """Every regex carries a comment with "linear" on its line or the three above it."""
    missing = set()
    for key, (path, first, last, _) in _compiled().items():
        lines = path.read_text().splitlines()
        window = "\n".join(lines[max(0, first - 4) : last])
        if "linear" not in window.lower():
            missing.add(key)
    assert missing - KNOWN_UNCOMMENTED == set(), "say why these regexes are linear"
    assert KNOWN_UNCOMMENTED - missing == set(), "these now have a comment: drop them from the list"


def test_glob_matchers_built_from_rules_are_linear() -> None:
    """Rule globs (fnmatch) with many stars stay fast on a long non-matching value."""
    from diagnostics.rules.matchers import _globs

    rx = _globs(["*a*a*a*a*c"])
    start = time.perf_counter()
    assert rx.match("a" * SIZE) is None
    assert time.perf_counter() - start < BOUND


@pytest.mark.timeout(30)
def test_policy_wildcards_are_linear_on_long_arns() -> None:
    """A policy Resource with several stars against a long log-supplied ARN answers in 0.2 s."""
    from diagnostics.policy.arn_match import arn_matches

    start = time.perf_counter()
    assert not arn_matches("arn:aws:s3:::b/*a*a*c", "arn:aws:s3:::b/" + "a" * 3000)
    assert time.perf_counter() - start < BOUND
