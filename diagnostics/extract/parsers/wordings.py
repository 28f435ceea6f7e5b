"""Refusals that AWS services word without ``is not authorized to perform``.

- SQS's query API: ``Access to the resource https://sqs.us-east-2.amazonaws.com/
  is denied.`` (error code ``AccessDenied``; the URL is the queue endpoint, not
  an ARN, and no principal or action is named);
- STS: ``Cannot call GetSessionToken with session credentials`` (and
  GetFederationToken): temporary credentials may never make these calls;
- Secrets Manager: ``Access to KMS is not allowed`` (``AccessDeniedException``
  when the caller may not use the secret's KMS key);
- CloudWatch Logs: ``User with accountId: 111122223333 is not authorized to perform
  CreateLogGroup with Tags`` (the account and the operation only);
- the S3 console: ``Insufficient permissions to list objects`` (s3:ListBucket); the
  EKS console: ``Your current user or role does not have access to Kubernetes objects
  on this EKS cluster``;
- Karpenter's EC2NodeClass condition after its dry-run check: ``Controller isn't
  authorized to call ec2:RunInstances`` (also CreateFleet, CreateLaunchTemplate);
- Bedrock: ``... is not authorized to perform the required AWS Marketplace actions
  (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe)``, one refusal per action;
- Lambda: ``The provided execution role does not have permissions to call
  CreateNetworkInterface on EC2``; Auto Scaling plans: ``User is missing the
  following permissions: [ecs:UpdateService]``;
- JS SDK v2 / CDK traces: ``Call failed: getBucketLocation({...}) => Access
  Denied (code=AccessDenied)``;
- KMS: ``The ciphertext refers to a customer master key that does not exist,
  does not exist in this region, or you are not allowed to access.``
  (``AccessDeniedException`` from Decrypt);
- the .NET SDK's own words for a refusal with no body (docs/error-shapes.md):
  ``Error making request with Error Code Forbidden and Http Status Code
  Forbidden`` and ``HttpErrorResponseException: The remote server returned an
  error: (403) Forbidden``;
- Java SDK v1 before 1.9: ``Status Code: 403, AWS Service: Amazon S3, AWS
  Request ID: ..., AWS Error Code: AccessDenied, AWS Error Message: ...``;
- a service that could not assume the role it was given (AppSync's GraphQL error
  ``"errorType": "Unauthorized"``, ``"message": "Unable to assume role arn:...."``):
  ``sts:AssumeRole`` on that role, counted only beside such a code (a product's own
  "Unable to assume role" line is no AWS refusal).

Each is found with ``str.find`` on its fixed text and read with an anchored,
bounded regex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diagnostics.extract.parsers.image_pulls import FORBIDDEN, find_image_pulls

# Linear: anchored at the found literal; one bounded non-blank run, bounded junk class.
_SQS = re.compile(r"Access to the resource (?P<url>\S{1,512}) is [`'\"*_ >]{0,4}denied")
# Linear: anchored at the found literal; a literal alternation.
_STS = re.compile(
    r"Cannot call (?P<op>GetSessionToken|GetFederationToken) with session credentials"
)
# Linear: anchored at the found literal; bounded classes between literals, no nesting.
_CALL_FAILED = re.compile(
    r"Call failed: (?P<op>[a-z][A-Za-z0-9]{1,100})\([^\n]{0,2000}?\) => "
    r"(?P<msg>[^\n(]{1,200})\(code=(?P<code>[A-Za-z0-9_.]{1,100})\)"
)
_KMS = "Access to KMS is not allowed"
# Linear: anchored at the found literal; one bounded negated class, then a literal.
_CIPHERTEXT = re.compile(r"The ciphertext refers to a [^\n.]{1,200}?you are not allowed to access")
# Linear: anchored at the found literal; bounded letter classes between literals.
_DOTNET = re.compile(
    r"Error making request with Error Code (?P<code>[A-Za-z]{1,40}) and Http Status Code "
    r"(?P<status>[A-Za-z]{1,40})"
)
# Linear: literals and bounded classes, searched in a bounded window.
_DOTNET_OUTER = re.compile(r"Amazon\.[A-Za-z0-9]{1,40}\.Amazon[A-Za-z0-9]{0,60}Exception: ")
_DOTNET_403 = "HttpErrorResponseException: The remote server returned an error: (403) Forbidden"
# Linear: anchored at the found literal; bounded classes between literals.
_JAVA_LEGACY = re.compile(
    r"Status Code: (?P<status>[0-9]{3}), AWS Service: (?P<svc>[^,\n]{1,64}), AWS Request ID: "
    r"[^,\n]{0,100}, AWS Error Code: (?P<code>[A-Za-z0-9_.]{1,100})"
)
# Linear: anchored at the found literal; bounded classes between literals.
_LAMBDA_ROLE = re.compile(
    r"The provided execution role does not have permissions to call (?P<op>[A-Z][A-Za-z0-9]{1,100})"
    r" on (?P<svc>[A-Za-z0-9]{2,40})"
)
# Linear: anchored at the found literal; one bounded action class.
_MISSING = re.compile(
    r"missing the following permissions: ?\[?(?P<svc>[a-z0-9-]{1,64}):(?P<name>[A-Za-z0-9*]{1,128})"
)
# Linear: anchored at the found literal; bounded digit and blank runs between literals.
_LOGS_ACCOUNT = re.compile(
    r"User with accountId: (?P<account>[0-9]{12}) {1,4}is {1,4}not {1,4}authorized {1,4}to"
    r" {1,4}perform {1,4}(?P<op>[A-Z][A-Za-z0-9]{1,100})"
)
_S3_CONSOLE_LIST = "Insufficient permissions to list objects"
# Linear: anchored at the found literal; one bounded class per side of the colon.
_KARPENTER = re.compile(
    r"Controller isn't authorized to call (?P<svc>[a-z0-9-]{1,64}):(?P<name>[A-Za-z0-9]{1,128})"
)
_ROOT_ASSUME = "Roles may not be assumed by root accounts"
_NO_PERMISSION_HEAD = "User doesn't have permission to call "
# Linear: anchored at the found literal; one bounded class per side of the colon.
_NO_PERMISSION = re.compile(
    r"User doesn't have permission to call (?P<svc>[a-z0-9-]{1,64}):(?P<name>[A-Za-z0-9]{1,128})"
)
_EKS_CONSOLE = "does not have access to Kubernetes objects on this EKS cluster"
_MARKETPLACE = "authorized to perform the required AWS Marketplace actions ("
# Linear: anchored inside the found list; one bounded class per side of the colon.
_LISTED_ACTION = re.compile(r"(?P<svc>[a-z0-9-]{1,64}):(?P<name>[A-Za-z0-9*]{1,128})")
# Linear: anchored at the found literal; literals and bounded classes, one bounded name run.
_ASSUME = re.compile(
    r"Unable to assume role "
    r"(?P<arn>arn:aws[a-z-]{0,16}:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512})"
)
#: AppSync's error type for a refused data-source role (its GraphQL "errors" entries).
_APPSYNC_UNAUTHORIZED = '"errorType": "Unauthorized"'
#: How far from a wording an error code may be printed and still be its own.
_CODE_REACH = 300


@dataclass(frozen=True, slots=True)
class WordingHit:
    start: int
    end: int
    error_code: str | None
    operation: str | None
    service: str | None
    region: str | None = None
    action: str | None = None
    resource: str | None = None
    principal_arn: str | None = None
    #: What the message names as the resource when it is no ARN (SQS's endpoint URL).
    resource_text: str | None = None
    #: The caller's account when the message names only that (CloudWatch Logs).
    account_id: str | None = None


def find_wordings(text: str) -> list[WordingHit]:
    """Every refusal in ``text`` worded in one of the forms above, in order."""
    hits: list[WordingHit] = []
    for m in _iter(text, "Access to the resource ", _SQS):
        url = m.group("url")
        code = "AccessDenied" if _near(text, m.start(), m.end(), "AccessDenied") else None
        hits.append(
            WordingHit(m.start(), m.end(), code, None, "sqs", _sqs_region(url), resource_text=url)
        )
    for m in _iter(text, "Cannot call ", _STS):
        code = "AccessDenied" if _near(text, m.start(), m.end(), "AccessDenied") else None
        hits.append(WordingHit(m.start(), m.end(), code, m.group("op"), "sts"))
    i = text.find(_ROOT_ASSUME)
    while i != -1:
        # STS refuses AssumeRole to a root user's credentials with this fixed message.
        code = "AccessDenied" if _near(text, i, i + len(_ROOT_ASSUME), "AccessDenied") else None
        hits.append(WordingHit(i, i + len(_ROOT_ASSUME), code, "AssumeRole", "sts"))
        i = text.find(_ROOT_ASSUME, i + len(_ROOT_ASSUME))
    i = text.find(_KMS)
    while i != -1:
        hits.append(WordingHit(i, i + len(_KMS), None, None, "secretsmanager"))
        i = text.find(_KMS, i + len(_KMS))
    for m in _iter(text, "The provided execution role ", _LAMBDA_ROLE):
        # Lambda checks its execution role's EC2 rights itself ("... call CreateNetworkInterface
        # on EC2"): the refused call is the operation, EC2 the service.
        hits.append(WordingHit(m.start(), m.end(), None, m.group("op"), m.group("svc").lower()))
    for m in _iter(text, "User with accountId: ", _LOGS_ACCOUNT):
        # CloudWatch Logs names the caller's account and the operation, no IAM action.
        hits.append(WordingHit(m.start(), m.end(), None, m["op"], "logs", account_id=m["account"]))
    _console_wordings(text, hits)
    for m in _iter(text, "missing the following permissions:", _MISSING):
        from diagnostics.extract.parsers.plain import normalise_action

        action = normalise_action(m.group("svc"), m.group("name"))
        hits.append(WordingHit(m.start(), m.end(), None, None, None, action=action))
    for m in _iter(text, _NO_PERMISSION_HEAD, _NO_PERMISSION):
        # CloudFormation refuses a template whose SSM parameters or AMI lookups the
        # caller may not read: ValidationError, "AccessDenied. User doesn't have ...".
        from diagnostics.extract.parsers.plain import normalise_action

        action = normalise_action(m.group("svc"), m.group("name"))
        hits.append(WordingHit(m.start(), m.end(), None, None, None, action=action))
    for m in _iter(text, "Call failed: ", _CALL_FAILED):
        from diagnostics.iam.error_codes import is_authz_error_code

        if is_authz_error_code(m.group("code")):
            op = m.group("op")
            hits.append(
                WordingHit(m.start(), m.end(), m.group("code"), op[0].upper() + op[1:], None)
            )
    _sdk_wordings(text, hits)
    if FORBIDDEN in text:
        _image_pulls(text, hits)
    hits.sort(key=lambda h: h.start)
    return hits


def _console_wordings(text: str, hits: list[WordingHit]) -> None:
    """The S3 and EKS consoles' refusals and Bedrock's Marketplace action list."""
    from diagnostics.extract.parsers.plain import normalise_action

    i = text.find(_S3_CONSOLE_LIST)
    while i != -1:
        end = i + len(_S3_CONSOLE_LIST)
        hits.append(WordingHit(i, end, None, None, "s3", action="s3:ListBucket"))
        i = text.find(_S3_CONSOLE_LIST, end)
    for k in _iter(text, "Controller isn't authorized to call ", _KARPENTER):
        action = normalise_action(k["svc"], k["name"])
        hits.append(WordingHit(k.start(), k.end(), None, None, None, action=action))
    i = text.find(_EKS_CONSOLE)
    while i != -1:
        hits.append(WordingHit(i, i + len(_EKS_CONSOLE), None, None, "eks"))
        i = text.find(_EKS_CONSOLE, i + len(_EKS_CONSOLE))
    i = text.find(_MARKETPLACE)
    while i != -1:
        at = i + len(_MARKETPLACE)
        close = text.find(")", at, at + 600)
        pos = at
        while close != -1 and pos < close:
            m = _LISTED_ACTION.search(text, pos, close)
            if m is None:
                break
            action = normalise_action(m["svc"], m["name"])
            hits.append(WordingHit(m.start(), m.end(), None, None, None, action=action))
            pos = m.end()
        i = text.find(_MARKETPLACE, at)


def _image_pulls(text: str, hits: list[WordingHit]) -> None:
    """kubelet, containerd and ECS agent pulls from ECR refused with 403 (image_pulls.py)."""
    for start, end, account, region, repo in find_image_pulls(text):
        arn = f"arn:aws:ecr:{region}:{account}:repository/{repo}" if repo else None
        # A pull is BatchGetImage on the manifest first; the layer actions follow it.
        action = "ecr:BatchGetImage"
        hits.append(WordingHit(start, end, "Forbidden", None, "ecr", region, action, arn))


def _sdk_wordings(text: str, hits: list[WordingHit]) -> None:
    """KMS's ciphertext sentence, the .NET SDK's bodiless refusals, Java v1's old frame."""
    from diagnostics.iam.error_codes import is_authz_error_code

    for m in _iter(text, "The ciphertext refers to a ", _CIPHERTEXT):
        code = "AccessDeniedException" if _near(text, m.start(), m.end(), "AccessDenied") else None
        hits.append(WordingHit(m.start(), m.end(), code, None, "kms", action="kms:Decrypt"))
    for m in _iter(text, "Error making request with Error Code ", _DOTNET):
        if m.group("code") in ("Forbidden", "AccessDenied") or m.group("status") == "Forbidden":
            hits.append(WordingHit(m.start(), m.end(), m.group("code"), None, None))
    i = text.find(_DOTNET_403)
    while i != -1:
        # The inner exception of an AWS exception already reported by its class.
        outer = _DOTNET_OUTER.search(text, max(0, i - 4000), i)
        if outer is None and not any(h.start <= i < h.end for h in hits):
            hits.append(WordingHit(i, i + len(_DOTNET_403), "Forbidden", None, None))
        i = text.find(_DOTNET_403, i + len(_DOTNET_403))
    for m in _iter(text, "Status Code: ", _JAVA_LEGACY):
        if is_authz_error_code(m.group("code")):
            hits.append(WordingHit(m.start(), m.end(), m.group("code"), None, m.group("svc")))


#: The marker the record search finds such a line by.
ASSUME_MARKER = "Unable to assume role "


def find_assume_role(text: str, context: str = "") -> list[WordingHit]:
    """ "Unable to assume role ARN" beside an authorization code: sts:AssumeRole on the role.

    ``context`` is the lines above the record: AppSync prints its error type there.
    """
    hits: list[WordingHit] = []
    for m in _iter(text, ASSUME_MARKER, _ASSUME):
        above = f"{context}\n{text[: m.start()]}"[-_CODE_REACH:]
        near = above + text[m.start() : m.end() + _CODE_REACH]
        line_start = text.rfind("\n", 0, m.start()) + 1
        # Another code only on the message's own line: a page lists many errors.
        code = "AccessDenied" if "AccessDenied" in text[line_start : m.start()] else None
        if _APPSYNC_UNAUTHORIZED in near:
            code = "Unauthorized"
        if code is not None:
            arn = m["arn"].rstrip(".")
            hits.append(
                WordingHit(m.start(), m.end(), code, None, "sts", None, "sts:AssumeRole", arn)
            )
    return hits


def _iter(text: str, literal: str, rx: re.Pattern[str]) -> list[re.Match[str]]:
    out: list[re.Match[str]] = []
    i = text.find(literal)
    while i != -1 and len(out) < 256:
        m = rx.match(text, i)
        if m:
            out.append(m)
        i = text.find(literal, i + len(literal))
    return out


def _near(text: str, start: int, end: int, word: str) -> bool:
    return text.find(word, max(0, start - _CODE_REACH), end + _CODE_REACH) != -1


def _sqs_region(url: str) -> str | None:
    """``https://sqs.us-east-2.amazonaws.com/...`` -> ``us-east-2``."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 3 and parts[0] == "sqs" and parts[1].count("-") >= 2:
        return parts[1]
    return None
