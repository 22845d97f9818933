# CodeRunner - build, set-up and tests. `make help` lists the targets.
CC        ?= cc
PKGS      := libcjson libmnl libcgroup libseccomp
CFLAGS    ?= -O2 -g
CFLAGS    += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
             -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    += -lcivetweb -lpthread -lm $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
PYTHON    := /usr/bin/python3

B         := build
ROOTFS    := $(B)/rootfs
LIB_SRC   := $(wildcard api/*.c runtime/*.c) $(filter-out cmd/main.c,$(wildcard cmd/*.c))
SRC       := $(LIB_SRC) cmd/main.c
HDR       := $(wildcard api/*.h runtime/*.h cmd/*.h)
UNIT_SRC  := $(wildcard tests/unit/*.c)
FUZZ_HARNESS := $(wildcard tests/fuzz/*.c)

# Debian packages, by purpose: building the binary, building the rootfs,
# and everything the tests, lint, fuzzing and the cgroup v2 VM need.
DEB_BUILD  := gcc make pkg-config libc6-dev libcivetweb-dev libcjson-dev libmnl-dev \
              libcgroup-dev libseccomp-dev
DEB_ROOTFS := mmdebstrap debian-archive-keyring
DEB_TEST   := check python3 python3-pytest python3-httpx python3-jsonschema clang-format cppcheck clang \
              libclang-rt-14-dev qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils \
              bubblewrap
DEB_PACKAGES := $(DEB_BUILD) $(DEB_ROOTFS) $(DEB_TEST)
# npm packages: deployment checks, OpenAPI lint, the MCP client (tests/node)
NODE_DIR   := tests/node

.PHONY: all build deps deps-build deps-rootfs rootfs run test test-unit test-integration test-cgroup2 fuzz fuzz-smoke soak bench \
        lint format clean help

all: build

help:
	@echo "make deps              install build/test packages with apt-get (idempotent; root)"
	@echo "make build             build $(B)/coderunner"
	@echo "make rootfs            build the Python rootfs in $(ROOTFS) (root; skipped when current)"
	@echo "make run               deps + build + rootfs, then serve on 127.0.0.1:8080"
	@echo "make test              deps + build + rootfs, then unit (ASan/UBSan) and integration tests"
	@echo "make test-cgroup2      the limits suite in a QEMU guest with pure cgroup v2"
	@echo "make fuzz              libFuzzer on request parsing (FUZZ_SECONDS=60)"
	@echo "make soak              2,000 mixed jobs at concurrency 16, then leak checks (SOAK_JOBS)"
	@echo "make bench             benchmarks against chroot and bubblewrap (cold and warm), warm designs, dependency cache"
	@echo "make lint              clang-format check and cppcheck"
	@echo "make format            apply clang-format"

build: $(B)/coderunner

# The OpenAPI document is compiled in, so /api/openapi.json and the MCP
# tool's schemas come from the one file.
# The warm sandboxes' Python loader is compiled in the same way.
GEN_SRC   := $(B)/openapi_json.c $(B)/warm_start_py.c
# $(call embed,SYMBOL): the rule's source file as a C string named SYMBOL
define embed
	@mkdir -p $(B)
	{ echo '/* generated from $< by the Makefile */'; \
	  echo 'extern const char $(1)[];'; echo 'const char $(1)[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } > $@
endef
$(B)/openapi_json.c: api/openapi.json
	$(call embed,openapi_json)
$(B)/warm_start_py.c: runtime/warm_start.py
	$(call embed,warm_start_py)

$(B)/coderunner: $(SRC) $(HDR) $(GEN_SRC) Makefile
	@mkdir -p $(B)
	$(CC) $(CFLAGS) -o $@ $(SRC) $(GEN_SRC) $(LDFLAGS) $(LDLIBS)

# Installs what is missing, with apt-get (as root; otherwise says what to run).
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: $(2) packages installed"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then echo "deps: missing:$$missing; run: sudo make $@" >&2; exit 1; fi; \
	echo "deps: installing$$missing"; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing
endef

deps-build:
	$(call apt_install,$(DEB_BUILD),build)

deps-rootfs:
	$(call apt_install,$(DEB_ROOTFS),rootfs)

deps: deps-build deps-rootfs
	$(call apt_install,$(DEB_TEST),test)
	@command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
	@if [ ! -d $(NODE_DIR)/node_modules ]; then npm ci --prefix $(NODE_DIR) --no-audit --no-fund; \
	else echo "deps: npm packages installed"; fi

rootfs: deps
	rootfs/build.sh $(ROOTFS)

run: deps build rootfs
	$(B)/coderunner serve --rootfs $(ROOTFS)

$(B)/unit_tests: $(UNIT_SRC) $(LIB_SRC) $(HDR) $(GEN_SRC) Makefile
	@mkdir -p $(B)
	$(CC) $(CFLAGS) $(SAN) -I. -o $@ $(UNIT_SRC) $(LIB_SRC) $(GEN_SRC) $(LDFLAGS) $(LDLIBS) \
	  $(shell pkg-config --libs check)

test-unit: $(B)/unit_tests
	$(B)/unit_tests

PYTEST    := CODERUNNER_BIN=$(B)/coderunner CODERUNNER_ROOTFS=$(ROOTFS) $(PYTHON) -m pytest -q \
             -p no:cacheprovider
# Every functional and hostile suite runs twice: with the server's default
# sandbox pools (warm starts, prepared sandboxes) and with both off.
test-integration: build
	$(PYTEST) tests/integration tests/limits tests/hostile tests/node
	CODERUNNER_TEST_WARM_POOL=0 CODERUNNER_TEST_PREPARED_SANDBOXES=0 \
	  $(PYTEST) tests/integration tests/limits tests/hostile

# At least 2,000 mixed jobs at concurrency 16; `make test` runs 300.
SOAK_JOBS ?= 2000
soak: build rootfs
	SOAK_JOBS=$(SOAK_JOBS) $(PYTEST) tests/soak

# The cgroup v2 suite needs what `make deps` installs (QEMU, a kernel in
# /boot, busybox); it is skipped, loudly, only where those are absent.
test: deps build rootfs
	$(MAKE) test-unit
	$(MAKE) fuzz-smoke
	$(MAKE) test-integration
	$(MAKE) soak SOAK_JOBS=300
	@if command -v qemu-system-x86_64 >/dev/null && ls /boot/vmlinuz-* >/dev/null 2>&1 && \
	    [ -x /bin/busybox ]; then $(MAKE) test-cgroup2; \
	else echo "test: WARNING: cgroup v2 suite not run: qemu-system-x86, linux-image-amd64 or busybox-static missing (make deps)"; fi

# libFuzzer over request parsing, validation and response encoding, with
# ASan and UBSan. `make fuzz FUZZ_SECONDS=600` for a longer run; `make test`
# runs a short smoke run.
FUZZ_SECONDS ?= 60
FUZZ_SRC  := api/request.c api/requirements.c api/base64.c api/utf8.c api/paths.c api/response.c \
             runtime/job.c runtime/limits.c
$(B)/fuzz_request: tests/fuzz/fuzz_request.c $(FUZZ_SRC) $(HDR) Makefile
	@mkdir -p $(B)
	clang -g -O1 -std=c17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -I. $(shell pkg-config --cflags libcjson) \
	  -o $@ tests/fuzz/fuzz_request.c $(FUZZ_SRC) $(shell pkg-config --libs libcjson)

fuzz: $(B)/fuzz_request
	@mkdir -p $(B)/fuzz-corpus
	$(B)/fuzz_request -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -artifact_prefix=$(B)/fuzz-finding- \
	  -print_final_stats=1 $(B)/fuzz-corpus tests/fuzz/corpus

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

lint:
	clang-format --dry-run --Werror $(SRC) $(HDR) $(UNIT_SRC) $(FUZZ_HARNESS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --inline-suppr --std=c11 -D_GNU_SOURCE -I. $(SRC) $(UNIT_SRC)

format:
	clang-format -i $(SRC) $(HDR) $(UNIT_SRC) $(FUZZ_HARNESS)

clean:
	rm -f $(B)/coderunner $(B)/unit_tests

# cgroup v2 for real: the limits suite against a real server inside a QEMU
# guest that boots this host's root read-only with a pure cgroup v2 hierarchy.
# (warm sandboxes there import json only: numpy and pandas take ~15 s each
# under TCG; what is tested is the sandbox and its cgroup, not the imports)
VM_SUITE_ENV := CODERUNNER_TEST_OWN_CGROUP=1 CODERUNNER_TEST_SLOWDOWN=15 \
                CODERUNNER_WARM_PRELOAD=json \
                CODERUNNER_BIN=$(B)/coderunner CODERUNNER_ROOTFS=$(ROOTFS) PYTHONDONTWRITEBYTECODE=1
test-cgroup2: build
	env $(VM_SUITE_ENV) tests/vm/run-in-vm.sh \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/limits

# Benchmarks print ratios against baselines measured in the same run.
bench: build rootfs
	$(PYTHON) bench/harness.py
	$(PYTHON) bench/warm_designs.py
	$(PYTHON) bench/deps_cache_hit.py
