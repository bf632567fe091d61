from __future__ import annotations

from tests.support.saml_world import SamlWorld


def test_alice_logs_in(world: SamlWorld) -> None:
    login, back = world.login()
    code = world.code_from(back)
    tokens = world.gatehouse.redeem(code, verifier=login.verifier).json()
    claims = world.gatehouse.verify_id_token(tokens["id_token"])
    print(claims)
    assert claims["email"] == "alice@example.com"
