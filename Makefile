# tocsin: two commands do all set-up on a fresh machine.
#   make run   builds the release binary and starts the engine on config/tocsin.toml
#   make test  everything CI runs: fmt check, clippy -D warnings, all tests, for both builds
#
# The default build has the LSTM detector (cargo feature `lstm`, on libtorch): the targets that
# compile it first run scripts/setup-libtorch.sh, which fetches PyTorch's CPU libraries from
# PyPI into .libtorch/ once (see DEVELOPERS.md). The lean build (`--no-default-features`:
# statistics and forest, no libtorch) is built and tested by `make test` too, in target/lean so
# the two builds do not rebuild each other.
CARGO ?= cargo
CONFIG ?= config/tocsin.toml
# Absolute: the tests read CARGO_TARGET_DIR at run time, from their own package folder.
LEAN_DIR ?= $(CURDIR)/target/lean
LEAN := CARGO_TARGET_DIR=$(LEAN_DIR) $(CARGO)

# A bare `make` builds the release binaries (tocsin and tocsin-bench).
.DEFAULT_GOAL := build

.PHONY: run build test fmt-check clippy clippy-lean unit unit-lean bench libtorch lean

run: build
	./target/release/tocsin run --config $(CONFIG)

libtorch:
	./scripts/setup-libtorch.sh

build: libtorch
	$(CARGO) build --release --bin tocsin --bin tocsin-bench

# The lean appliance binaries: target/lean/release/{tocsin,tocsin-bench}.
lean:
	$(LEAN) build --release --no-default-features --bin tocsin --bin tocsin-bench

test: fmt-check clippy clippy-lean unit unit-lean

fmt-check:
	$(CARGO) fmt --all -- --check

clippy: libtorch
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clippy-lean:
	$(LEAN) clippy --workspace --all-targets --no-default-features -- -D warnings

# The SIGTERM and harness tests run the real binaries: build them first (debug profile, same as
# the tests; the tests find them through CARGO_TARGET_DIR). The harness's peer test needs
# rsyslog, installed from Debian when missing.
unit: libtorch
	./tests/install-deps.sh
	$(CARGO) build --bin tocsin --bin tocsin-bench
	$(CARGO) test --workspace

unit-lean:
	./tests/install-deps.sh
	$(LEAN) build --no-default-features --bin tocsin --bin tocsin-bench
	$(LEAN) test --workspace --no-default-features

bench: libtorch
	$(CARGO) bench -p tocsin-benches
