# The two commands a newcomer needs: `make run` and `make test`. Both bootstrap .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check audit lint bench bench-instructions bench-isolation bench-webhooks bench-scim clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## Run Gatehouse with its demo on SQLite under ./var (broker, demo app; URLs printed).
run: $(STAMP)
	$(BIN)/gatehouse demo

## Run the whole test suite (SQLite always; PostgreSQL when reachable).
test: $(STAMP)
	scripts/system-packages
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test

## Lint, format check, types, import layers, XML stack smoke test.
check: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check

## Known vulnerabilities in the pinned dependencies (pip-audit); says so when it cannot run.
audit: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/audit

lint: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/lint

## Complete logins over real HTTP, SAML and OIDC upstreams (own processes, SQLite in a temp
## dir), userinfo included: rates, latency percentiles, broker CPU per login and per endpoint,
## the floor (crypto + SQL) and the ratio to it, PostgreSQL's CPU when on it, per protocol.
## Options: make bench BENCH_ARGS="--protocol oidc --logins 500 --https-idp".
## --workers 1 2: every row again with the broker as uvicorn --workers N, and logins/s growth.
bench: $(STAMP)
	$(BIN)/python -m bench.logins $(BENCH_ARGS)

## Instructions Gatehouse executes per login, counted by valgrind's callgrind: the same on a
## busy machine as on an idle one, so one change can be read against another (`make bench`
## measures time). Options: make bench-instructions BENCH_ARGS="--protocol saml --logins 50".
bench-instructions: $(STAMP)
	$(BIN)/python -m bench.instructions $(BENCH_ARGS)

## One tenant's dripping IdP against another tenant's logins: the healthy tenant's logins/s
## and p50/p99 alone and during the attack, and how fast the held tenant's users get their
## page. Options: make bench-isolation BENCH_ARGS="--protocol saml --attackers 80".
bench-isolation: $(STAMP)
	$(BIN)/python -m bench.isolation $(BENCH_ARGS)

## Webhook delivery to a loopback receiver: events/s, and the delay from a change to its
## arrival (p50/p99), with 1 and 2 workers (instances). Options: make bench-webhooks
## BENCH_ARGS="--events 5000 --database-url postgresql+psycopg://postgres@127.0.0.1/test".
bench-webhooks: $(STAMP)
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)

## SCIM provisioning as Okta or Entra would (issue 17): Gatehouse started on SQLite (or
## --database-url PostgreSQL), then the initial sync of 10,000 users and 500 groups and
## 1,000 mixed updates; requests/s, p50/p99 and Gatehouse's CPU per request, per phase.
## Options: make bench-scim BENCH_ARGS="--dialect entra --database-url postgresql+psycopg://postgres@127.0.0.1/test";
## --url URL --token-file F [--cpu-pid PID] drives another SCIM server instead.
bench-scim: $(STAMP)
	$(BIN)/python -m bench.scim $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
