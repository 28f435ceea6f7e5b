"""Find the lines worth reading: fixed byte markers searched in big chunks.

Interchangeable searches give the same lines.  With a compiled multi-pattern
matcher installed (hyperscan, else ahocorasick-rs: ``marker_backends.py``)
all markers are found in one pass over the chunk; without one, one
``bytes.find`` pass per marker.  On a 512 MiB log the single pass takes
about a sixth of the time.
"""

from __future__ import annotations

from diagnostics.extract.inputs.marker_backends import Matcher, compiled

#: Byte strings whose presence makes a line worth reading.  Each is a substring
#: of every spelling of what it stands for ("uthoriz" covers "not authorized to
#: perform", "authorization failure message", "Unauthorized...", "NotAuthorized",
#: "AuthorizationError").
#: "(403) when calling the " is the CLI's body-less refusal (S3's HeadObject/HeadBucket, and
#: any call refused before an error body was written).
MARKERS: tuple[bytes, ...] = (
    b"uthoriz",
    # A terminal's hard wrap may cut "not authorized to perform" anywhere, "uthoriz"
    # included: one of these two halves survives any single cut.
    b"not autho",
    b"rized to perform",
    b"AccessDenied",
    b"errorCode",
    b"explicitDeny",
    b"(403) when calling the ",
    # Refusals worded without "authoriz" (wordings.py): SQS, STS, Secrets Manager.
    b"ccess to the resource ",
    b"Cannot call Get",
    b"Access to KMS is not allowed",
    b"does not have permissions to call",
    b"missing the following permissions",
    b"Insufficient permissions to list objects",
    b"have access to Kubernetes objects",
    # S3's bare refusal as every SDK prints it (docs/error-shapes.md): the message
    # "Access Denied", and a body-less 403 (HEAD) as Go v1/v2 and Java v1 word it.
    b"Access Denied",
    b"api error Forbidden",
    b"Forbidden: Forbidden",
    # aws-sdk-js v2's String(err) for a body-less 403: code Forbidden, message null.
    b"Forbidden: null",
    b"Error Code: 403",
    b"Status Code: 403",
    b"::Errors::",
    b'code: Some("AccessDenied',
    # KMS's ciphertext refusal and the .NET SDK's words for a bodiless 403 (wordings.py).
    b"ciphertext refers to a ",
    b"Http Status Code Forbidden",
    b"returned an error: (403) Forbidden",
    # smithy-kotlin's message for a service error with no body (frames.py).
    b"Protocol response: HTTP 403",
    # .NET Core's inner exception line under the SDK's class (docs/error-shapes.md): it
    # starts its own line, so it survives a terminal wrap that cuts the message above.
    b"HttpErrorResponseException: Exception of type",
    # The PHP SDK's exception names the operation on its first line (exception_frames.py).
    b'Error executing "',
    # A registry's bare refusal of a kubelet, containerd or ECS agent pull (image_pulls.py).
    b": 403 Forbidden",
    # kubectl's 401, an EKS access entry missing when AWS evidence is near (eks_auth.py).
    b"logged in to the server",
    # A service refused the role it was to assume, beside an authorization code (wordings.py).
    b"Unable to assume role ",
)


def _compiled(markers: tuple[bytes, ...]) -> Matcher | None:
    """The one-pass matcher for ``markers``, or None when no library is installed."""
    return compiled(markers).find


def marker_lines(
    buf: bytearray,
    end: int,
    max_line: int,
    markers: tuple[bytes, ...] = MARKERS,
    *,
    one_pass: bool = True,
    backend: str | None = None,
) -> list[int]:
    """Start indexes, ascending, of the lines in ``buf[:end]`` holding a marker.

    A hit counts only within the first ``max_line`` bytes of its line (the
    part of an over-long line that is searched at all).  ``backend`` picks
    one matcher by name (tests compare them); by default the fastest runs.
    """
    if not one_pass:
        matcher = None
    elif backend is not None:
        matcher = compiled(markers, backend).find
    else:
        matcher = _compiled(markers)
    if matcher is None:
        return _by_find(buf, end, max_line, markers)
    view = memoryview(buf)
    try:
        part = view[:end]
        try:
            hits = matcher(part)
        finally:
            part.release()
    finally:
        view.release()  # the buffer must be resizable again before the caller trims it
    starts: list[int] = []
    line_end = 0
    for _index, pos, stop in hits:
        if pos < line_end:
            continue  # the line already counted (or already refused as too long)
        line_start = buf.rfind(b"\n", 0, pos) + 1
        nl = buf.find(b"\n", pos, end)
        line_end = end if nl == -1 else nl + 1
        if stop - line_start <= max_line:
            starts.append(line_start)
    return starts


def _by_find(buf: bytearray, end: int, max_line: int, markers: tuple[bytes, ...]) -> list[int]:
    """The same lines, one ``find`` pass per marker."""
    starts: set[int] = set()
    for marker in markers:
        pos = buf.find(marker, 0, end)
        while pos != -1:
            line_start = buf.rfind(b"\n", 0, pos) + 1
            if pos + len(marker) - line_start <= max_line:
                starts.add(line_start)
            nl = buf.find(b"\n", pos, end)
            if nl == -1:
                break
            pos = buf.find(marker, nl + 1, end)
    return sorted(starts)
