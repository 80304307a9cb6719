# weir — build, run and test. `make run` and `make test` each work by
# themselves on a fresh Debian machine with Rust: what tests need beyond
# Rust is installed by `make deps` (apt, when run as root).

CARGO   ?= cargo
CONFIG  ?= conf/weir.toml
WEIR    := target/debug/weir
# Debian packages the tests use (clients and peers), by the command (or, for
# a path, the file) they provide. tests/bench_smoke.rs runs bench/run.sh
# --smoke: HAProxy, nginx with its stream module, wrk, ss, taskset, setsid.
# tests/balance_haproxy.rs and tests/stats_fields.rs run HAProxy itself,
# tests/hatop.rs runs hatop in tmux; worker/tests/h2_interop.rs needs
# python3-h2, an independent HTTP/2 peer; tests/h2_server.rs nghttpd,
# h2load and grpcio's server and client (python3-grpcio). The TLS tests use openssl s_client
# and a Python ssl origin. tests/dns_discovery.rs runs dnsmasq as the DNS
# registry.
TEST_TOOLS := curl:curl socat:socat python3:python3 openssl:openssl haproxy:haproxy halog:haproxy promtool:prometheus \
	prometheus-haproxy-exporter:prometheus-haproxy-exporter \
	nginx:nginx /usr/lib/nginx/modules/ngx_stream_module.so:libnginx-mod-stream \
	wrk:wrk ss:iproute2 taskset:util-linux setsid:util-linux hatop:hatop tmux:tmux \
	/usr/lib/python3/dist-packages/h2/__init__.py:python3-h2 \
	nghttpd:nghttp2-server h2load:nghttp2-client nghttp:nghttp2-client \
	/usr/lib/python3/dist-packages/grpc/__init__.py:python3-grpcio dnsmasq:dnsmasq testssl:testssl.sh

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

## Installs the Debian packages the tests need, if any is missing (a few
## `command -v` when all are there). Tests that lack a tool skip on a
## developer's machine and fail under CI (tests/common/ci.rs).
deps:
	@missing=""; for t in $(TEST_TOOLS); do \
	  cmd=$${t%%:*}; pkg=$${t##*:}; \
	  case $$cmd in /*) [ -e $$cmd ] ;; *) command -v $$cmd >/dev/null 2>&1 ;; esac \
	    || case " $$missing " in *" $$pkg "*) ;; *) missing="$$missing $$pkg" ;; esac; \
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
	@# tests/h2_conformance.rs runs httpwg (RFC 9113 suite), built
	@# unoptimised (about 40 s of CPU; 2.5 minutes optimised, for no gain:
	@# the suite runs in seconds either way), under CI or with
	@# HTTPWG_INSTALL=1.
	@if ! command -v httpwg >/dev/null 2>&1 && [ ! -x "$$HOME/.cargo/bin/httpwg" ] \
	  && [ -n "$(UNDER_CI)$(HTTPWG_INSTALL)" ]; then \
	  $(CARGO) install --locked --debug httpwg-cli; \
	fi

## Runs each fuzz target for FUZZ_SECONDS: libFuzzer with AddressSanitizer,
## through cargo-fuzz (installed when missing with FUZZ_TOOLS_INSTALL: about
## 1.5 minutes optimised, 15 s with --debug, which .ci/run uses; cargo-fuzz
## only drives the build and libFuzzer, so its own speed does not matter).
## cargo-fuzz passes -Z flags to rustc, which only nightly takes unless
## RUSTC_BOOTSTRAP=1: with it the toolchain in use (stable here and in CI,
## whose rust-std ships the ASan runtime) builds the targets. When
## cargo-fuzz cannot be had this says so and exits 0, but 1 under CI
## (CI=true): a green CI run means the targets ran. A target that fails
## (a crash, a failed assertion) fails the run; its input is kept in
## fuzz/artifacts/. New inputs go to fuzz/corpus/ (git-ignored).
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := request_head response_head ticket_keys proxy_header h2_frames hpack_decode dns_answer
FUZZ_TOOLS_INSTALL ?= $(CARGO) install --locked
UNDER_CI := $(filter true TRUE True 1,$(CI))
fuzz:
	@if ! command -v cargo-fuzz >/dev/null 2>&1 && ! $(FUZZ_TOOLS_INSTALL) cargo-fuzz; then \
	  echo "fuzz: cargo-fuzz is missing and did not install$(if $(UNDER_CI),; failing under CI,; skipped)"; \
	  exit $(if $(UNDER_CI),1,0); \
	fi; \
	cd fuzz && echo "fuzz: building the targets (ASan, RUSTC_BOOTSTRAP=1)" && \
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build && \
	for t in $(FUZZ_TARGETS); do \
	  dict=""; case $$t in *_head) dict="-dict=http.dict";; esac; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s" && mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t corpus/$$t seeds/$$t -- \
	    $$dict -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
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
