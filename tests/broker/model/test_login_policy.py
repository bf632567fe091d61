"""Post-login policy (broker/model/login_policy.py): ordered checks, each its own reason."""

from __future__ import annotations

import pytest

from broker.model.login_policy import CHECKS, first_refusal
from broker.model.records import UpstreamIdentity

VERIFIED = ("acme.test", "acme-labs.test")


def identity(email: str | None, hosted_domain: str | None = None) -> UpstreamIdentity:
    return UpstreamIdentity(subject="s", email=email, hosted_domain=hosted_domain)


@pytest.mark.parametrize(
    ("email", "hd", "reason"),
    [
        ("ann@acme.test", None, None),
        ("ann@ACME.TEST", None, None),
        ("ann@acme-labs.test", "acme.test", None),
        ("ann@orgb.test", None, "email_domain_not_verified"),
        ("ann@sub.acme.test", None, "email_domain_not_verified"),
        ("ann@acme.test.evil.test", None, "email_domain_not_verified"),
        (None, None, "email_domain_not_verified"),
        ('"ann@acme.test"@evil.test', None, "email_domain_not_verified"),
        ("ann@acme.test", "gmail.com", "hosted_domain_not_verified"),
        # In order: an email outside the domains is the reason, whatever hd says.
        ("ann@orgb.test", "gmail.com", "email_domain_not_verified"),
    ],
)
def test_the_first_failed_check_is_the_reason(
    email: str | None, hd: str | None, reason: str | None
) -> None:
    refusal = first_refusal(identity(email, hd), VERIFIED)
    assert (refusal.reason if refusal else None) == reason


def test_the_checks_run_in_the_documented_order() -> None:
    assert [c.__name__ for c in CHECKS] == ["email_in_a_verified_domain", "hosted_domain_verified"]
