"""The call a bare denial answers, read from where the tool or SDK prints it.

Each text is shaped the way the tool's own source prints the error (format
strings of the Terraform AWS provider and S3 backend, Packer, Karpenter; the
stack frames of the Ruby, Java and JavaScript SDKs; boto2's query calls).
"""

from __future__ import annotations

import pytest

from diagnostics.extract import extract_text
from diagnostics.model import Failure
from diagnostics.request.infer import infer_action

S3_403 = "AccessDenied: Access Denied\n\tstatus code: 403, request id: 4C2D9A7F1B3E5D60"
EC2_403 = (
    "UnauthorizedOperation: You are not authorized to perform this operation.\n"
    "\tstatus code: 403, request id: 43edddc2-9bdd-4fab-836f-62fcde035979"
)


def _one(text: str) -> Failure:
    found = [infer_action(f) for f in extract_text(text, "paste.txt")]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        # Terraform aws_s3_bucket_object: "Error putting object in S3 bucket (%s): %s".
        (f"Error: Error putting object in S3 bucket (foo): {S3_403}", "s3:PutObject"),
        # Terraform's S3 state backend: "failed to upload state: %s".
        (f"Error saving state: failed to upload state: {S3_403}", "s3:PutObject"),
        # Terraform aws_s3_bucket (v0.x-v3): "Error putting S3 ACL: %s".
        (f"* aws_s3_bucket.b: Error putting S3 ACL: {S3_403}", "s3:PutBucketAcl"),
        # Packer amazon-ebs, after DescribeImages: "Error querying AMI: %s".
        (f"==> amazon-ebs: Error querying AMI: {EC2_403}", "ec2:DescribeImages"),
        # Packer's region check calls DescribeRegions: "error validating regions: %v".
        (f"Build 'amazon-ebs' errored: error validating regions: {EC2_403}", "ec2:DescribeRegions"),
        # bbc/sqs-consumer: "SQS receive message failed: ${err.message}".
        (
            '{"message":"SQS receive message failed: Access to the resource'
            ' https://sqs.eu-west-1.amazonaws.com/ is denied.","level":"error"}',
            "sqs:ReceiveMessage",
        ),
        # bbc/sqs-consumer: "SQS delete message failed: ${err.message}".
        (
            "Error: SQS delete message failed: Access to the resource"
            " https://sqs.eu-west-1.amazonaws.com/ is denied.",
            "sqs:DeleteMessage",
        ),
        # Karpenter wraps CreateFleet's errors: "with fleet error(s), %w".
        (
            "Provisioning failed, launching node, creating cloud provider instance, "
            f"with fleet error(s), {EC2_403}",
            "ec2:CreateFleet",
        ),
    ],
)
def test_a_tool_wording_names_the_call_its_bare_denial_answers(text: str, action: str) -> None:
    """A bare denial after a tool's fixed wording for a call gets that call's IAM action."""
    assert _one(text).action == action


def test_ruby_v1_backtrace_names_the_operation() -> None:
    """The Ruby SDK v1's generated method in the backtrace is the operation that was refused."""
    text = (
        "/gems/aws-sdk-1.51.0/lib/aws/core/client.rb:375:in `return_or_raise': "
        "Access Denied (AWS::S3::Errors::AccessDenied)\n"
        "    from /gems/aws-sdk-1.51.0/lib/aws/core/client.rb:476:in `client_request'\n"
        "    from (eval):3:in `get_bucket_website'\n"
        "    from /gems/aws-sdk-1.51.0/lib/aws/s3/bucket.rb:303:in `website_configuration'\n"
    )
    failure = _one(text)
    assert (failure.operation, failure.action) == ("get_bucket_website", "s3:GetBucketWebsite")


def test_ruby_v3_client_frame_names_the_operation() -> None:
    """The Ruby SDK v3's per-service client.rb frame names the operation that was refused."""
    text = (
        "/gems/aws-sdk-core-3.170.0/lib/seahorse/client/plugins/raise_response_errors.rb:17:"
        "in `call': Access Denied (Aws::S3::Errors::AccessDenied)\n"
        "\tfrom /gems/aws-sdk-s3-1.119.0/lib/aws-sdk-s3/client.rb:12345:in `put_object'\n"
        "\tfrom app.rb:4:in `<main>'\n"
    )
    assert _one(text).action == "s3:PutObject"


def test_java_v1_execute_frame_names_the_operation() -> None:
    """The Java SDK v1's ``executeOp`` frame names the operation that was refused."""
    text = (
        "com.amazonaws.services.sqs.model.AmazonSQSException: Access to the resource "
        "https://sqs.us-east-1.amazonaws.com/ is denied. (Service: AmazonSQS; Status Code: 403; "
        "Error Code: AccessDenied; Request ID: 586aa9b5-fe97-585a-a765-fb72c2fc0746)\n"
        "\tat com.amazonaws.http.AmazonHttpClient$RequestExecutor.handleErrorResponse"
        "(AmazonHttpClient.java:1586)\n"
        "\tat com.amazonaws.http.AmazonHttpClient.execute(AmazonHttpClient.java:524)\n"
        "\tat com.amazonaws.services.sqs.AmazonSQSClient.doInvoke(AmazonSQSClient.java:2207)\n"
        "\tat com.amazonaws.services.sqs.AmazonSQSClient.executeListQueues"
        "(AmazonSQSClient.java:1525)\n"
        "\tat com.amazonaws.services.sqs.AmazonSQSClient.listQueues(AmazonSQSClient.java:1502)\n"
    )
    failure = _one(text)
    assert (failure.operation, failure.action) == ("ListQueues", "sqs:ListQueues")


@pytest.mark.parametrize(
    "frame",
    [
        "deserializeAws_restXmlPutObjectTaggingCommandError",
        "de_PutObjectTaggingCommandError",
    ],
)
def test_js_v3_deserializer_frame_names_the_operation(frame: str) -> None:
    """The JS SDK v3's deserializer frame in an error's stack names the operation."""
    text = (
        '{"errorType": "AccessDenied", "errorMessage": "Access Denied", "Code": "AccessDenied",\n'
        ' "$metadata": {"httpStatusCode": 403, "attempts": 1, "totalRetryDelay": 0},\n'
        ' "stack": ["AccessDenied: Access Denied",\n'
        f'  "    at {frame} (/node_modules/@aws-sdk/client-s3/protocols/Aws_restXml.js:9518:39)",\n'
        '  "    at processTicksAndRejections (node:internal/process/task_queues:95:5)"]}\n'
    )
    failure = _one(text)
    assert (failure.operation, failure.action) == ("PutObjectTagging", "s3:PutObjectTagging")


def test_boto2_query_call_in_the_traceback_names_the_operation() -> None:
    """boto2's ``get_list('Op', ...)`` line in a traceback names the EC2 operation refused."""
    text = (
        "The error was: <Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You "
        "are not authorized to perform this operation.</Message></Error></Errors><RequestID>"
        "a1c6396c-f067-4e6b-bc27-aeebaf780b68</RequestID></Response>\n"
        'Traceback (most recent call last):\n  File "/venv/lib/python2.7/site-packages/boto/'
        'vpc/__init__.py", line 1152, in get_all_subnets\n'
        "    return self.get_list('DescribeSubnets', params, [('item', Subnet)])\n"
    )
    assert _one(text).action == "ec2:DescribeSubnets"


def test_serverless_ec2_wording_wrapped_over_lines() -> None:
    """Lambda's 'denied by EC2 ... permission to Op' names the EC2 call even when wrapped."""
    text = (
        "     - Your access has been denied by EC2, please make sure\n"
        "     your request credentials have permission to DescribeSecurityGroups\n"
        "     for xxxx. EC2 Error Code: UnauthorizedOperation.\n"
        "     EC2 Error Message: You are not authorized to perform\n"
        "     this operation..\n"
    )
    assert _one(text).action == "ec2:DescribeSecurityGroups"


def test_android_transfer_utility_upload_names_put_object() -> None:
    """The AWS Android SDK's ``Failed to upload: <id> due to`` wraps S3's PutObject refusal."""
    text = (
        "D/UploadTask(32647): Failed to upload: 6 due to Access Denied (Service: Amazon S3;"
        " Status Code: 403; Error Code: AccessDenied; Request ID: 1AC7FB214CD42697)\n"
    )
    assert _one(text).action == "s3:PutObject"


def test_go_v1_debug_request_line_names_the_operation() -> None:
    """Go v1's ``DEBUG: Request s3/GetObject Details:`` above a bare denial names its call."""
    before = _one(
        "2019/07/26 19:18:42 DEBUG: Request s3/GetObject Details:\n"
        "---[ REQUEST POST-SIGN ]-----------------------------\n"
        "GET /key HTTP/1.1\nHost: bucket.s3.amazonaws.com\n"
        "-----------------------------------------------------\n"
        f"{S3_403}\n"
    )
    assert (before.operation, before.action) == ("GetObject", "s3:GetObject")


@pytest.mark.parametrize(
    ("code", "action"),
    [
        # Ruby v3: the client's snake_case method, then the bare error.
        (
            "s3 = Aws::S3::Client.new(region: 'eu-west-1', logger: Logger.new('s3.txt'))\n"
            "resp = s3.list_objects(bucket: 'BUCKET_NAME')\n```\n\n"
            "Getting error as **Aws::S3::Errors::AccessDenied: Access Denied**\n",
            "s3:ListBucket",
        ),
        # JS v2: the client's camelCase method with its ``.promise()``.
        (
            "But when I run `await sqs.sendMessage(params).promise();` in my handler, I get this\n"
            '```\n{\n  "message": "Access to the resource https://sqs.eu-west-1.amazonaws.com/'
            ' is denied.",\n  "code": "AccessDenied",\n  "statusCode": 403\n}\n```\n',
            "sqs:SendMessage",
        ),
    ],
)
def test_the_sdk_call_written_right_above_a_bare_denial_names_it(code: str, action: str) -> None:
    """A client method call (``s3.list_objects(``) just above a bare denial is its operation."""
    assert _one(code).action == action


def test_a_call_that_is_no_aws_operation_names_nothing() -> None:
    """``logger.info(...)`` above a bare denial is no operation: the action stays unknown."""
    f = _one("logger.info('fetching')\nAws::S3::Errors::AccessDenied: Access Denied\n")
    assert (f.operation, f.action) == (None, None)


def test_hadoop_s3a_get_file_status_is_a_head_object() -> None:
    """S3A's ``getFileStatus on s3a://...`` denial is its HEAD object: ``s3:GetObject``."""
    f = _one(
        "java.nio.file.AccessDeniedException: s3a://b/k.csv: getFileStatus on s3a://b/k.csv:"
        " com.amazonaws.services.s3.model.AmazonS3Exception: Forbidden (Service: Amazon S3;"
        " Status Code: 403; Error Code: 403 Forbidden; Request ID: 4C2D9A7F1B3E5D60)\n"
    )
    assert (f.operation, f.action) == ("HeadObject", "s3:GetObject")


# The Terraform AWS provider words a failed create "creating <Service> <Resource> (<id>): %w"
# (internal/create's ProblemStandardMessage; before v4, "Error creating <Resource>: %s").
@pytest.mark.parametrize(
    ("head", "action"),
    [
        ("Error: creating EC2 NAT Gateway: ", "ec2:CreateNatGateway"),
        ("Error: Error creating NAT Gateway: ", "ec2:CreateNatGateway"),
        ("Error: creating EC2 Transit Gateway (tgw-main): ", "ec2:CreateTransitGateway"),
    ],
)
def test_terraform_creating_a_resource_names_its_create_call(head: str, action: str) -> None:
    assert _one(head + EC2_403).action == action


@pytest.mark.parametrize(
    "head",
    [
        # The words do not name one operation whole: "API Gateway" is not CreateApi.
        "error: Error creating API Gateway: ",
        # Lower-case words are not a resource name.
        "Still in progress, creating script for the stack: ",
    ],
)
def test_creating_words_that_name_no_operation_leave_the_action_unsaid(head: str) -> None:
    assert _one(head + EC2_403).action is None


def test_ruby_sdk_log_line_names_the_method_and_the_error() -> None:
    """The Ruby SDK's default log line (client class, status, time, retries, method, error
    class, message) and the exception it raises: one refusal of that call, printed twice."""
    text = (
        '[Aws::STS::Client 403 0.2977 0 retries] assume_role(role_arn:"arn:aws:iam::'
        '111122223333:role/Admin",role_session_name:"s") Aws::STS::Errors::AccessDenied '
        "Access denied\n"
        "Aws::STS::Errors::AccessDenied: Access denied\n"
    )
    # The exception under the log line is the same error again (scan folds the two).
    found = [infer_action(f) for f in extract_text(text, "paste.txt")]
    assert [f.source.line for f in found] == [1, 2]
    f = found[0]
    assert (f.action, f.operation, f.error_code) == ("sts:AssumeRole", "AssumeRole", "AccessDenied")
    assert found[1].error_code == "AccessDenied"


def test_a_ruby_error_class_with_another_message_is_no_refusal_by_itself() -> None:
    """A class named after an authorization code whose message says something else only
    lends its code; with nothing to lend it to, nothing is reported."""
    text = "Aws::STS::Errors::AccessDenied: see the trust policy docs for details\n"
    assert extract_text(text) == []
