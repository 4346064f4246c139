# runway — build, run and test. See README.md.
#   make            build build/runwayd and build/runway
#   make run        install what is missing, build, start runwayd on examples/quickstart
#   make test       install what is missing, build, run every test (unit, fuzz smoke, integration)
#   make test SANITIZE=1   the same under AddressSanitizer + UBSan (build-asan/)
#   make fuzz       longer libFuzzer runs (FUZZ_SECONDS per target)
#   make bench      benchmark against Knot DNS, NSD, gdnsd and BIND (bench/README.md)

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

CC      ?= cc
PKGS     = libknot libzscanner liburcu-qsbr yaml-0.1 libuv libmaxminddb openssl lmdb libmicrohttpd jansson libfstrm
TOOL_PKGS = libcurl                 # the CLI's API client only: runwayd stays lean
CFLAGS  += -std=gnu11 $(OPT) -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
           -D_GNU_SOURCE -Isrc $(SANFLAGS) $(shell pkg-config --cflags $(PKGS) $(TOOL_PKGS) 2>/dev/null)
LDFLAGS += $(SANFLAGS)
LDLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

LIB_SRC    = $(wildcard src/lib/*.c)
SERVER_SRC = $(filter-out $(DAEMON_SRC),$(wildcard src/server/*/*.c))
SERVER_ASM = $(wildcard src/server/api/*.S)
DAEMON_SRC = src/server/daemon/main.c
TOOL_SRC   = $(wildcard src/tools/runway/*.c)

obj = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ    = $(call obj,$(LIB_SRC))
SERVER_OBJ = $(call obj,$(SERVER_SRC)) $(patsubst src/%.S,$(BUILD)/obj/%.o,$(SERVER_ASM))

all: $(BUILD)/runwayd $(BUILD)/runway

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The dashboard's files are built in with .incbin (dashboard_assets.S).
$(BUILD)/obj/%.o: src/%.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@
$(BUILD)/obj/server/api/dashboard_assets.o: $(wildcard src/server/api/dashboard/*)

$(BUILD)/librunway.a: $(LIB_OBJ)
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^

$(BUILD)/librunwayd.a: $(SERVER_OBJ)
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^

$(BUILD)/runwayd: $(call obj,$(DAEMON_SRC)) $(BUILD)/librunwayd.a $(BUILD)/librunway.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/runway: $(call obj,$(TOOL_SRC)) $(BUILD)/librunwayd.a $(BUILD)/librunway.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(TOOL_PKGS) 2>/dev/null)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- unit tests (cmocka): tests/unit/test_*.c, one binary each ----
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librunwayd.a $(BUILD)/librunway.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# ---- fuzz targets (libFuzzer, clang): tests/fuzz/fuzz_*.c ----
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BUILD = build-fuzz
FUZZ_BIN  = $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
$(FUZZ_BUILD)/%: tests/fuzz/%.c $(LIB_SRC) $(SERVER_SRC) $(SERVER_ASM)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -O1 -g -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
	  $(shell pkg-config --cflags $(PKGS)) -o $@ $^ $(LDLIBS)

.PHONY: all deps test-deps run test unit fuzz fuzz-smoke integration bench clean

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

test: test-deps
	$(MAKE) all unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration

bench:
	@scripts/deps.sh bench
	$(MAKE) all
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

clean:
	rm -rf build build-asan build-fuzz
