# weir — build, run and test. `make run` and `make test` each work by
# themselves on a fresh Debian machine with Rust: what tests need beyond
# Rust is installed by `make deps` (apt, when run as root).

CARGO   ?= cargo
CONFIG  ?= conf/weir.toml
WEIR    := target/debug/weir
# Debian packages the tests use (clients and peers), by the command they provide.
TEST_TOOLS := curl:curl socat:socat python3:python3 haproxy:haproxy halog:haproxy promtool:prometheus prometheus-haproxy-exporter:prometheus-haproxy-exporter hatop:hatop tmux:tmux

.PHONY: all build release run test check fmt lint deps fuzz deb rpm test-packages clean

all: build

build:
	$(CARGO) build -p weir

release:
	$(CARGO) build --release -p weir

## Build, then run weir in the foreground on the default configuration.
run: build
	$(WEIR) -f $(CONFIG)

## Every test: formatting, lints, unit tests and the end-to-end suite.
test: deps build lint
	$(CARGO) test --workspace --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Installs the Debian packages the tests need, if any is missing.
deps:
	@missing=""; for t in $(TEST_TOOLS); do \
	  cmd=$${t%%:*}; pkg=$${t##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing test tools:$$missing (install them, or run make as root)"; exit 1; \
	  fi; \
	fi
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt 2>/dev/null || true

## Runs each fuzz target for FUZZ_SECONDS (cargo-fuzz needs a nightly
## toolchain; without one this says so and does nothing).
FUZZ_SECONDS ?= 20
fuzz:
	@if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then \
	  echo "fuzz: skipped, no nightly toolchain (cargo-fuzz needs one)"; exit 0; \
	fi; \
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked -q || { echo "fuzz: skipped, cargo-fuzz did not install"; exit 0; }; \
	cd fuzz && for t in request_head response_head; do \
	  mkdir -p corpus/$$t && \
	  cargo +nightly fuzz run $$t corpus/$$t seeds/$$t -- -dict=http.dict -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## Packages (packaging/README.md). The cargo subcommands that build them
## are installed when missing (a few minutes, once). CI installs them with
## PKG_TOOLS_INSTALL="cargo install --locked --debug --target-dir …": less
## than half the compile time, for a few seconds more when packaging.
PKG_TOOLS_INSTALL ?= $(CARGO) install --locked
RPM_STAGING := target/generate-rpm/staging

## Debian package: target/debian/weir_VERSION-1_ARCH.deb
deb:
	@command -v cargo-deb >/dev/null 2>&1 || $(PKG_TOOLS_INSTALL) cargo-deb
	$(CARGO) deb -p weir --strip

## RPM package: target/generate-rpm/weir-VERSION-1.ARCH.rpm (cargo-generate-rpm
## does not build: the release binary is built, then a stripped copy packaged).
rpm: release
	@command -v cargo-generate-rpm >/dev/null 2>&1 || $(PKG_TOOLS_INSTALL) cargo-generate-rpm
	install -D -m 755 -s target/release/weir $(RPM_STAGING)/weir
	$(CARGO) generate-rpm -p master
	@if ! command -v rpm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing rpm (for rpm -qlp)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null; \
	fi
	@if command -v rpm >/dev/null 2>&1; then rpm -qlp target/generate-rpm/weir-*.rpm; fi

## Builds both packages, installs the .deb and runs it through its init
## script (root only; CI runs it after `make test`).
test-packages:
	packaging/test-deb.sh

## Benchmarks (bench/README.md), as root: weir against HAProxy 2.6 and nginx
## in front of one origin, as ratios in one run; results in bench/results/.
## `bench` is the full run (about 15 minutes), `bench-quick` a subset.
.PHONY: bench bench-quick
bench:
	bench/run.sh

bench-quick:
	bench/run.sh --quick

clean:
	$(CARGO) clean
