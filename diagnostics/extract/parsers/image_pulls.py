"""ECR image pulls refused with ``403 Forbidden`` by kubelet, containerd and the ECS agent.

A registry answers HTTP, not an AWS error document, so the refusal is only the
status the container runtime prints after the request it made (containerd's
``remotes/docker`` resolver and fetcher):

- ``unexpected status from HEAD request to https://<acct>.dkr.ecr.<region>.amazonaws.com
  /v2/<repo>/manifests/<ref>: 403 Forbidden`` (also GET, and ``/blobs/``);
- ``pulling from host <acct>.dkr.ecr.<region>.amazonaws.com failed with status code
  [manifests <ref>]: 403 Forbidden`` (containerd 1.7 and later), the repository named in
  the ``failed to resolve ref(erence) "<host>/<repo>:<ref>"`` before it;
- ``unexpected status code [manifests <ref>]: 403 Forbidden`` (older containerd), likewise.

kubelet wraps these in ``Failed to pull image "...": rpc error: ... failed to pull and
unpack image``, the ECS agent in ``CannotPullContainerError: pull image manifest has
been retried ...``.  Both fetch a fresh ECR token with their role's credentials
before every pull, so a 403 means the token was accepted but the role (or the
repository policy) does not allow the pull.  Only such a runtime's pull counts:
``docker build`` / ``docker pull`` print the same 403 for an expired token cached
by ``docker login`` (authentication, no policy fixes it).
"""

from __future__ import annotations

import re

#: The status text that ends every refusal above.
FORBIDDEN = ": 403 Forbidden"
#: Words that say a kubelet, containerd or ECS agent pull failed (not docker build).
_PULL_WORDS = (
    "CannotPullContainerError",
    "CannotPullImageManifestError",
    "Failed to pull image",
    "failed to pull image",
    "failed to pull and unpack image",
    "ErrImagePull",
    "pull image manifest has been retried",
)
#: How far before the status its registry host and the runtime's words may be.
_REACH = 3000
# Linear: a bounded digit run then literals and one bounded class; searched in a
# bounded window, each start position fails within 12 digits.
_HOST = re.compile(
    r"(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]{1,10}){1,3}-[0-9])"
    r"\.amazonaws\.com(?:\.cn)?"
)
# Linear: one bounded class, matched at a found position.
_PATH = re.compile(r"/(?P<path>[a-z0-9._/-]{1,256})")


def find_image_pulls(text: str) -> list[tuple[int, int, str, str, str]]:
    """(start, end, account, region, repository) per refused ECR pull in ``text``.

    ``repository`` is empty when the text names the registry but not the repository.
    """
    out: list[tuple[int, int, str, str, str]] = []
    i = text.find(FORBIDDEN)
    while i != -1 and len(out) < 256:
        end = i + len(FORBIDDEN)
        window_start = max(0, i - _REACH)
        window = text[window_start:i]
        if any(w in window for w in _PULL_WORDS):
            hosts = list(_HOST.finditer(window))
            if hosts:
                nearest = hosts[-1]
                repo = next((r for h in reversed(hosts) if (r := _repository(window, h.end()))), "")
                start = window_start + _line_start(window, nearest.start())
                out.append((start, end, nearest["account"], nearest["region"], repo))
        i = text.find(FORBIDDEN, end)
    return out


def _repository(window: str, pos: int) -> str:
    """The repository after a registry host: ``/v2/<repo>/manifests/..`` or ``/<repo>:<tag>``."""
    m = _PATH.match(window, pos)
    if m is None:
        return ""
    path = m["path"]
    if path.startswith("v2/"):
        for cut in ("/manifests/", "/blobs/"):
            if cut in path:
                return path[3 : path.index(cut)]
        return ""
    return path.rstrip("/.")


def _line_start(window: str, pos: int) -> int:
    """Where the line holding ``pos`` starts (a pull error is one line: kubelet, ECS)."""
    return window.rfind("\n", 0, pos) + 1
