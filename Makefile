# SPDX-License-Identifier: GPL-3.0-or-later
# runway — build, run and test. See README.md.
#   make            build build/runwayd and build/runway
#   make run        install what is missing, build, start runwayd on examples/quickstart
#   make test       install what is missing, build, run every test (unit, fuzz smoke, integration)
#   make test SANITIZE=1   the same under AddressSanitizer + UBSan (build-asan/)
#   make fuzz       longer libFuzzer runs (FUZZ_SECONDS per target)
#   make bench      benchmark against Knot DNS, NSD, gdnsd and BIND (bench/README.md)
#   make install    runwayd, runway and a sample configuration (PREFIX, DESTDIR, sysconfdir)
#   make layers     no cycle and no upward dependency between modules (scripts/check-layers.py)
#   make spdx       every source file has an SPDX-License-Identifier line
#
# CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS are yours (a distribution's dpkg-buildflags
# set them): what runway needs to build (-Isrc, the libraries' flags, the
# warnings) is in RW_*, always added, and hardening is on unless HARDEN=0.
# A change of flags rebuilds ($(BUILD)/flags).

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD    ?= build-asan
SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      ?= -O1 -g
else
BUILD    ?= build
SANFLAGS  =
OPT      ?= -O2 -g
endif
CFLAGS   ?= $(OPT)

VERSION   := $(strip $(file < VERSION))
$(if $(VERSION),,$(error VERSION: the file with the version (runwayd --version) is missing or empty))
CC        ?= cc
PKG_CONFIG ?= pkg-config
PKGS       = libknot libzscanner liburcu-qsbr yaml-0.1 libuv libmaxminddb openssl lmdb libmicrohttpd jansson libfstrm
TOOL_PKGS  = libcurl                # the CLI's API client only: runwayd stays lean
# The Debian package with each one's .pc file, named when it is missing.
deb.libknot = libknot-dev
deb.libzscanner = libknot-dev
deb.liburcu-qsbr = liburcu-dev
deb.yaml-0.1 = libyaml-dev
deb.libuv = libuv1-dev
deb.libmaxminddb = libmaxminddb-dev
deb.openssl = libssl-dev
deb.lmdb = liblmdb-dev
deb.libmicrohttpd = libmicrohttpd-dev
deb.jansson = libjansson-dev
deb.libfstrm = libfstrm-dev
deb.libcurl = libcurl4-openssl-dev

# pkg-config is asked on first use only (make deps and clean need none),
# package by package so that a missing one is named, then once for the flags.
comma := ,
space := $(subst ,, )
pkg_missing = $(if $(shell command -v $(PKG_CONFIG)),$(foreach p,$(PKGS) $(TOOL_PKGS),\
  $(if $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),,$(p))),$(PKG_CONFIG))
pkg_named = $(subst ^,$(space),$(subst $(space),$(comma)$(space),$(strip \
  $(foreach p,$(1),$(p)^(Debian:^$(or $(deb.$(p)),pkg-config))))))
pkg_fail = $(if $(1),$(error missing: $(call pkg_named,$(1)) ("make deps" installs them)))
PKG_OK = $(eval PKG_OK :=)$(call pkg_fail,$(strip $(pkg_missing)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(PKG_OK)$$(shell $$(PKG_CONFIG) --cflags $$(PKGS) $$(TOOL_PKGS)))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(PKG_OK)$$(shell $$(PKG_CONFIG) --libs $$(PKGS)))$(PKG_LIBS)
TOOL_LIBS  = $(eval TOOL_LIBS := $$(PKG_OK)$$(shell $$(PKG_CONFIG) --libs $$(TOOL_PKGS)))$(TOOL_LIBS)

RW_CPPFLAGS = -Isrc -D_GNU_SOURCE -DRUNWAY_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
RW_CFLAGS   = -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
              -ffile-prefix-map=$(CURDIR)=.
RW_LDLIBS   = $(PKG_LIBS) -lpthread -lm

# Hardening (Debian's "hardening=+all" set): the stack protector, position
# independent executables, read-only relocations bound at start. _FORTIFY_SOURCE
# needs optimisation (the last -O of CFLAGS, not -O0), is left to CPPFLAGS
# when they set it (dpkg-buildflags does) and is off under ASan, which
# intercepts the same functions.
HARDEN ?= 1
ifeq ($(HARDEN),1)
HARDEN_CFLAGS  = -fstack-protector-strong -fPIE
HARDEN_LDFLAGS = -pie -Wl,-z,relro,-z,now
HARDEN_CPPFLAGS = $(if $(filter 1,$(SANITIZE))$(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,\
  $(if $(filter-out -O0,$(lastword $(filter -O%,$(CFLAGS)))),-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2))
endif

COMPILE = $(CC) $(RW_CPPFLAGS) $(HARDEN_CPPFLAGS) $(CPPFLAGS) $(RW_CFLAGS) $(HARDEN_CFLAGS) $(CFLAGS) $(SANFLAGS)
LINK    = $(CC) $(RW_CFLAGS) $(HARDEN_CFLAGS) $(CFLAGS) $(SANFLAGS) $(HARDEN_LDFLAGS) $(LDFLAGS)

LIB_SRC    = $(wildcard src/lib/*.c)
SERVER_SRC = $(filter-out $(DAEMON_SRC),$(wildcard src/server/*/*.c))
SERVER_ASM = $(wildcard src/server/api/*.S)
DAEMON_SRC = src/server/daemon/main.c
TOOL_SRC   = $(wildcard src/tools/runway/*.c)

obj = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ    = $(call obj,$(LIB_SRC))
SERVER_OBJ = $(call obj,$(SERVER_SRC)) $(patsubst src/%.S,$(BUILD)/obj/%.o,$(SERVER_ASM))

all: $(BUILD)/runwayd $(BUILD)/runway

# The flags everything in $(BUILD) was built with: when they change (make
# CFLAGS=... after a plain make), every object and binary is rebuilt. The
# file is rewritten only then, so an unchanged build stays up to date.
FLAGS_FILE = $(BUILD)/flags
TRACKED    = $(COMPILE) | $(LINK) | $(RW_LDLIBS) $(LDLIBS)
$(FLAGS_FILE): FORCE
	@mkdir -p $(dir $@); f='$(subst ','\'',$(TRACKED))'; \
	  if [ "$$f" != "$$(cat $@ 2>/dev/null)" ]; then \
	    [ ! -e $@ ] || echo "build flags changed: rebuilding $(BUILD)"; printf '%s\n' "$$f" > $@; fi
FORCE:

$(BUILD)/obj/%.o: src/%.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP -c $< -o $@

# The dashboard's files are built in with .incbin (dashboard_assets.S).
$(BUILD)/obj/%.o: src/%.S $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/server/api/dashboard_assets.o: $(wildcard src/server/api/dashboard/*)

$(BUILD)/librunway.a: $(LIB_OBJ)
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^

$(BUILD)/librunwayd.a: $(SERVER_OBJ)
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^

$(BUILD)/runwayd: $(call obj,$(DAEMON_SRC)) $(BUILD)/librunwayd.a $(BUILD)/librunway.a $(FLAGS_FILE)
	$(LINK) -o $@ $(filter-out $(FLAGS_FILE),$^) $(RW_LDLIBS) $(LDLIBS)

$(BUILD)/runway: $(call obj,$(TOOL_SRC)) $(BUILD)/librunwayd.a $(BUILD)/librunway.a $(FLAGS_FILE)
	$(LINK) -o $@ $(filter-out $(FLAGS_FILE),$^) $(RW_LDLIBS) $(TOOL_LIBS) $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- unit tests (cmocka): tests/unit/test_*.c, one binary each ----
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
CMOCKA = $(if $(shell $(PKG_CONFIG) --exists cmocka 2>/dev/null && echo y),-lcmocka,\
  $(error missing: cmocka (Debian: libcmocka-dev) ("make test-deps" installs it)))
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librunwayd.a $(BUILD)/librunway.a $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(COMPILE) $(HARDEN_LDFLAGS) $(LDFLAGS) -o $@ $(filter-out $(FLAGS_FILE),$^) \
	  $(RW_LDLIBS) $(LDLIBS) $(CMOCKA)

# ---- fuzz targets (libFuzzer, clang): tests/fuzz/fuzz_*.c ----
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BUILD ?= build-fuzz
FUZZ_BIN  = $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
$(FUZZ_BUILD)/%: tests/fuzz/%.c $(LIB_SRC) $(SERVER_SRC) $(SERVER_ASM)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -O1 -g $(RW_CPPFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o $@ $^ $(RW_LDLIBS)

.PHONY: all deps test-deps run test unit layers build-test spdx fuzz fuzz-smoke integration bench \
        install uninstall clean

deps:
	@scripts/deps.sh build
test-deps:
	@scripts/deps.sh test

run: deps
	$(MAKE) all
	$(BUILD)/runwayd -c examples/quickstart/runway.yaml

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# A crash leaves its reproducer in build-fuzz/ and fails the run, with the log.
# Inputs that once failed (tests/fuzz/regressions/TARGET/) are replayed first.
fuzz-smoke: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  r=$$(ls tests/fuzz/regressions/$$n/* 2>/dev/null || true); \
	  if [ -n "$$r" ]; then echo "== $$n: $$(echo $$r | wc -w) regression input(s)"; \
	    $$f -runs=1 $$r > $(FUZZ_BUILD)/$$n-regressions.log 2>&1 || \
	    { tail -n 40 $(FUZZ_BUILD)/$$n-regressions.log; exit 1; }; fi; \
	  echo "== $$n ($(FUZZ_SMOKE_SECONDS)s)"; \
	  if ! $$f -max_total_time=$(FUZZ_SMOKE_SECONDS) -timeout=5 -rss_limit_mb=2048 \
	      -artifact_prefix=$(FUZZ_BUILD)/$$n- $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n \
	      > $(FUZZ_BUILD)/$$n.log 2>&1; then tail -n 40 $(FUZZ_BUILD)/$$n.log; exit 1; fi; \
	  grep -E "^Done [0-9]+ runs" $(FUZZ_BUILD)/$$n.log || tail -n 2 $(FUZZ_BUILD)/$$n.log; done

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n; done

integration: all
	RUNWAY_BUILD=$(abspath $(BUILD)) /usr/bin/python3 -m pytest -q tests/integration

# The layering of src/ (includes, and nm of the objects), after the script's self-test;
# docs/architecture.md names every folder of src/.
layers: all
	@tests/build/test_layers.sh
	@/usr/bin/python3 scripts/check-layers.py --objects $(BUILD)/obj
	@scripts/check-doc-tree.sh

# The build itself: CFLAGS/CPPFLAGS taken, a missing library named, install (tests/build/).
build-test:
	@tests/build/test_build.sh

# Every source file names its licence (README.md, Licence); scripts/spdx-check.sh
# --add gives a new file its line.
spdx:
	@tests/build/test_spdx.sh
	@scripts/spdx-check.sh

# build-test checks the Makefile, not the code: once, not again under SANITIZE=1.
test: test-deps
	$(MAKE) all unit layers
	$(if $(filter 1,$(SANITIZE)),,$(MAKE) build-test spdx)
	$(MAKE) fuzz-smoke
	$(MAKE) integration

bench:
	@scripts/deps.sh bench
	$(MAKE) all
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

# Packagers: make PREFIX=/usr sysconfdir=/etc && make install PREFIX=/usr sysconfdir=/etc DESTDIR=...
# runwayd goes to sbin (a daemon), runway to bin, a sample configuration that
# runs as it is (runway.sample.yaml and its zone) to $(sysconfdir)/runway/.
PREFIX     ?= /usr/local
prefix     ?= $(PREFIX)
bindir     ?= $(prefix)/bin
sbindir    ?= $(prefix)/sbin
sysconfdir ?= $(prefix)/etc
INSTALL    ?= install
SAMPLE      = examples/quickstart
install: all
	$(INSTALL) -d "$(DESTDIR)$(bindir)" "$(DESTDIR)$(sbindir)" "$(DESTDIR)$(sysconfdir)/runway"
	$(INSTALL) -m 0755 $(BUILD)/runwayd "$(DESTDIR)$(sbindir)/runwayd"
	$(INSTALL) -m 0755 $(BUILD)/runway "$(DESTDIR)$(bindir)/runway"
	$(INSTALL) -m 0644 $(SAMPLE)/runway.yaml "$(DESTDIR)$(sysconfdir)/runway/runway.sample.yaml"
	$(INSTALL) -m 0644 $(SAMPLE)/example.com.zone $(SAMPLE)/example.com.office.inc \
	  "$(DESTDIR)$(sysconfdir)/runway/"

uninstall:
	rm -f "$(DESTDIR)$(sbindir)/runwayd" "$(DESTDIR)$(bindir)/runway" \
	  "$(DESTDIR)$(sysconfdir)/runway/runway.sample.yaml" \
	  "$(DESTDIR)$(sysconfdir)/runway/example.com.zone" \
	  "$(DESTDIR)$(sysconfdir)/runway/example.com.office.inc"
	-rmdir "$(DESTDIR)$(sysconfdir)/runway" 2>/dev/null

clean:
	rm -rf build build-asan build-fuzz
