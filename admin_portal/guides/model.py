"""The shape of a vendor guide: data, rendered by one template (`setup_guide.html`).

A guide is written for one product's admin console and one protocol. Its steps name the
console's own menus and field labels (in `**bold**`, as the console shows them) and say
which of Gatehouse's values to paste where; the values themselves are the connection's
(`values.py`), so a guide never carries a URL of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Gatehouse's values an IdP admin pastes, by key; a step lists the keys it needs.
SAML_VALUES = ("acs_url", "sp_entity_id", "sp_metadata_url", "acs_url_pattern")
OIDC_VALUES = ("redirect_uri", "scopes")


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do in the vendor's console. `values`: the keys of the values to paste
    in this step, shown under it with copy buttons; `attributes`: the attribute table (what
    to send, under which name) belongs to this step."""

    text: str
    values: tuple[str, ...] = ()
    attributes: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Guide:
    strategy: str
    protocol: str  # "saml" | "oidc"
    #: The product as its admin knows it, and where they work in it.
    product: str
    console: str
    steps: tuple[Step, ...]
    #: claim -> where that value comes from in this console ("user.email").
    sources: Mapping[str, str] = field(default_factory=dict)
    #: What the admin brings back to the next page (the IdP's metadata, the issuer...).
    bring_back: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def values_used(self) -> frozenset[str]:
        return frozenset(key for step in self.steps for key in step.values)
