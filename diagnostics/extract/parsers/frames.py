"""The SDK and CLI wrappers around an AWS error: error code and operation.

- AWS CLI and boto3: ``An error occurred (AccessDenied) when calling the
  GetObject operation: ...`` (older botocore: ``A client error (X) occurred
  when calling the Y operation``).
- Go SDK v2: ``operation error S3: GetObject, https response error StatusCode:
  403, RequestID: ..., api error AccessDenied: ...``.
- Go SDK v1 (and Terraform, Packer built on it): ``AccessDenied: Access Denied``
  followed by ``status code: 403, request id: ...``.
- Java SDK: ``(Service: Amazon S3; Status Code: 403; Error Code: AccessDenied;
  Request ID: ...)``, v2 with commas.

Each frame is found with ``str.find`` on its fixed text and read with an
anchored regex.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from diagnostics.extract.parsers.exception_frames import find_exception_classes
from diagnostics.iam.error_codes import CODE_WORDS, code_word_starts, is_authz_error_code

# Linear: anchored; one bounded class per group between literals.
_CLI = re.compile(
    r"\((?P<code>[A-Za-z0-9_.]{1,100})\) when calling the (?P<op>[A-Za-z0-9_]{1,100}) operation"
)
# Linear: anchored; bounded classes between literals.
_CLI_OLD = re.compile(
    r"A client error \((?P<code>[A-Za-z0-9_.]{1,100})\) occurred"
    r" when calling the (?P<op>[A-Za-z0-9_]{1,100}) operation"
)
# Linear: anchored; at most three bounded parenthesised groups, no nested repetition inside.
_CLI_ON = re.compile(
    r"An error occurred \((?P<code>[A-Za-z0-9_.]{1,100})\)"
    r"(?: on [a-z]{1,20} \([^()\n]{1,300}\)){1,3}"
    r" when calling the (?P<op>[A-Za-z0-9_]{1,100}) operation"
)
# Linear: anchored; bounded classes between literals.
_GO2_OP = re.compile(
    r"operation error (?P<svc>[A-Za-z0-9 ._-]{1,64}): (?P<op>[A-Za-z0-9_]{1,100}),"
)
# Linear: anchored; one bounded class.
_GO2_CODE = re.compile(r"api error (?P<code>[A-Za-z0-9_.]{1,100}):")
# Linear: anchored; bounded classes between literals.
_JAVA = re.compile(
    r"\(Service: (?P<svc>[A-Za-z0-9 ._-]{1,64})[;,] Status Code: (?P<status>\d{3})[;,]"
    # A wrap may fall between "Error" and "Code"; the code may close the frame.
    r"(?:\s{1,3}Error\s{1,3}Code: (?P<code>403 Forbidden|[A-Za-z0-9_.]{1,100})[;,)])?"
)
# Linear: anchored at a found position; one bounded class then a literal.
_CODE_COLON = re.compile(r"(?P<code>[A-Z][A-Za-z0-9]{2,100}(?:\.[A-Za-z0-9]{1,100})?): ")
# Linear: one class, matched forward from a found position (letters, digits, dots).
_CODE_RUN = re.compile(r"(?:[^\W_]|\.)*")
# Linear: anchored literal plus bounded digits.
_STATUS_403 = re.compile(r"[Ss]tatus ?[Cc]ode:? ?403\b")


#: The CLI's frame followed by the service's whole, bare message.
_BARE_AFTER_CLI = (": Access Denied", ": Forbidden")

#: Operation names only one service has, so a CLI frame names that service too
#: (STS refuses these two to session credentials: "Cannot call GetSessionToken
#: with session credentials", an AccessDenied with no principal or action).
_CLI_SERVICE = {
    "HeadObject": "s3",
    "HeadBucket": "s3",
    "GetSessionToken": "sts",
    "GetFederationToken": "sts",
}


@dataclass(frozen=True, slots=True)
class Frame:
    """An SDK or CLI error wrapper; ``after`` frames (Java) follow their message."""

    start: int
    end: int
    error_code: str | None
    operation: str | None
    authz: bool
    after: bool = False
    standalone_ok: bool = True
    service: str | None = None
    #: A code field (``code: 'AccessDenied'``) may sit before or after its message.
    either: bool = False
    #: The frame is visibly cut (``... when calling the`` and the text ends).
    cut: bool = False
    #: The message after the frame is the service's bare one ("Access Denied").
    bare: bool = False


#: At most this many frames per text: a hostile line repeating "AccessDenied: "
#: a hundred thousand times must not cost quadratic time (real ones hold a few).
MAX_FRAMES = 256


def find_frames(text: str) -> list[Frame]:
    """Every SDK/CLI error frame in ``text``, in order (at most ``MAX_FRAMES``)."""
    frames: list[Frame] = []
    _find_cli(text, frames)
    _find_go2(text, frames)
    _find_go2_operation_only(text, frames)
    _find_java(text, frames)
    _find_go1(text, frames)
    _find_cut_cli(text, frames)
    _find_xml(text, frames)
    _find_classes(text, frames)
    _find_code_fields(text, frames)
    if "state" in text:
        _find_terraform_state(text, frames)
    if _RUST_UNHANDLED in text:
        _find_rust_unhandled(text, frames)
    if _PHP_S3_CLASS in text:
        _find_php_s3_class(text, frames)
    if _KOTLIN_403 in text:
        _find_kotlin_bodiless(text, frames)
    if _CFN_API in text:
        _find_cfn_api_bare(text, frames)
    frames.sort(key=lambda f: f.start)
    return frames


# Linear: anchored at the found literal; one bounded class.
_CLI_CODE_ONLY = re.compile(r"An error occurred \((?P<code>[A-Za-z0-9_.]{1,100})\)")
# Linear: anchored at the found literal; one bounded class between literals.
_XML_CODE = re.compile(r"<Code>(?P<code>[A-Za-z0-9_.]{1,100})</Code>")


def _find_classes(text: str, out: list[Frame]) -> None:
    """Java, .NET, PHP and Ruby exception classes around a refusal message."""
    if "Exception: " not in text and "::Errors::" not in text and "Error executing" not in text:
        return
    taken = {f.start for f in out}
    for start, end, code, op, service, alone in find_exception_classes(text):
        if start not in taken and len(out) < MAX_FRAMES:
            out.append(
                Frame(start, end, code, op, True, standalone_ok=alone, service=service, either=True)
            )


def _find_cut_cli(text: str, out: list[Frame]) -> None:
    """``An error occurred (AccessDenied) when calling the`` cut before its operation."""
    taken = {f.start for f in out}
    i = text.find("An error occurred (")
    while i != -1 and len(out) < MAX_FRAMES:
        m = _CLI_CODE_ONLY.match(text, i)
        if m and i not in taken and is_authz_error_code(m.group("code")):
            rest = text[m.end() : m.end() + 40].rstrip()
            cut = rest in ("", " when calling", " when calling the")
            out.append(Frame(i, m.end(), m.group("code"), None, True, cut=cut))
        i = text.find("An error occurred (", i + 1)


def _find_xml(text: str, out: list[Frame]) -> None:
    """An AWS XML error body: ``<Error><Code>AccessDenied</Code><Message>...``."""
    i = text.find("<Code>")
    while i != -1 and len(out) < MAX_FRAMES:
        m = _XML_CODE.match(text, i)
        if m and is_authz_error_code(m.group("code")):
            # With its <Message> it is a whole refusal even with nothing else around it.
            whole = text.startswith("<Message>", m.end()) or "<Message>" in text[max(0, i - 80) : i]
            out.append(Frame(i, m.end(), m.group("code"), None, True, standalone_ok=whole))
        i = text.find("<Code>", i + 1)


def _find_cli(text: str, out: list[Frame]) -> None:
    i = text.find(" when calling the ")
    while i != -1:
        open_paren = text.rfind("(", max(0, i - 102), i)
        if open_paren != -1:
            m = _CLI.match(text, open_paren)
            old_start = text.rfind("A client error (", max(0, i - 130), i)
            if m is None and old_start != -1:
                m = _CLI_OLD.match(text, old_start)  # "A client error (X) occurred when ..."
            dyn_start = text.rfind("An error occurred (", max(0, i - 1000), i)
            if m is None and dyn_start != -1:
                # PynamoDB: "An error occurred (X) on request (id) on table (t) when calling ..."
                m = _CLI_ON.match(text, dyn_start)
            if m:
                start = text.rfind("An error occurred", max(0, open_paren - 20), open_paren)
                old = text.rfind("A client error", max(0, open_paren - 20), open_paren)
                if old != -1 and _CLI_OLD.match(text, old):
                    start = old
                code, op = m.group("code"), m.group("op")
                authz, service = is_authz_error_code(code), _CLI_SERVICE.get(op)
                if code == "403":
                    # The CLI's text for a body-less 403 (HEAD has no error document; any
                    # other call refused before a body was written, by a proxy or an
                    # endpoint policy): botocore reports the HTTP status and its reason.
                    authz = text.startswith(": Forbidden", m.end())
                out.append(
                    Frame(
                        start if start != -1 else open_paren,
                        m.end() + (len(": Forbidden") if code == "403" and authz else 0),
                        code,
                        op,
                        authz,
                        service=service,
                        bare=text.startswith(_BARE_AFTER_CLI, m.end()),
                    )
                )
        if len(out) >= MAX_FRAMES:
            return
        i = text.find(" when calling the ", i + 1)


def _find_go2_operation_only(text: str, out: list[Frame]) -> None:
    """``operation error Bedrock: PutX, https response error StatusCode: 403, User: ...``:
    Go SDK v2 without an ``api error`` code still names the operation."""
    spans = [(f.start, f.end) for f in out]
    i = text.find("operation error ")
    while i != -1 and len(out) < MAX_FRAMES:
        m = _GO2_OP.match(text, i)
        if m and not any(a <= i < b for a, b in spans):
            service = m.group("svc").strip()
            out.append(Frame(i, m.end(), None, m.group("op"), False, service=service))
        i = text.find("operation error ", i + 1)


def _find_go2(text: str, out: list[Frame]) -> None:
    i = text.find("api error ")
    while i != -1:
        m = _GO2_CODE.match(text, i)
        if m:
            code = m.group("code")
            op = service = None
            start = i
            o = text.rfind("operation error ", max(0, i - 600), i)
            if o != -1:
                om = _GO2_OP.match(text, o)
                if om:
                    op = om.group("op")
                    service = om.group("svc").strip()
                    start = o
            out.append(Frame(start, m.end(), code, op, is_authz_error_code(code), service=service))
        if len(out) >= MAX_FRAMES:
            return
        i = text.find("api error ", i + 1)


def _find_java(text: str, out: list[Frame]) -> None:
    i = text.find("(Service: ")
    while i != -1:
        m = _JAVA.match(text, i)
        if m:
            code = m.group("code")
            status = m.group("status")
            if code == "403 Forbidden":
                authz = True  # Java v1's words for a body-less 403 (a HEAD request)
            elif code:
                authz = is_authz_error_code(code)
            else:
                # SDK v2 gives no error code; a 403 "Access Denied" is still a refusal, and
                # so is a HEAD's 403 with no message at all ("null", docs/error-shapes.md).
                before = text[max(0, i - 40) : i].rstrip().lower()
                authz = status == "403" and before.endswith(("access denied", "forbidden", "null"))
            service = _java_service(m.group("svc"))
            out.append(Frame(i, m.end(), code, None, authz, after=True, service=service))
        if len(out) >= MAX_FRAMES:
            return
        i = text.find("(Service: ", i + 1)


def _java_service(name: str) -> str | None:
    """``Amazon S3`` / ``AmazonEC2`` / ``Ec2`` -> ``S3`` / ``EC2`` / ``Ec2`` (a service name)."""
    s = name.strip()
    for prefix in ("Amazon ", "Amazon", "AWS ", "AWS"):
        if s.startswith(prefix) and len(s) > len(prefix):
            s = s[len(prefix) :]
            break
    s = s.replace(" ", "")
    return s or None


def _find_go1(text: str, out: list[Frame]) -> None:
    """``AccessDenied: ...`` (Go SDK v1): only codes in the authz table count.

    Alone (no message we parse) it needs a following ``status code: 403`` to be
    told apart from an application's own "AccessDenied:" text.
    """
    # A code holds a code word and runs unbroken to its ": ": only the ": "
    # right after a code word's run can close one.
    taken = {f.start for f in out}
    spans = sorted((f.start, f.end + 2) for f in out)
    last = -1
    for looked, word in enumerate(code_word_starts(text)):
        if len(out) >= MAX_FRAMES or looked >= 16 * MAX_FRAMES:
            break
        run = _CODE_RUN.match(text, word)
        assert run is not None  # "*" matches even an empty run
        i = run.end()
        if i == last or not text.startswith(": ", i):
            continue
        last = i
        j = i
        floor = max(0, i - 101)
        while j > floor and (text[j - 1].isalnum() or text[j - 1] == "."):
            j -= 1
        if j < i and (j == 0 or not text[j - 1].isalnum()):
            m = _CODE_COLON.match(text, j)
            if m and m.end() == i + 2 and is_authz_error_code(m.group("code")) and j not in taken:
                k = bisect_right(spans, (j, 1 << 62))
                covered = any(a <= j < b for a, b in spans[max(0, k - 4) : k])
                if not covered:
                    status = _STATUS_403.search(text, i, min(len(text), i + 2400)) is not None
                    # "AccessDenied: Access Denied" (JS String(err)): the service's own
                    # bare message after the code is evidence enough.
                    bare = text.startswith(_BARE_MESSAGES, i + 2) or text.startswith(
                        _JS_V2_BODILESS, j
                    )
                    code = _unglued(m.group("code"))
                    out.append(Frame(j, i + 2, code, None, True, standalone_ok=status or bare))


#: The Rust SDK's Display of an operation error whose code it does not model
#: (smithy-rs codegen: ``unhandled error ({code})``), a link of anyhow's or eyre's chain.
_RUST_UNHANDLED = "unhandled error ("
# Linear: anchored at the found literal; one bounded class then a literal.
_RUST_CODE = re.compile(r"unhandled error \((?P<code>[A-Za-z0-9_.]{1,100})\)")


def _find_rust_unhandled(text: str, out: list[Frame]) -> None:
    i = text.find(_RUST_UNHANDLED)
    while i != -1 and len(out) < MAX_FRAMES:
        m = _RUST_CODE.match(text, i)
        if m and is_authz_error_code(m["code"]):
            out.append(Frame(i, m.end(), m["code"], None, True))
        i = text.find(_RUST_UNHANDLED, i + 1)


#: The amazon-s3-php-class library (and its forks, ``UpdraftPlus_S3::``) warns with
#: ``sprintf("S3::putObject(): [%s] %s", code, message)``: S3's code in brackets.
_PHP_S3_CLASS = "S3::"
# Linear: anchored at the found literal; bounded classes between literals.
_PHP_S3_CALL = re.compile(
    r"S3::(?P<method>[a-z][A-Za-z]{1,60})\(\): \[(?P<code>[A-Za-z0-9_.]{1,100})\]"
)
#: The library's methods whose S3 operation is not their own name, capitalised.
_PHP_S3_OPERATIONS = {
    "getBucket": "ListObjects",
    "putBucket": "CreateBucket",
    "getObjectInfo": "HeadObject",
}


def _find_php_s3_class(text: str, out: list[Frame]) -> None:
    i = text.find(_PHP_S3_CLASS)
    while i != -1 and len(out) < MAX_FRAMES:
        m = _PHP_S3_CALL.match(text, i)
        if m and is_authz_error_code(m["code"]):
            method = m["method"]
            op = _PHP_S3_OPERATIONS.get(method, method[0].upper() + method[1:])
            out.append(Frame(i, m.end(), m["code"], op, True, service="s3"))
        i = text.find(_PHP_S3_CLASS, i + 1)


#: smithy-kotlin's ServiceException message when the service sent none: "Service returned
#: error code {code}, Error type: {type}, Protocol response: {summary}, Request ID: ...",
#: the summary being the HTTP status line ("HTTP 403 Forbidden", a body-less 403).
_KOTLIN_403 = "Protocol response: HTTP 403"
_KOTLIN_HEAD = "Service returned error code "
# Linear: anchored at a found position; one bounded class per group between literals.
_KOTLIN_CLASS = re.compile(
    r"aws\.sdk\.kotlin\.services\.(?P<svc>[a-z0-9]{1,40})\.model\.[A-Za-z0-9]{1,80}: "
)


def _find_kotlin_bodiless(text: str, out: list[Frame]) -> None:
    i = text.find(_KOTLIN_403)
    while i != -1 and len(out) < MAX_FRAMES:
        head = text.rfind(_KOTLIN_HEAD, max(0, i - 300), i)
        if head != -1:
            cls = text.rfind("aws.sdk.kotlin.services.", max(0, head - 200), head)
            m = _KOTLIN_CLASS.match(text, cls) if cls != -1 else None
            service = m["svc"] if m and m.end() == head else None
            out.append(Frame(head, i + len(_KOTLIN_403), "403", None, True, service=service))
        i = text.find(_KOTLIN_403, i + 1)


#: Terraform's words before the Go SDK's ``Code: message`` when a state operation on
#: its S3 backend fails (command/meta_backend, statemgr's lock error); a paste often
#: keeps only the code ("Error refreshing state: AccessDenied").
_CFN_API = "API:"
# Linear: anchored at a found "API:"; bounded classes around literals.
_CFN_API_BARE = re.compile(
    r"API: ?(?P<svc>[a-z0-9-]{1,64}):(?P<op>[A-Z][A-Za-z0-9]{1,127})[ \t]{1,4}"
    r"(?:Access Denied|Forbidden)(?![A-Za-z])"
)


def _find_cfn_api_bare(text: str, out: list[Frame]) -> None:
    """``API: s3:PutBucketPolicy Access Denied``: a CloudFormation resource's status
    reason names the call it made, then the service's message, here the bare one."""
    i = text.find(_CFN_API)
    while i != -1 and len(out) < MAX_FRAMES:
        m = _CFN_API_BARE.match(text, i)
        if m is not None:
            op, svc = m.group("op"), m.group("svc")
            out.append(Frame(i, m.end(), None, op, True, service=svc, bare=True))
        i = text.find(_CFN_API, i + len(_CFN_API))


_TF_STATE = (
    "Error refreshing state: ",
    "Error loading state: ",
    "Error saving state: ",
    "Failed to save state: ",
    "Error acquiring the state lock: Error message: ",
)
# Linear: anchored at a found position; one bounded class.
_LEAD_CODE = re.compile(r"[A-Z][A-Za-z0-9]{2,100}")


def _find_terraform_state(text: str, out: list[Frame]) -> None:
    """A refusal code right after Terraform's state-error words is that error's code."""
    spans = [(f.start, f.end) for f in out]
    for prefix in _TF_STATE:
        i = text.find(prefix)
        while i != -1 and len(out) < MAX_FRAMES:
            at = i + len(prefix)
            code = _leading_code(text, at)
            if code and not any(a <= at < b for a, b in spans):
                out.append(Frame(at, at + len(code), code, None, True))
            i = text.find(prefix, at)


def _leading_code(text: str, at: int) -> str | None:
    """The refusal code ``text`` holds at ``at``, also when a page flattened from HTML
    glued the next block's first word on (``AccessDeniedOr during an apply``)."""
    m = _LEAD_CODE.match(text, at)
    if m is None:
        return None
    run = m.group(0)
    if run.endswith((*CODE_WORDS, "Exception", "Fault", "Error")):
        return run if is_authz_error_code(run) else None
    # Codes end with their code word or a class suffix; a capital after the code word
    # starts a glued word, a small letter a longer word ("AccessDeniedly").
    ends = [run.find(w) + len(w) for w in CODE_WORDS if w in run]
    end = max(ends, default=0)
    if 0 < end < len(run) and run[end].isupper() and is_authz_error_code(run[:end]):
        return run[:end]
    return None


#: The messages services give a refusal that names nothing (S3, and a body-less 403;
#: aws-sdk-js v2 prints a body-less 403 as ``Forbidden: null``, docs/error-shapes.md).
_BARE_MESSAGES = ("Access Denied", "Forbidden")
_JS_V2_BODILESS = "Forbidden: null"


def _unglued(code: str) -> str:
    """``SenderAccessDeniedUser`` -> ``AccessDenied``: the PHP SDK strips the XML tags of
    ``<Type>Sender</Type><Code>AccessDenied</Code><Message>User: ...`` and glues them."""
    for prefix in ("Sender", "Receiver"):
        if code.startswith(prefix) and is_authz_error_code(code[len(prefix) :]):
            code = code[len(prefix) :]
    if code.endswith("User") and is_authz_error_code(code[:-4]):
        code = code[:-4]
    return code


#: Keys SDK error objects and JSON logs print the error code under.
_CODE_KEYS = ("code", "Code", "errorType", "ErrorCode", "errorCode", "::Errors::", "__type")
# Linear: anchored at a found key; bounded blanks and quotes, one bounded class.
_CODE_FIELD = re.compile(
    r"""(?:code|Code|errorType|ErrorCode|errorCode|__type)["']?[ \t]{0,4}[:=][ \t]{0,4}"""
    # Rust's Debug output wraps the code in Some("..."); Python 2 prints u'...'. A json
    # protocol body's __type may keep its namespace ("com.amazon.coral.service#Code"),
    # which botocore drops at the "#".
    r"""(?:Some\(|u)?["'](?:[A-Za-z0-9_.]{1,100}#)?(?P<code>[A-Za-z0-9_.]{1,100})["']"""
    r"""|::Errors::(?P<ruby>[A-Za-z0-9_]{1,100})"""
)


#: How far from a code field the JS SDK v3's ``$metadata`` of the same error may be.
_METADATA_REACH = 1200


def _js_v3_error(text: str, at: int) -> bool:
    """The code field belongs to a JS SDK v3 service exception (``JSON.stringify(err)``,
    ``console.log(err)``): every one carries ``$metadata`` with the HTTP status, which
    no application's own error does."""
    lo = max(0, at - _METADATA_REACH)
    near = text[lo : at + _METADATA_REACH]
    return "$metadata" in near and "httpStatusCode" in near


def _find_code_fields(text: str, out: list[Frame]) -> None:
    """``code: 'AccessDenied'`` (JS SDK v2), ``"ErrorCode":"X"`` (JSON logs),
    ``Aws::Lambda::Errors::X`` (Ruby): they lend their code to the message beside them."""
    taken = {f.start for f in out}
    for key in _CODE_KEYS:
        i = text.find(key)
        while i != -1 and len(out) < MAX_FRAMES:
            m = _CODE_FIELD.match(text, i)
            code = (m.group("code") or m.group("ruby")) if m else None
            if m and code and i not in taken and is_authz_error_code(code):
                # A json-protocol body's "__type", and the Rust SDK's Debug of its error
                # metadata (code: Some("...")), are AWS's alone: a refusal even with no message.
                alone = key == "__type" or "Some(" in m.group(0) or _js_v3_error(text, i)
                out.append(Frame(i, m.end(), code, None, True, standalone_ok=alone, either=True))
                taken.add(i)
            i = text.find(key, i + len(key))
