"""The person who "logs in" at the simulator, shared by its SAML and OIDC sides.

Both protocols describe the same person from the same login form; only how the person is
written out differs (SAML attributes here, OIDC claims in `oidc_id_token`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["EMAIL_ATTRIBUTE", "SimulatedUser", "local_part_names"]

EMAIL_ATTRIBUTE = "email"
"""The SAML attribute carrying the email address."""


@dataclass(frozen=True, slots=True)
class SimulatedUser:
    """The person who "logs in" at the simulator."""

    email: str
    given_name: str
    family_name: str
    groups: tuple[str, ...] = ()
    extra_attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def attributes(self) -> dict[str, tuple[str, ...]]:
        """The SAML attributes: `email`, `firstName`, `lastName`, `groups` (multi-valued),
        then the extras, which replace a standard attribute of the same name. Empty ones are
        left out."""
        attributes: dict[str, tuple[str, ...]] = {
            EMAIL_ATTRIBUTE: (self.email,),
            "firstName": (self.given_name,),
            "lastName": (self.family_name,),
            "groups": self.groups,
        }
        attributes.update(self.extra_attributes)
        return {name: values for name, values in attributes.items() if any(values)}


def local_part_names(email: str) -> tuple[str, ...]:
    """The names an email can give a scenario: the whole local part (`expired@…`) and the tag
    after its last `+` (`alice+expired@…`), lower-cased. Each protocol looks them up in its own
    scenario list."""
    local = email.rsplit("@", 1)[0].strip().lower()
    return (local, local.rsplit("+", 1)[-1]) if "+" in local else (local,)
