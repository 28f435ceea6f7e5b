"""SDK exception classes that print only the service's message: Java, .NET, PHP, Ruby.

A bare S3 refusal reaches a log as ``S3Exception: Access Denied (Service: S3,
...)`` (Java v2, no error code), ``Amazon.S3.AmazonS3Exception: Access Denied``
(.NET), ``Aws\\S3\\Exception\\S3Exception: Error executing "PutObject" ...``
(PHP) or ``Access Denied (Aws::S3::Errors::AccessDenied)`` (Ruby).  The class
names the service (and, for Ruby, the code); the message says it was a
refusal.  Templates: docs/error-shapes.md.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from diagnostics.iam.error_codes import is_authz_error_code

# Linear: anchored at a found "Exception: "; each alternative a literal and one
# bounded class, scanned backwards by the caller over at most 200 characters.
_CLASS = re.compile(
    r"(?:com\.amazonaws\.services\.(?P<j1>[a-z0-9]{1,40})\.model\."
    r"|software\.amazon\.awssdk\.services\.(?P<j2>[a-z0-9]{1,40})\.model\."
    r"|Amazon\.(?P<net>[A-Za-z0-9]{1,40})\."
    r"|Aws\\(?P<php>[A-Za-z0-9]{1,40})\\Exception\\)"
    r"(?P<cls>[A-Za-z0-9]{1,80})Exception: "
)
# Linear: literals and one bounded class each.
# (aws-sdk v1 spelled its namespace AWS::.)
_RUBY = re.compile(r"A(?:ws|WS)::(?P<svc>[A-Za-z0-9]{1,40})::Errors::(?P<code>[A-Za-z0-9]{1,100})")
# Linear: anchored; a literal then one bounded class.
_PHP_OPERATION = re.compile(r'Error executing "(?P<op>[A-Za-z0-9]{1,100})"')
# Linear: a bounded class then a literal; searched in a bounded window.
_PHP_CODE = re.compile(r"(?P<code>[A-Za-z0-9.]{1,100}) \(client\): ")
# Linear: anchored; literals and bounded classes.
_PHP_HOST = re.compile(
    r' on "https?://(?:[a-z0-9-]{1,63}\.){0,3}?(?P<svc>[a-z0-9-]{2,40})\.[a-z0-9-]{2,30}\.amazonaws\.com'
)
#: How the refusal messages Ruby prints before the class end.
_RUBY_MESSAGE_ENDS = ("Access Denied", "Forbidden", "action", "operation.", "policy")
#: What a service's message begins with when it is a refusal and names nothing else.
_REFUSALS = ("Access Denied", "Forbidden", "User: ", "You are not authorized", "Error executing ")


class ClassFrame(NamedTuple):
    """An exception class (or PHP's message head) around a refusal."""

    start: int
    end: int
    error_code: str | None
    operation: str | None
    service: str | None
    #: A refusal by itself (its message is beside it), not only a code to lend.
    alone: bool


def find_exception_classes(text: str) -> list[ClassFrame]:
    """Every AWS SDK exception class in ``text`` whose message is a refusal."""
    out: list[ClassFrame] = []
    # Most texts with "Exception: " name no AWS SDK class (Go's "AccessDeniedException: ").
    sdk = any(p in text for p in ("com.amazonaws.", "software.amazon.", "Amazon.", "Aws\\"))
    i = text.find("Exception: ") if sdk else -1
    while i != -1 and len(out) < 64:
        start = max(0, i - 200)
        for m in _CLASS.finditer(text, start, i + len("Exception: ")):
            if m.end() != i + len("Exception: "):
                continue
            message = text[m.end() : m.end() + 300]
            # A class named after a refusal code (Java's ...model.AccessDeniedException) is
            # a refusal whatever its message says ("Access is not allowed.").
            named = is_authz_error_code(m["cls"] + "Exception") and bool(m["j1"] or m["j2"])
            if not message.startswith(_REFUSALS) and not named:
                continue
            op = _PHP_OPERATION.match(message)
            if message.startswith("Error executing ") and not _php_refusal(message):
                continue
            # Java's "(Service: Amazon S3; ...)" frame names the service in AWS's words.
            service = None if m["j1"] or m["j2"] else (m["net"] or m["php"] or m["cls"])
            code = m["cls"] + "Exception" if is_authz_error_code(m["cls"] + "Exception") else None
            php = _PHP_CODE.search(text, m.end(), min(len(text), m.end() + 2000))
            if php and is_authz_error_code(php["code"]):
                code = php["code"]  # Guzzle's summary: "AccessDenied (client): Access Denied"
            out.append(
                ClassFrame(m.start(), m.end(), code, op["op"] if op else None, service, True)
            )
            break
        i = text.find("Exception: ", i + 1)
    _php_without_class(text, out)
    for m in _RUBY.finditer(text):
        if is_authz_error_code(m["code"]) and len(out) < 64:
            # "Access Denied (Aws::S3::Errors::AccessDenied)" (uncaught) or
            # "#<Aws::S3::Errors::AccessDenied: Access Denied>" (inspect) carry their
            # message beside the class; a "Class: Aws::..." line alone only lends its code.
            before = text[max(0, m.start() - 60) : m.start()]
            alone = (
                before.endswith("#<")
                or (before.endswith("(") and before[:-1].rstrip().endswith(_RUBY_MESSAGE_ENDS))
                or _ruby_refusal_after(text, m.end())
            )
            out.append(ClassFrame(m.start(), m.end(), m["code"], None, m["svc"], alone))
    return out


#: How a refusal message begins, any case ("Access denied" is STS's own).
_REFUSALS_LOWER = tuple(r.lower() for r in _REFUSALS if r != "Error executing ")


def _ruby_refusal_after(text: str, end: int) -> bool:
    """``Aws::STS::Errors::AccessDenied: Access denied`` (an exception's message) or the
    SDK's log line ``... Aws::STS::Errors::AccessDenied Access denied``: the message after
    the class is a refusal."""
    after = text[end : end + 40]
    after = after[2:] if after.startswith(": ") else after[1:] if after.startswith(" ") else ""
    return after.lower().startswith(_REFUSALS_LOWER)


def ruby_class(line: str) -> tuple[str, str] | None:
    """The refusal code and service of the Ruby SDK class ``line`` names, if any."""
    m = _RUBY.search(line) if "::Errors::" in line else None
    return (m["code"], m["svc"]) if m and is_authz_error_code(m["code"]) else None


def _php_without_class(text: str, out: list[ClassFrame]) -> None:
    """``Error executing "AssumeRole" on "https://sts...": AWS HTTP error: ...`` pasted
    without its class: the PHP SDK's own words, so still its frame."""
    i = text.find('Error executing "')
    while i != -1 and len(out) < 64:
        m = _PHP_OPERATION.match(text, i)
        framed = any(f.start <= i <= f.end + 1 for f in out)  # already read after its class
        php_error = "AWS HTTP error:" in text[i : i + 300] and _php_refusal(text[i : i + 2000])
        if m and not framed and php_error:
            php = _PHP_CODE.search(text, m.end(), min(len(text), m.end() + 2000))
            code = php["code"] if php and is_authz_error_code(php["code"]) else None
            host = _PHP_HOST.match(text, m.end())
            out.append(ClassFrame(i, m.end(), code, m["op"], host["svc"] if host else None, True))
        i = text.find('Error executing "', i + 1)


def _php_refusal(message: str) -> bool:
    """A PHP SDK message whose Guzzle status or AWS code is a refusal."""
    head = message[:2000]
    return "403 Forbidden" in head or "AccessDenied" in head or "(client): Access Denied" in head
