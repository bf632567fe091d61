"""The fuzz tier: hostile input at every door a stranger can knock on (issue 12).

Targets, each a hypothesis test over one in-process Gatehouse (tests/support/fuzz_world.py)
per backend (SQLite, and PostgreSQL when it is there):

- `/authorize` (GET and POST), `/token` (both grants, Basic and body credentials, a real
  code one time in two), `/userinfo` (test_provider_endpoints.py);
- `/login`, `/login/choose` with live flows and made-up ones, the SAML ACS with a flow
  handed off to SAML, the OIDC callback with a flow handed off to OIDC whose IdP (a MockOp)
  answers with hostile ID tokens (signed, so the checks after the signature run), token
  responses, userinfo, JWKS and discovery (test_login_endpoints.py);
- every portal POST route, read from the portal app (so a new form is fuzzed without a
  change here), its fields read from the portal's templates and handlers, with the live
  session's cookie and form token and without (test_portal_forms.py).

Requests go to the ASGI app as raw bytes (tests/support/raw_asgi.py): repeated
parameters, lone surrogates as the bytes they would be, non-UTF-8 bytes in bodies, query
strings and headers, odd content types and lengths, and values from tests/fuzz/hostile.py
(CR/LF, NUL, Unicode digits, thousands of digits, very long values).

A run fails on any 5xx, any exception that escapes the app, and any log record at ERROR or
above, any record carrying a traceback, or any record that cannot be written
(conftest.Watch).

Reproducible: hypothesis runs with `derandomize=True` (the examples follow from each
test's name, the same on every machine and every run) and no example database. Budget,
for the tier on both backends on a 2-core machine: about 25 s idle, 50 s while the machine
is shared, 80 s under `scripts/test`'s coverage; the counts are in each test's
`@fuzz(max_examples=...)`.
`GATEHOUSE_FUZZ_SCALE=10` runs ten times the examples; `GATEHOUSE_FUZZ_RANDOM=1` draws new
ones each run, to explore (a failure then prints the `@reproduce_failure` that replays it).

The rate limits being added to these routes are set out of the fuzzer's way in one place:
`FUZZ_SETTINGS` in tests/support/fuzz_world.py.
"""
