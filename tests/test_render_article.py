"""Sentences choose "a" or "an" by the word that follows, however the words were built."""

from __future__ import annotations

import pytest

from diagnostics.model import Diagnosis, Failure, SourceRef
from diagnostics.policy.merge import ROLE_INLINE_LIMIT, _warnings
from diagnostics.render.text import why
from diagnostics.text.article import with_article


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("identity-based policy", "an identity-based policy"),
        ("inline role policy", "an inline role policy"),
        ("explicit deny", "an explicit deny"),
        ("resource-based policy", "a resource-based policy"),
        ("service control policy", "a service control policy"),
        ("SCP", "an SCP"),
        ("RCP", "an RCP"),
        ("S3 bucket policy", "an S3 bucket policy"),
        ("s3 resource policy", "an s3 resource policy"),
        ("VPC endpoint policy", "a VPC endpoint policy"),
        ("KMS key policy", "a KMS key policy"),
        ("IAM role", "an IAM role"),
        ("user policy", "a user policy"),
        ("unknown layer", "an unknown layer"),
        ("", ""),
    ],
)
def test_the_article_follows_the_sound_of_the_next_word(words: str, expected: str) -> None:
    """Vowel sounds take "an" (acronyms by their letter's name), the rest "a"."""
    assert with_article(words) == expected


def test_an_explicit_identity_deny_reads_an_identity_based_policy() -> None:
    """The Why line of an explicit identity deny says "in an identity-based policy"."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        action="s3:GetObject",
        policy_type="identity",
        explicit_deny=True,
    )
    assert why(Diagnosis(failure)) == "explicit deny in an identity-based policy"


def test_a_size_warning_for_an_inline_role_policy_reads_well() -> None:
    """A role policy over the inline quota is "over the limit for an inline role policy"."""
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "x" * (ROLE_INLINE_LIMIT + 10)}]}
    warnings = _warnings("identity", "arn:aws:iam::111122223333:role/r", doc)
    assert any("for an inline role policy" in w for w in warnings)
    assert not any(" a inline" in w or " a identity" in w for w in warnings)
