# tocsin: two commands do all set-up on a fresh machine.
#   make run   builds the release binary and starts the engine on config/tocsin.toml
#   make test  everything CI runs: fmt check, clippy -D warnings, all tests
CARGO ?= cargo
CONFIG ?= config/tocsin.toml

# A bare `make` builds the release binaries (tocsin and tocsin-bench).
.DEFAULT_GOAL := build

.PHONY: run build test fmt-check clippy unit bench

run: build
	./target/release/tocsin run --config $(CONFIG)

build:
	$(CARGO) build --release --bin tocsin --bin tocsin-bench

test: fmt-check clippy unit

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The SIGTERM and harness tests run the real binaries: build them first (debug profile, same as
# the tests). The harness's peer test needs rsyslog, installed from Debian when missing.
unit:
	./tests/install-deps.sh
	$(CARGO) build --bin tocsin --bin tocsin-bench
	$(CARGO) test --workspace

bench:
	$(CARGO) bench -p tocsin-benches
