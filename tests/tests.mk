# tests/: Check unit tests (one runner, every suite), CLI tests, netns
# integration tests (with capinject, a hostile peer), fuzzers.
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
UNIT_BIN := $(BUILD)/captun-tests

# capctl's report engine is tested on its own (check_report.c).
UNIT_CAPCTL_OBJS := $(BUILD)/tools/capctl/report.o $(BUILD)/tools/capctl/report_html.o
$(BUILD)/tests/unit/check_report.o: CFLAGS += -Itools/capctl

$(UNIT_BIN): $(UNIT_OBJS) $(UNIT_CAPCTL_OBJS) $(PAM_CAPD_PURE_OBJS) $(CAPD_LIB) $(SHIM_LIB) \
		$(COMMON_LIB) $(POLICY_LIB) $(KBPF_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(BPF_LIBS)

# the eBPF suites include the skeletons
$(UNIT_OBJS): $(KBPF_SKELS)

ALL_TARGETS += $(UNIT_BIN)

# The Noise test vector is read from the source tree (a fresh clone has it).
$(BUILD)/tests/unit/check_noise_vector.o: CFLAGS += -DTEST_VECTOR_DIR='"$(CURDIR)/tests/vectors"'

# capinject: a hostile peer for the netns tests (tests/netns/test_hostile.sh);
# capflood: a handshake flood (tests/netns/test_flood.sh), on the same
# host-loading and link code.
CAPFLOOD_SRCS := tests/tools/capflood.c
CAPINJECT_SRCS := $(filter-out $(CAPFLOOD_SRCS),$(wildcard tests/tools/*.c))
CAPINJECT_OBJS := $(CAPINJECT_SRCS:%.c=$(BUILD)/%.o)
CAPINJECT := $(BUILD)/capinject
CAPFLOOD := $(BUILD)/capflood
INJECT_LIB_OBJS := $(BUILD)/tests/tools/inject_host.o $(BUILD)/tests/tools/inject_link.o

$(CAPINJECT): $(CAPINJECT_OBJS) $(SHIM_LIB) $(COMMON_LIB) $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(CAPFLOOD): $(BUILD)/tests/tools/capflood.o $(INJECT_LIB_OBJS) $(SHIM_LIB) $(COMMON_LIB) $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

ALL_TARGETS += $(CAPINJECT) $(CAPFLOOD)

# The test command of the README: install, build with sanitizers, run all
# (the netns tests need root). Check's summary line comes last.
check: deps
	$(MAKE) --no-print-directory SAN=1 all
	bash tests/cli/run.sh build/san
	bash tests/cli/deploy.sh build/san
	bash tests/netns/run.sh build/san
	cd build/san && CAPTUN_NO_SKIP=1 ./captun-tests

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Ipolicy -Ishim -Icapd -Icommon -Itools/capctl $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Werror -Wno-unused-parameter

FUZZ_LIB_SRCS := $(POLICY_SRCS) $(filter-out shim/main.c shim/xdp.c shim/attach%.c,$(wildcard shim/*.c)) \
	$(filter-out capd/main.c,$(wildcard capd/*.c)) $(COMMON_SRCS) \
	tools/capctl/report.c tools/capctl/report_html.c

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(wildcard policy/*.h shim/*.h capd/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(PKG_LIBS)

fuzz-build: deps $(FUZZ_BINS)

# Each harness runs FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/NAME)
# into a scratch corpus under build/fuzz; any crash, leak or sanitizer
# report fails the target.
fuzz: fuzz-build
	@set -e; for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus-$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		d=; if [ -f tests/fuzz/$$n.dict ]; then d=-dict=tests/fuzz/$$n.dict; fi; \
		rc=0; $$f $$d -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=build/fuzz/$$n- \
			build/fuzz/corpus-$$n tests/fuzz/corpus/$$n \
			>build/fuzz/$$n.log 2>&1 || rc=$$?; \
		grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' build/fuzz/$$n.log || true; \
		if [ $$rc != 0 ]; then tail -n 40 build/fuzz/$$n.log >&2; \
			echo "fuzz: $$n failed (log: build/fuzz/$$n.log)" >&2; exit 1; fi; \
	done

.PHONY: check fuzz fuzz-build

# `make check-tsan`: ThreadSanitizer over the crypto workers: their unit
# tests, then capshim under traffic (tunnel, rekey, XDP tests) with every
# batch spread over two threads; any report fails the logs check.
check-tsan: deps
	$(MAKE) --no-print-directory SAN=thread all
	cd build/tsan && CK_FORK=no CK_RUN_SUITE=workers ./captun-tests
	for t in test_tunnel.sh test_rekey.sh test_xdp.sh; do \
		CAPLAB_SHIM_ARGS="--threads=2 --test-spread-always" CAPTUN_BIN=build/tsan \
			bash tests/netns/$$t | tail -n 1 | grep -E '^[0-9]+ passed, 0 failed$$' || exit 1; \
	done

.PHONY: check-tsan
