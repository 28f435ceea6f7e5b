"""kubectl's ``You must be logged in to the server (Unauthorized)`` against an EKS cluster.

The EKS API server answers 401 when the IAM identity behind the token (``aws eks
get-token``, ``aws-iam-authenticator``) has no access entry and no ``aws-auth``
mapping: AWS signed the caller in, the cluster does not know it.  kubectl prints
the same sentence for any Kubernetes cluster and any bad token, so it counts only
with AWS evidence in the record or the lines just before it: an IAM principal
ARN, an EKS cluster ARN or endpoint, or the EKS token commands.  The cluster ARN
(``aws eks update-kubeconfig`` prints ``Updated context arn:aws:eks:...``) is the
resource; the principal is the one the text names, if any.
"""

from __future__ import annotations

import re

#: kubectl's words for a 401 (k8s.io/kubectl's error translation) and its newer variant.
SENTENCES = (
    "You must be logged in to the server (Unauthorized)",
    "You must be logged in to the server"
    " (the server has asked for the client to provide credentials)",
)
#: The marker both sentences share.
MARKER = "logged in to the server"
#: How far before the sentence its evidence may be.
_REACH = 8000
#: Commands and hosts that say the cluster is EKS and the caller an IAM identity.
_EKS_WORDS = (
    "eks get-token",
    "aws-iam-authenticator",
    "eks update-kubeconfig",
    ".eks.amazonaws.com",
    # What `aws eks update-kubeconfig` prints (awscli/customizations/eks/update_kubeconfig.py).
    "Added new context ",
    "Updated context ",
)
# Linear: literals, then bounded disjoint classes split by literal colons and a slash.
_CLUSTER = re.compile(
    r"arn:aws[a-z-]{0,16}:eks:(?P<region>[a-z0-9-]{4,32}):(?P<account>[0-9]{12}):cluster/"
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,99})"
)
# Linear: literals, then bounded classes split by literal colons; one bounded name run.
_PRINCIPAL = re.compile(
    r"arn:aws[a-z-]{0,16}:(?:iam|sts)::[0-9]{12}:(?:user|role|assumed-role)/[A-Za-z0-9+=,.@_/-]{1,512}"
)


def find_eks_unauthorized(
    text: str, context: str = ""
) -> list[tuple[int, int, str | None, str | None, str | None]]:
    """(start, end, principal ARN, cluster ARN, region) per EKS 401 in ``text``."""
    out: list[tuple[int, int, str | None, str | None, str | None]] = []
    for sentence in SENTENCES:
        i = text.find(sentence)
        while i != -1 and len(out) < 64:
            # Only what was printed before the refusal: the identity and cluster it used.
            before = f"{context}\n{text[:i]}"[-_REACH:]
            principals = [m[0].rstrip(".,;:") for m in _PRINCIPAL.finditer(before)]
            clusters = list(_CLUSTER.finditer(before))
            if principals or clusters or any(w in before for w in _EKS_WORDS):
                cluster = clusters[-1] if clusters else None
                out.append(
                    (
                        i,
                        i + len(sentence),
                        principals[-1] if principals else None,
                        cluster[0] if cluster else None,
                        cluster["region"] if cluster else None,
                    )
                )
            i = text.find(sentence, i + len(sentence))
    return out
