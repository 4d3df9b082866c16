# captun - top-level build. Output goes to $(BUILD) (default build/), never
# beside the sources. Variants: `make` (release), `make SAN=1` (ASan+UBSan,
# in build/san), `make SAN=thread` (ThreadSanitizer, in build/tsan),
# `make fuzz` (clang + libFuzzer, in build/fuzz).
#
#   make deps     install the Debian packages the build and tests need
#   make          build everything
#   make check    deps, sanitizer build, every test; ends with Check's summary
#   make fuzz     run each fuzz harness for FUZZ_SECONDS (default 60)
#   make bench    build and run the benchmarks in bench/
#   make install  install into PREFIX (default /usr/local; DESTDIR too)
#   make uninstall  remove what make install put there
#   make deps-runtime  only the Debian packages the programs need to run
#   make clean    remove build/

SHELL := /bin/bash
.DEFAULT_GOAL := all

CC ?= cc
SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build/san
else ifeq ($(SAN),thread)
BUILD ?= build/tsan
else
BUILD ?= build
endif

PKGS := libsodium jansson libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsodium -ljansson -lcrypto)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wno-unused-parameter
WARN += $(shell $(CC) -Werror -Wno-format-truncation -E -x c /dev/null >/dev/null 2>&1 && echo -Wno-format-truncation)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -fno-strict-aliasing \
	-fstack-protector-strong -Ipolicy -Ishim $(PKG_CFLAGS)
LDFLAGS ?=
ifeq ($(SAN),1)
CFLAGS += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SAN),thread)
CFLAGS += -O1 -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
else
CFLAGS += -D_FORTIFY_SOURCE=2
endif

include mk/deps.mk
include policy/policy.mk
include common/common.mk
include kernel-bpf/kbpf.mk
include shim/shim.mk
include capd/capd.mk
include queue/queue.mk
include tools/tools.mk
include tools/pam_capd/pam_capd.mk
include tests/tests.mk
include bench/bench.mk
include mk/install.mk

all: $(ALL_TARGETS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

clean:
	rm -rf build

.PHONY: all clean

# The README's main command: the acceptance example, live, in namespaces.
demo: deps
	$(MAKE) --no-print-directory all
	bash tools/demo/demo.sh

.PHONY: demo
