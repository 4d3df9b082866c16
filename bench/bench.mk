# bench/: benchmarks; they print figures, they assert nothing about speed.
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/%)

# Benches link the shim library too (bench_io measures the UDP underlay).
$(BUILD)/bench_%: $(BUILD)/bench/bench_%.o $(SHIM_LIB) $(COMMON_LIB) $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

ALL_TARGETS += $(BENCH_BINS)

bench: all
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

.PHONY: bench

# `make bench-net`: captun's data plane against veth, wireguard-go and nebula
# in network namespaces (root; ~11 min). bench/net/run.sh --help for options;
# BENCH_NET_ARGS passes more, e.g. BENCH_NET_ARGS=--quick.
bench-net: all
	bash bench/net/run.sh $(BENCH_NET_ARGS)

.PHONY: bench-net

# Keep the objects (they are intermediates of the pattern rule above), so
# that a second `make` has nothing to do.
.SECONDARY: $(BENCH_SRCS:%.c=$(BUILD)/%.o)

# `make bench-attach`: attach mode on wireguard-go and Nebula meshes, bare
# vs captun attached (root; ~4 min). BENCH_ATTACH_ARGS=--quick for a smoke run.
bench-attach: all
	bash bench/attach/run.sh $(BENCH_ATTACH_ARGS)

.PHONY: bench-attach

# `make bench-audit`: the NFQUEUE path's cost (connection rate, connect
# latency, throughput, with and without the queue) and `capctl audit
# report` over 1,000,000 records (root; a few minutes).
bench-audit: all
	bash bench/audit/run.sh

.PHONY: bench-audit
# udpflood: the flood of bench/net/flood.sh (not a benchmark by itself).
UDPFLOOD := $(BUILD)/udpflood
$(UDPFLOOD): $(BUILD)/bench/udpflood.o
	$(CC) $(LDFLAGS) -o $@ $^
ALL_TARGETS += $(UDPFLOOD)

# `make bench-flood`: a legitimate TCP stream under a flood of random
# datagrams at capshim's port, with and without the XDP early drop (root;
# ~4 min). bench/net/flood.sh --help for options.
bench-flood: all
	bash bench/net/flood.sh $(BENCH_FLOOD_ARGS)

.PHONY: bench-flood
