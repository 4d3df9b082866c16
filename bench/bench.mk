# bench/: benchmarks; they print figures, they assert nothing about speed.
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/%)

$(BUILD)/bench_%: $(BUILD)/bench/bench_%.o $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

ALL_TARGETS += $(BENCH_BINS)

bench: all
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

.PHONY: bench
