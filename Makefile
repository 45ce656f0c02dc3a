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
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: run
run: ## Serve the API on http://127.0.0.1:$(PORT)/ over an embedded S3 store in $(DATA)/
	$(CARGO) run --release --bin s3-proxy-local -- --port $(PORT) --data $(DATA) --stage $(STAGE)

.PHONY: invoke
invoke: ## Run one event through the handler and print the response JSON (EVENT=events/x.json)
	$(CARGO) run --release --bin s3-proxy-local -- invoke --data $(DATA) $(EVENT)

.PHONY: store
store: ## Serve only the embedded S3 store on 127.0.0.1:9000 (for `cargo lambda watch`)
	$(CARGO) run --release --bin s3-proxy-local -- --data $(DATA) store --s3-port 9000

.PHONY: test
test: test-rust test-template ## Run every test: unit, integration (embedded S3 on loopback), template lint

.PHONY: test-rust
test-rust:
	$(CARGO) test --all-targets

# --- deploy path (template.yaml, openapi.yaml) -------------------------------

# --- performance ---------------------------------------------------------------

.PHONY: bench
bench: ## Measure handler overhead, cold start, binary size, local throughput, memory: one table
	$(CARGO) bench --bench bench

.PHONY: loadtest
loadtest: ## Load the local emulator over HTTP (20,000 requests, 64 concurrent); fails on any error
	$(CARGO) bench --bench loadtest
