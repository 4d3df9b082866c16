# kernel-bpf/: eBPF programs. Every kernel-bpf/X.bpf.c becomes
# $(BUILD)/kernel-bpf/X.bpf.o (clang -target bpf, CO-RE, against a
# vmlinux.h dumped from the running kernel's BTF) and X.skel.h (bpftool gen
# skeleton); the user-space loaders (kernel-bpf/*.c but *.bpf.c) make
# libcapkbpf.a. Anything that includes a skeleton depends on KBPF_SKELS.
BPF_CLANG ?= clang
BPFTOOL ?= bpftool
KBPF_DIR := $(BUILD)/kernel-bpf
VMLINUX_H := $(KBPF_DIR)/vmlinux.h
KBPF_PROGS := $(wildcard kernel-bpf/*.bpf.c)
KBPF_OBJS := $(KBPF_PROGS:kernel-bpf/%.bpf.c=$(KBPF_DIR)/%.bpf.o)
KBPF_SKELS := $(KBPF_PROGS:kernel-bpf/%.bpf.c=$(KBPF_DIR)/%.skel.h)
KBPF_SRCS := $(filter-out %.bpf.c,$(wildcard kernel-bpf/*.c))
KBPF_LIB_OBJS := $(KBPF_SRCS:%.c=$(BUILD)/%.o)
KBPF_LIB := $(BUILD)/libcapkbpf.a
BPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CFLAGS += -Ikernel-bpf -I$(KBPF_DIR)

$(VMLINUX_H):
	@mkdir -p $(dir $@)
	@test -r /sys/kernel/btf/vmlinux || { echo "kernel-bpf: this kernel has no BTF" \
		"(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): cannot build the eBPF programs" >&2; exit 1; }
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c >$@.tmp && mv $@.tmp $@

$(KBPF_DIR)/%.bpf.o: kernel-bpf/%.bpf.c $(wildcard kernel-bpf/*.h) $(VMLINUX_H)
	$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
		-I$(KBPF_DIR) -Ikernel-bpf -c $< -o $@

$(KBPF_DIR)/%.skel.h: $(KBPF_DIR)/%.bpf.o
	$(BPFTOOL) gen skeleton $< >$@.tmp && mv $@.tmp $@

$(KBPF_LIB_OBJS): $(KBPF_SKELS)

# the objects are intermediates of the skeletons: keep them (no rebuilds)
.SECONDARY: $(KBPF_OBJS) $(VMLINUX_H)

$(KBPF_LIB): $(KBPF_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

ALL_TARGETS += $(KBPF_LIB)

# `make fuzz-bpf`: the property test of the ingress program (random and
# mutated packets through BPF_PROG_TEST_RUN, never one passing with a stamp
# that does not verify) for KBPF_PROPERTY_ITERS packets, default 1,000,000;
# `make check` runs 20,000 of them.
KBPF_PROPERTY_ITERS ?= 1000000
fuzz-bpf: deps
	$(MAKE) --no-print-directory SAN=1 build/san/captun-tests
	cd build/san && CK_RUN_SUITE=kbpf CK_RUN_CASE=tc KBPF_PROPERTY_ITERS=$(KBPF_PROPERTY_ITERS) \
		CK_DEFAULT_TIMEOUT=3600 ./captun-tests

.PHONY: fuzz-bpf
