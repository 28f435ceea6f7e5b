"""Message templates in code and documentation are not failures.

Source code, tests and docs that build or describe a denial hold its
sentence with variables in the slots: ``%s``, ``${ATTACKER_PRINCIPAL}``,
``{{ .Principal }}``, ``{CALLER_ARN}``, or ``<complete blob>`` in a code
comment.  No AWS service prints those.  A person redacting a real paste
writes ``xxx``, ``<account-id>`` or ``{redacted}`` inside an ARN instead: that
is still a failure, kept with the slot in ``principal_text``.
"""

from __future__ import annotations

import re

# Linear: alternatives of a literal opener, one bounded negated class, a literal closer.
_VARIABLE = re.compile(
    r"%[-+# 0]?[0-9]{0,3}(?:\.[0-9]{1,3})?[svqdx]\b"  # printf: %s %v %q %-10s
    r"|\$\{[^}\n]{1,100}\}"  # shell, Terraform, JS template literals
    r"|\{\{[^}\n]{1,100}\}\}"  # Go text/template, Jinja, Handlebars
    r"|#\{[^}\n]{1,100}\}"  # Ruby interpolation
    r"|\{[0-9]{0,2}(?::[^{}\n]{0,20})?\}"  # Python, Rust, Java MessageFormat: {} {0} {:?}
    r"|\{[A-Za-z_][A-Za-z0-9_.]{0,60}(?:![rsa]|:[^{}\n]{1,20})\}"  # f-string {x!r} {x:>10}
)
# Linear: a literal, one bounded identifier class, a literal.
_NAMED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]{0,60}\}")
# Linear: a literal, one bounded negated class, a literal.
_ANGLED = re.compile(r"<[^<>\n]{1,60}>")
_COMMENT_STARTS = ("//", "/*", "* ", "# ", "-- ")
#: Comments that only code has (a shell's "#" may be a root prompt).
_CODE_COMMENTS = ("//", "/*", "* ")
#: SDK error constructors that tests and mocks build a refusal with; no SDK
#: prints these names before the message it received.
_CONSTRUCTORS = (
    "awserr.New(",
    "awserr.NewRequestFailure(",
    "smithy.GenericAPIError{",
    # A literal error dict; botocore's own traceback shows ClientError(parsed_response, ...).
    "ClientError({",
    "AmazonServiceException(",
    "AwsServiceException.builder()",
)


def is_template(text: str, start: int, end: int, principal_text: str | None) -> bool:
    """The failure found at ``text[start:end]`` is a template in code or docs, not a denial."""
    span = text[start:end]
    braced = "{" in span
    if (braced or "%" in span) and _VARIABLE.search(span):
        return True
    named = {m.group() for m in _NAMED.finditer(span)} if braced else set()
    if principal_text is not None and principal_text in named and len(named) >= 2:
        # Every slot a format-string field: `f"User: {CALLER_ARN} ... {ROLE_ARN}"`.
        return True
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].lstrip(" \t+-")  # a diff's +/- marks the line, too
    if any(c in before for c in _CONSTRUCTORS):
        return True  # a test or a mock building the error, not one received
    if before.startswith(_CODE_COMMENTS) and before.rstrip().endswith(('"', "'", "`")):
        return True  # a code comment quoting the message as an example
    if text[line_start:start].lstrip().startswith(_COMMENT_STARTS):
        # A code comment that shows the message with a placeholder in a slot
        # (a blob placeholder sits just past the empty blob the hit ends on).
        return bool(named or _ANGLED.search(text, start, min(len(text), end + 64)))
    return False
