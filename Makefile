# s3-proxy — every command a user or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
PORT ?= 3000
DATA ?= .local-data
STAGE ?= prod
EVENT ?= events/list-buckets.json

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# `make run`, `make invoke` and `make store` run the debug build that
# `make test` makes: building it together with a test target gives it the
# very features the tests' build has (Cargo unifies dev-dependency features
# only when a target needs them), so after `make test` nothing is rebuilt.
# PROFILE=local: an optimized build instead (a second dependency build).
PROFILE ?= dev
LOCAL_BIN = $(or $(CARGO_TARGET_DIR),target)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))/s3-proxy-local

.PHONY: local-bin
local-bin:
	$(CARGO) build --profile $(PROFILE) --bin s3-proxy-local $(if $(filter dev,$(PROFILE)),--test local)

.PHONY: run
run: local-bin ## Serve the API on http://127.0.0.1:$(PORT)/ over an embedded S3 store in $(DATA)/ (S3 endpoint on 127.0.0.1:9100)
	$(LOCAL_BIN) --port $(PORT) --data $(DATA) --stage $(STAGE)

.PHONY: invoke
invoke: local-bin ## Run one event through the handler and print the response JSON (EVENT=events/x.json)
	$(LOCAL_BIN) invoke --data $(DATA) $(EVENT)

.PHONY: store
store: local-bin ## Serve only the embedded S3 store on 127.0.0.1:9100 (for `cargo lambda watch`; may run beside `make run`)
	$(LOCAL_BIN) --data $(DATA) store --s3-port 9100

.PHONY: test
test: test-rust test-template test-moto test-schemathesis test-browser ## Run every test: unit, integration (embedded S3 on loopback, then moto), template lint, Schemathesis, headless Chromium

# --no-fail-fast: every suite runs and reports, even after another failed.
.PHONY: test-rust
test-rust:
	$(CARGO) test --all-targets --no-fail-fast

# --- deploy path (template.yaml, openapi.yaml) -------------------------------

# Python tools live in virtual environments, pinned: cfn-lint, the SAM CLI and
# moto in .venv (requirements-dev.txt); checkov in .venv-checkov
# (requirements-checkov.txt: it pins boto3 apart from the SAM CLI's, so the two
# cannot share one environment). All three linters run offline and need no AWS
# credentials: only a region name.
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov
PYTHON ?= python3
SAM := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/sam
CFN_LINT := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/cfn-lint
# --skip-download: no call to Prisma Cloud for guidelines (offline, fast).
CHECKOV := $(CHECKOV_VENV)/bin/checkov --framework cloudformation --compact --quiet --skip-download

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Install cfn-lint, the SAM CLI, moto and checkov (pinned) into .venv*

# checkov decides from the parameters' defaults which conditional resources
# exist, so it also scans a variant with every option on (deploy/template_variant.py).
.PHONY: test-template
test-template: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Lint template.yaml offline: cfn-lint, sam validate --lint, checkov
	$(CFN_LINT) template.yaml
	$(SAM) validate --lint --template template.yaml
	$(CHECKOV) --file template.yaml
	@mkdir -p target
	$(VENV)/bin/python deploy/template_variant.py template.yaml target/template-all-options.json
	$(CHECKOV) --file target/template-all-options.json

# The integration tests again, against another S3 implementation (moto's S3
# server, from PyPI) on a free loopback port, through S3_PROXY_TEST_ENDPOINT;
# the server is stopped when the tests end, pass or fail. The same server is
# the reference of the store-vs-moto comparison in tests/differential/
# (S3_PROXY_DIFF_MOTO_ENDPOINT). Against moto the differential runs a fixed
# seed unless DIFFTEST_SEED says otherwise: moto has quirks of its own (named
# in tests/differential/compare.rs), and a new one found by a random seed
# must not fail an unrelated change; `DIFFTEST_SEED=$$RANDOM make test-moto`
# explores. Against the embedded store (make test-rust) seeds stay random.
.PHONY: test-moto
test-moto: $(VENV)/.installed ## The integration tests against moto's S3 server on loopback
	@port=$$($(VENV)/bin/python tests/tools/free_port.py); \
	$(VENV)/bin/moto_server -H 127.0.0.1 -p $$port > $(VENV)/moto.log 2>&1 & pid=$$!; \
	trap "kill $$pid 2>/dev/null" EXIT; \
	$(VENV)/bin/python tests/tools/wait_for_http.py http://127.0.0.1:$$port/ || exit 1; \
	echo "moto S3 server on 127.0.0.1:$$port"; \
	S3_PROXY_TEST_ENDPOINT=http://127.0.0.1:$$port S3_PROXY_TEST_ACCESS_KEY=test S3_PROXY_TEST_SECRET_KEY=test \
	S3_PROXY_DIFF_MOTO_ENDPOINT=http://127.0.0.1:$$port DIFFTEST_SEED=$${DIFFTEST_SEED:-42} \
	  $(CARGO) test --no-fail-fast --test api --test events --test http_semantics --test faults --test properties --test observability --test no_surprises --test differential --test cors_html --test streaming

# Schemathesis (pinned in requirements-dev.txt) checks openapi.yaml against the
# local emulator, started on a free loopback port over a temporary data folder
# and stopped afterwards, pass or fail. Configuration, hooks and why:
# tests/schemathesis/. SCHEMATHESIS_EXAMPLES: examples per operation and phase.
# PYTHONUNBUFFERED: with its output in a file, Schemathesis was seen to end
# without writing out its last buffered report.
# Each response mode in turn (RESPONSE_MODE): the spec holds for both.
SCHEMATHESIS_EXAMPLES ?= 40
SCHEMATHESIS_MODES ?= buffered stream
.PHONY: test-schemathesis
test-schemathesis: $(VENV)/.installed ## openapi.yaml against the local emulator in both response modes (Schemathesis: 5xx, refusals, answer schemas)
	$(CARGO) build --bin s3-proxy-local
	@set -e; for mode in $(SCHEMATHESIS_MODES); do \
	  $(MAKE) --no-print-directory schemathesis-mode MODE=$$mode; \
	done

.PHONY: schemathesis-mode
schemathesis-mode:
	@port=$$($(VENV)/bin/python tests/tools/free_port.py); \
	data=$$(mktemp -d); log=$(VENV)/schemathesis-emulator-$(MODE).log; \
	RESPONSE_MODE=$(MODE) target/debug/s3-proxy-local --host 127.0.0.1 --port $$port --data $$data > $$log 2>&1 & pid=$$!; \
	trap "kill $$pid 2>/dev/null; rm -rf $$data" EXIT; \
	$(VENV)/bin/python tests/tools/wait_for_http.py http://127.0.0.1:$$port/ 60 && \
	$(VENV)/bin/python tests/schemathesis/fixture.py http://127.0.0.1:$$port st-fixture && \
	echo "local emulator, RESPONSE_MODE=$(MODE), on 127.0.0.1:$$port (log: $$log)" && \
	PYTHONUNBUFFERED=1 S3_PROXY_SCHEMATHESIS_BUCKET=st-fixture $(VENV)/bin/schemathesis --config-file tests/schemathesis/schemathesis.toml \
	  run openapi.yaml --url http://127.0.0.1:$$port --max-examples $(SCHEMATHESIS_EXAMPLES)

# --- browser tests -------------------------------------------------------------
# Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium
# (.venv) against s3-proxy-local, the program `make run` runs, on a free
# loopback port: the HTML index, CORS from another origin, markup in keys, a
# screenshot in target/browser/. Built with the dev profile by default, which
# test-rust has already built (BROWSER_PROFILE=local: exactly make run's build).
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
BROWSER_PROFILE ?= dev
BROWSER_BIN_DIR = $(if $(filter dev,$(BROWSER_PROFILE)),debug,$(BROWSER_PROFILE))

.PHONY: chromium
chromium: ## Install Debian's chromium and chromium-driver when missing (as root, with apt-get)
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "chromium: installing chromium, chromium-driver (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver fonts-dejavu-core > /dev/null \
	  || echo "chromium: apt-get could not install it"; \
	else \
	  echo "chromium: not installed, and installing needs root and apt-get: the browser tests will skip"; \
	fi

.PHONY: test-browser
test-browser: $(VENV)/.installed chromium ## Headless Chromium against s3-proxy-local: index, CORS fetch, XSS, screenshot
	$(CARGO) build --profile $(BROWSER_PROFILE) --bin s3-proxy-local
	S3_PROXY_LOCAL_BIN=target/$(BROWSER_BIN_DIR)/s3-proxy-local CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) \
	  $(VENV)/bin/python tests/browser/test_browser.py

# --- build and deploy ----------------------------------------------------------
# The function is the `s3-proxy` binary without the `local` feature. arm64 (the
# template's default Architecture) needs `rustup target add
# aarch64-unknown-linux-gnu`; cargo-lambda cross-compiles with zig
# (`pip install ziglang`) unless told `--compiler cargo`.
.PHONY: build
build: ## Build the arm64 Lambda: target/lambda/s3-proxy/bootstrap (cargo-lambda)
	$(CARGO) lambda build --release --arm64 --bin s3-proxy --no-default-features

.PHONY: build-x86
build-x86: ## Build the x86_64 Lambda (deploy with Architecture=x86_64)
	$(CARGO) lambda build --release --target x86_64-unknown-linux-gnu --bin s3-proxy --no-default-features

# `sam build` runs cargo-lambda for the template's Architecture (CargoLambda.toml
# turns the default features off). The first deploy asks its questions and saves
# the answers in samconfig.toml; later ones reuse them.
.PHONY: deploy
deploy: $(VENV)/.installed ## sam build && sam deploy (--guided until samconfig.toml exists)
	$(SAM) build
	if [ -f samconfig.toml ]; then $(SAM) deploy; else $(SAM) deploy --guided; fi

# The inner loop after the first `make deploy`: build for the stack's
# architecture and replace only the code of the stack's function
# (`<stack>-s3-proxy`). cargo-lambda leaves role, environment, memory, timeout
# and the API alone: its [package.metadata.lambda.deploy] settings apply only
# to a function named after the package. The next `make deploy` puts the
# stack's own build back. STACK, REGION and ARCH default to samconfig.toml's.
STACK ?= $(or $(shell sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml 2>/dev/null | head -n 1),s3-proxy)
REGION ?= $(shell sed -n 's/^region *= *"\(.*\)"/\1/p' samconfig.toml 2>/dev/null | head -n 1)
ARCH ?= $(or $(shell sed -n 's/.*Architecture=\([a-z0-9_]*\).*/\1/p' samconfig.toml 2>/dev/null | head -n 1),arm64)
LAMBDA_ARCH_FLAG := $(if $(filter x86_64,$(ARCH)),--x86-64,--arm64)
LAMBDA_REGION_FLAG := $(if $(REGION),--region $(REGION))

.PHONY: update-function
update-function: ## Replace the deployed stack's function code only, in seconds (STACK, REGION, ARCH=arm64|x86_64)
	$(CARGO) lambda build --release $(LAMBDA_ARCH_FLAG) --bin s3-proxy --no-default-features
	$(CARGO) lambda deploy $(LAMBDA_REGION_FLAG) --binary-path target/lambda/s3-proxy/bootstrap $(STACK)-s3-proxy

# The deploy without SAM: one function named s3-proxy with the settings of
# [package.metadata.lambda.deploy] and deploy/function.env, running as the role
# made from deploy/function-policy.json (README: "Deploy without SAM").
.PHONY: deploy-lambda
deploy-lambda: ## cargo-lambda only: deploy the function s3-proxy (ROLE_ARN=..., REGION, ARCH)
	@test -n "$(ROLE_ARN)" || { echo "ROLE_ARN=arn:aws:iam::<account>:role/<role> is required (README: Deploy without SAM)"; exit 2; }
	@test -f deploy/function.env || { echo "copy deploy/function.env.example to deploy/function.env and name your buckets"; exit 2; }
	$(CARGO) lambda build --release $(LAMBDA_ARCH_FLAG) --bin s3-proxy --no-default-features
	$(CARGO) lambda deploy $(LAMBDA_REGION_FLAG) --iam-role $(ROLE_ARN) --binary-path target/lambda/s3-proxy/bootstrap s3-proxy

.PHONY: lint
lint: ## cargo fmt --check, clippy -D warnings, and the template linters
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(MAKE) --no-print-directory test-template

# --- performance ---------------------------------------------------------------
# `make bench` measures the Lambda binary as deployed (without the `local`
# feature), built in its own target folder so `cargo bench` does not undo it.
# `make bench ONLY="cold tls"` runs some parts (overhead instructions memory
# throughput store cold tls size). Rows counted by callgrind need valgrind
# (`apt-get install valgrind`) and the CPU-quota rows a writable cgroup v1 cpu
# controller (root); without them those rows say "skipped" and why.

ONLY ?=
.PHONY: bench
bench: ## Measure handler overhead, cold start (also over TLS and CPU quotas), binary size, local throughput, memory: one table
	$(CARGO) build --release --bin s3-proxy --no-default-features --target-dir target/bench-lambda
	$(CARGO) build --profile local --bin s3-proxy-local
	S3_PROXY_LAMBDA_BIN=target/bench-lambda/release/s3-proxy S3_PROXY_LOCAL_BIN=target/local/s3-proxy-local $(CARGO) bench --bench bench -- $(ONLY)

.PHONY: loadtest
loadtest: ## Load the local emulator over HTTP (20,000 requests, 64 concurrent); fails on any error
	$(CARGO) bench --bench loadtest
