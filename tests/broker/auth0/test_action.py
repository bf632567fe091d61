"""The post-login Action's text: every claim, both tokens, and names that cannot break out
of their JavaScript strings."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from broker.auth0.action import default_namespace, post_login_action
from broker.auth0.options import ORGANIZATION_CLAIMS
from tests.support.tiers import missing_dependency


def test_the_action_sets_every_organization_claim_in_both_tokens() -> None:
    text = post_login_action(connection_name="gatehouse", namespace="https://sso.example/")
    for claim in ORGANIZATION_CLAIMS:
        assert f'"{claim}"' in text
    assert "api.idToken.setCustomClaim(namespace + claim, value)" in text
    assert "api.accessToken.setCustomClaim(namespace + claim, value)" in text
    assert 'event.connection.name !== "gatehouse"' in text
    assert "__" not in text  # every placeholder filled


def test_a_hostile_namespace_stays_inside_its_string() -> None:
    text = post_login_action(connection_name="gatehouse", namespace='x";alert(1);"*/</script>')
    assert 'const namespace = "x\\";alert(1);\\"*\\/\\u003c/script>";' in text


def test_the_default_namespace_is_the_issuer() -> None:
    assert default_namespace("https://sso.example") == "https://sso.example/"
    assert default_namespace("https://sso.example/") == "https://sso.example/"


def run_action(action: str, event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Action under Node, as Auth0 calls it: `onExecutePostLogin(event, api)`; what it
    set on each token comes back as JSON."""
    node = shutil.which("node")
    if node is None:
        missing_dependency("node is not installed (Debian: nodejs)")
    harness = (
        action
        + """
const claims = { idToken: {}, accessToken: {} };
const api = {
  idToken: { setCustomClaim: (k, v) => { claims.idToken[k] = v; } },
  accessToken: { setCustomClaim: (k, v) => { claims.accessToken[k] = v; } },
};
exports.onExecutePostLogin(JSON.parse(require("fs").readFileSync(0, "utf8")), api)
  .then(() => process.stdout.write(JSON.stringify(claims)));
"""
    )
    ran = subprocess.run(
        [node, "-e", harness],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    result: dict[str, dict[str, Any]] = json.loads(ran.stdout)
    return result


def test_the_action_runs_and_sets_the_mapped_claims() -> None:
    action = post_login_action(connection_name="gatehouse", namespace="https://sso.example/")
    user = {
        "user_id": "oidc|gatehouse|usr_1",
        "organization_id": "org_acme",
        "organization_name": "Acme",
        "idp_groups": ["admins"],
        "directory_groups": ["Engineering"],
        "directory_groups_truncated": "",
        "identities": [
            {"connection": "gatehouse", "profileData": {"idp_type": "saml", "connection_id": "c1"}}
        ],
    }
    claims = run_action(action, {"connection": {"name": "gatehouse"}, "user": user})
    expected = {
        "https://sso.example/organization_id": "org_acme",
        "https://sso.example/organization_name": "Acme",
        "https://sso.example/idp_groups": ["admins"],
        "https://sso.example/directory_groups": ["Engineering"],
        "https://sso.example/idp_type": "saml",
        "https://sso.example/connection_id": "c1",
    }
    assert claims == {"idToken": expected, "accessToken": expected}


def test_the_action_leaves_other_connections_alone() -> None:
    action = post_login_action(connection_name="gatehouse", namespace="https://sso.example/")
    event = {"connection": {"name": "Username-Password-Authentication"},
             "user": {"organization_id": "org_acme"}}  # fmt: skip
    assert run_action(action, event) == {"idToken": {}, "accessToken": {}}
