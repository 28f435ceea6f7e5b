"""The API call a tool names in its own words around an AWS error.

Terraform, Packer, docker-machine, Karpenter, the EBS CSI driver and
Prometheus print what they were doing before the AWS error they got
(``Error launching source instance: UnauthorizedOperation: ...``).  EC2's
bare refusal names no action, so these words are the only place the call is
said.  Each row is the tool's fixed wording (as printed in its public issue
threads) and the one EC2/Lambda operation that wording stands for; the
pipeline maps the operation to its IAM action.

The AWS SDK for Go v1 debug log names the call exactly: ``Validate Response
ec2/DescribeInstanceCreditSpecifications failed``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from diagnostics.extract.assembly.found import Found
from diagnostics.iam.operations import (
    action_for_operation,
    iam_prefix_for,
    is_s3_operation,
    services_with,
    usual_service_for,
)

#: (wording, lower case; service; operation).
TOOL_WORDINGS: tuple[tuple[str, str, str], ...] = (
    # Packer amazon-ebs and Terraform aws_instance (provider <= v3).
    ("launching source instance", "ec2", "RunInstances"),
    # docker-machine's amazonec2 driver.
    ("error launching instance", "ec2", "RunInstances"),
    # Terraform aws_instance (provider >= v4).
    ("creating ec2 instance", "ec2", "RunInstances"),
    # Terraform provider v5 reads the instance type before RunInstances.
    ("reading ec2 instance type", "ec2", "DescribeInstanceTypes"),
    # Karpenter's instance provider.
    ("creating fleet", "ec2", "CreateFleet"),
    # Prometheus EC2 service discovery.
    ("could not describe instances", "ec2", "DescribeInstances"),
    # AWS EBS CSI driver.
    ("could not create volume in ec2", "ec2", "CreateVolume"),
    # Terraform data.aws_ami reads images.
    ("data.aws_ami.", "ec2", "DescribeImages"),
    # Terraform/Pulumi aws_lambda_function.
    ("creating lambda function", "lambda", "CreateFunction"),
    # Terraform aws_security_group.
    ("creating security group", "ec2", "CreateSecurityGroup"),
    # eksctl looks up the zones of the region first.
    ("getting availability zones", "ec2", "DescribeAvailabilityZones"),
    # The AWS Service Broker.
    ("failed to create the cloudformation stack", "cloudformation", "CreateStack"),
    # Terraform aws_s3_bucket_object: "Error putting object in S3 bucket (%s): %s".
    ("error putting object in s3 bucket", "s3", "PutObject"),
    # Terraform's S3 state backend (PutObject, or the upload manager: s3:PutObject too).
    ("failed to upload state", "s3", "PutObject"),
    # Terraform aws_s3_bucket's ACL update: "Error putting S3 ACL: %s".
    ("error putting s3 acl", "s3", "PutBucketAcl"),
    # Packer amazon-ebs wraps DescribeImages' error: "Error querying AMI: %s".
    ("error querying ami", "ec2", "DescribeImages"),
    # Packer's region check (AccessConfig.ValidateRegion calls DescribeRegions).
    ("error validating regions", "ec2", "DescribeRegions"),
    # The sqs-consumer library (Node): "SQS receive message failed: ${err.message}";
    # its delete wording also wraps DeleteMessageBatch, which IAM checks as DeleteMessage.
    ("sqs receive message failed", "sqs", "ReceiveMessage"),
    ("sqs delete message failed", "sqs", "DeleteMessage"),
    # Karpenter wraps CreateFleet's per-request errors: "with fleet error(s), %w".
    ("with fleet error(s)", "ec2", "CreateFleet"),
    # Hadoop S3A: "getFileStatus on <path>" translates the HEAD of S3AFileSystem.getFileStatus
    # (getObjectMetadata), which IAM checks as s3:GetObject.
    ("getfilestatus on s3a://", "s3", "HeadObject"),
)
# Serverless prints Lambda's sentence hard-wrapped, so the gap may span lines.
# Linear: literals and bounded classes; the lazy gap is bounded and stops at a literal.
_LAMBDA_EC2 = re.compile(
    r"denied by EC2, please make sure\s[\s\S]{0,120}?\spermission to\s{1,20}"
    r"(?P<op>[A-Z][A-Za-z0-9]{2,100})"
)
#: How far before a failure the tool's words may be.
REACH = 300

# Linear: anchored at a found literal; two bounded disjoint classes around "/".
_GO_DEBUG = re.compile(
    r"Validate Response (?P<svc>[a-z0-9-]{1,64})/(?P<op>[A-Za-z0-9]{1,128}) failed"
)


# aws-sdk-go v1's debug log: "DEBUG: Request s3/GetObject Details:" (and "Response").
# Linear: literals around two bounded disjoint classes split by "/".
_GO_DEBUG_DETAILS = re.compile(
    r"DEBUG: Re(?:quest|sponse) (?P<svc>[a-z0-9-]{1,64})/(?P<op>[A-Za-z0-9]{1,128}) Details"
)
# A client method call in the code a user pasted above the error: Ruby's and
# boto3's ``s3.list_objects(``, the JS v2 ``sqs.sendMessage(params).promise()``.
# Linear: a lookbehind of one class, two bounded classes split by a literal dot.
_SDK_CALL = re.compile(
    r"(?<![A-Za-z0-9_.])[a-z][A-Za-z0-9_]{0,40}\.(?P<m>[a-z][A-Za-z0-9_]{2,80})\("
)


# Linear: literals around bounded classes.
_PHP = re.compile(
    r'Error executing "(?P<op>[A-Z][A-Za-z0-9]{1,100})" on "https://(?P<svc>[a-z0-9-]{1,64})\.'
)
# The JS SDK v3 names its deserializers after the protocol and the command
# (``deserializeAws_restXmlPutObjectCommandError``; since 3.2xx ``de_PutObjectCommandError``).
# Linear: a literal, a fixed alternation of protocol names, then one bounded class and a literal.
_JS_V3 = re.compile(
    r"deserializeAws_(?:restXml|restJson1|awsJson1_0|awsJson1_1|query|ec2)"
    r"(?P<op>[A-Z][A-Za-z0-9]{1,100})Command"
)
#: How far after a failure its stack trace may still name the call (a
#: traceback or a Java/Ruby/JS stack prints it a few frames down).
FRAME_REACH = 1500
# Stack frames that name the operation, each an SDK's own naming:
# the JS v3 ``de_OpCommand`` deserializer; the Java v1 client's ``executeOp(``;
# a Java v2 ``DefaultSvcClient.op(`` (sync and async); Ruby v1's generated
# ``(eval):3:in `get_object'`` and Ruby v3's ``aws-sdk-s3/client.rb:N:in `get_object'``;
# boto2's query calls ``self.get_list('DescribeSubnets', ...)``; the Kotlin SDK's
# generated ``aws.sdk.kotlin.services.s3.serde.HeadObjectOperationDeserializer``.
# Linear: alternatives each start with a distinct literal and hold bounded classes only.
_STACK_OP = re.compile(
    r"(?<![A-Za-z0-9_])de_(?P<js>[A-Z][A-Za-z0-9]{1,100})Command"
    r"|deserializeAws_(?:restXml|restJson1|awsJson1_0|awsJson1_1|query|ec2)"
    r"(?P<js_old>[A-Z][A-Za-z0-9]{1,100})Command"
    r"|Client\.execute(?P<java1>[A-Z][A-Za-z0-9]{1,100})\("
    r"|Default[A-Z][A-Za-z0-9]{0,60}Client\.(?P<java2>[a-z][A-Za-z0-9]{1,100})\("
    r"|(?:\(eval\)|/aws-sdk-[a-z0-9]{1,40}/client\.rb):\d{1,7}:in [`']"
    r"(?P<ruby>[a-z][a-z0-9_]{1,100})'"
    r"|\.(?:get_list|get_object|get_status|make_request)\('(?P<boto2>[A-Z][A-Za-z0-9]{1,100})'"
    r"|\.serde\.(?P<kotlin>[A-Z][A-Za-z0-9]{1,100})OperationDeserializer"
)


def stack_operation(text: str, end: int, limit: int) -> str | None:
    """The operation the first SDK stack frame in ``text[end:limit]`` names, as printed.

    Ruby prints ``get_object`` and Java ``listQueues``; ``iam.operations`` reads
    both as the API's ``GetObject`` / ``ListQueues``.
    """
    m = _STACK_OP.search(text, end, min(limit, end + FRAME_REACH))
    if m is None:
        return None
    return next(v for v in m.groups() if v)


# The AWS Android SDK's TransferUtility (UploadTask): "Failed to upload: " + id + " due to ".
# Linear: a literal, bounded digits, a literal.
_ANDROID_UPLOAD = re.compile(r"Failed to upload: \d{1,10} due to ")


def lambda_ec2_operation(text: str, start: int, end: int) -> str | None:
    """The EC2 call Lambda's VPC set-up names before ``text[start:end]``, if any.

    "Your access has been denied by EC2, please make sure your request
    credentials have permission to CreateNetworkInterface".
    """
    i = text.rfind("denied by EC2, please make sure", max(0, start - REACH), end)
    m = _LAMBDA_EC2.match(text, i) if i != -1 else None
    return m.group("op") if m else None


#: How a line of a stack trace starts once its indentation is gone: Java and
#: JS ``at``, Ruby ``from``, Python ``File``/``Traceback``, Java's ``Caused by``.
_FRAME_STARTS = ("at ", "from ", "File ", "Traceback", "Caused by", "...")


def _frame_line(line: str) -> bool:
    return line[:1] in (" ", "\t") or line.lstrip().startswith(_FRAME_STARTS)


def with_stack_below(found: list[Found], below: Iterable[str]) -> list[Found]:
    """``found`` with the operation a stack trace printed below the record names.

    Only the record's last failure can own the frames that follow it, and only
    when nothing named its call yet.  ``below`` is read lazily, one line at a
    time, and only while the lines are stack frames, so a record followed by
    an ordinary line waits for no more than that one line.
    """
    if not found:
        return found
    last = found[-1]
    if last.action is not None or last.operation is not None or last.kind == "decoded":
        return found
    for line in below:
        op = stack_operation(line, 0, len(line))
        if op is not None:
            return [*found[:-1], replace(last, operation=op)]
        if not _frame_line(line):
            break  # a stack trace is one run of frame lines
    return found


def with_call_above(found: list[Found], above: Callable[[], list[str]]) -> list[Found]:
    """``found`` with the call the lines above its first failure name, when nothing else did.

    Go v1's debug log prints ``DEBUG: Request s3/GetObject Details:`` before
    the error, and users paste the SDK call that failed (``s3.list_objects(``)
    right above it.  ``above`` is called only when the failure still lacks
    its call, so a denial that names it reads no earlier lines.
    """
    if not found:
        return found
    first = found[0]
    if first.action is not None or first.operation is not None or first.kind == "decoded":
        return found
    text = "\n".join(above()) + "\n"
    m = _go_debug_before(text, len(text), len(text))
    if m:
        named = replace(first, operation=m.group("op"), event_source=m.group("svc"))
    elif op := sdk_call_for(first, text, len(text)):
        named = replace(first, operation=op)
    else:
        return found
    return [named, *found[1:]]


#: The codes S3 gives a bare refusal (a HEAD's is its HTTP status).
_BARE_S3_CODES = frozenset({"AccessDenied", "403", "Forbidden"})


def _refused_call(op: str, found: Found) -> bool:
    """``op`` is a call of the service that refused ``found`` (by its name or its code)."""
    if found.event_source:
        return action_for_operation(found.event_source, op) is not None
    code = found.error_code or ""
    if code in _BARE_S3_CODES and is_s3_operation(op):
        return True
    return usual_service_for(op, code) is not None


def tool_operation(
    text: str, start: int, end: int, limit: int | None = None
) -> tuple[str | None, str] | None:
    """(service, operation) a tool's wording right before ``text[start:end]`` names.

    The service is None when the wording names only the call (the JS SDK v3's
    ``deserializeAws_queryCreateQueueCommandError`` stack frame).  ``limit`` is
    where the next failure starts: a stack frame after it is that failure's.
    """
    lo = max(0, start - REACH)
    i = text.rfind('Error executing "', lo, end)
    if i != -1 and (m := _PHP.match(text, i)):
        return m.group("svc"), m.group("op")  # the PHP SDK: 'Error executing "Op" on "https://svc.'
    i = text.find("deserializeAws_", start, end + REACH)
    if i != -1 and (m := _JS_V3.match(text, i)):
        return None, m.group("op")
    i = text.rfind("Validate Response ", lo, end)
    if i != -1:
        m = _GO_DEBUG.match(text, i)
        if m:
            return m.group("svc"), m.group("op")
    m = _go_debug_before(text, start, end)
    if m:
        return m.group("svc"), m.group("op")
    if op := lambda_ec2_operation(text, start, end):
        return "ec2", op
    i = text.rfind(_RUBY_LOG_HEAD, lo, end)
    if i != -1 and (m := _RUBY_LOG.match(text, i)):
        return m["svc"].lower(), "".join(w.capitalize() for w in m["op"].split("_"))
    if _ANDROID_UPLOAD.search(text, lo, end):
        return "s3", "PutObject"  # single and multipart uploads both need s3:PutObject
    window = text[lo:end].lower()
    best: tuple[int, str, str] | None = None
    for wording, service, operation in TOOL_WORDINGS:
        at = window.rfind(wording)
        if at != -1 and (best is None or at > best[0]):
            best = (at, service, operation)  # the innermost (last) wording wins
    if best:
        return best[1], best[2]
    if (created := _creating(text, lo, end)) is not None:
        return created
    op = stack_operation(text, start, len(text) if limit is None else limit)
    return (None, op) if op else None


_RUBY_LOG_HEAD = "[Aws::"
# The Ruby SDK's default log line: "[Aws::STS::Client 403 0.29 0 retries] assume_role(...)"
# (Seahorse's log formatter: client class, status, time, retries, then the method).
# Linear: anchored at a found literal; bounded classes between literals.
_RUBY_LOG = re.compile(
    r"\[Aws::(?P<svc>[A-Za-z0-9]{1,40})::Client [0-9]{3} [0-9.]{1,20} [0-9]{1,3} retries\] "
    r"(?P<op>[a-z][a-z0-9_]{1,80})\("
)


# Terraform's AWS provider words a failed create "creating <Service> <Resource> (<id>):"
# (older: "Error creating <Resource>:"), the resource in title case, acronyms in capitals.
# Linear: anchored at a found literal; at most five bounded words.
_CREATING = re.compile(
    r"[Cc]reating (?P<words>[A-Z][A-Za-z0-9]{0,30}(?: [A-Z][A-Za-z0-9]{0,30}){0,4})"
)


def _creating(text: str, lo: int, end: int) -> tuple[str | None, str] | None:
    """(service, ``Create<Resource>``) from a tool's "creating <Service> <Resource>", when
    exactly that operation exists: all the words name it ("API Gateway" is no
    CreateApi), after the service's name if it leads (IAM, EC2)."""
    at = max(text.rfind("creating ", lo, end), text.rfind("Creating ", lo, end))
    m = _CREATING.match(text, at) if at != -1 else None
    if m is None:
        return None
    words = m.group("words").split(" ")
    hint = iam_prefix_for(words[0].lower()) if len(words) > 1 else None
    if hint is not None:
        op = "Create" + "".join(w.capitalize() for w in words[1:])
        if hint in services_with(op):
            return hint, op
    op = "Create" + "".join(w.capitalize() for w in words)
    services = services_with(op)
    return (services[0], op) if len(services) == 1 else None


def _go_debug_before(text: str, start: int, end: int) -> re.Match[str] | None:
    """The Go v1 debug line for the request before ``text[start:end]`` (its dump may be long)."""
    lo = max(0, start - FRAME_REACH)
    i = max(text.rfind("DEBUG: Request ", lo, end), text.rfind("DEBUG: Response ", lo, end))
    return _GO_DEBUG_DETAILS.match(text, i) if i != -1 else None


def sdk_call_for(found: Found, text: str, start: int) -> str | None:
    """The operation of the SDK call written just before ``start``, if ``found`` refused it."""
    op = sdk_call_before(text, start)
    return op if op and _refused_call(op, found) else None


def sdk_call_before(text: str, start: int) -> str | None:
    """The API operation of the last SDK client call written just before ``start``.

    ``s3.list_objects(`` is ``ListObjects``, ``sqs.sendMessage(`` ``SendMessage``:
    each SDK names its client methods after the API's operations.  A call that
    names no operation (``logger.info(``) names nothing.
    """
    last = None
    for m in _SDK_CALL.finditer(text, max(0, start - REACH), start):
        last = m.group("m")
    if last is None:
        return None
    if "_" in last:
        op = "".join(part[:1].upper() + part[1:] for part in last.split("_"))
    else:
        op = last[:1].upper() + last[1:]
    return op
