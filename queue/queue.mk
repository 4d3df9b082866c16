# queue/: capqueue, the NFQUEUE reader (libnetfilter_queue). It parses
# packets with shim/inet.c and speaks queue/queue_proto.h to capshim.
NFQ_CFLAGS := $(shell pkg-config --cflags libnetfilter_queue 2>/dev/null)
NFQ_LIBS := $(shell pkg-config --libs libnetfilter_queue 2>/dev/null || echo -lnetfilter_queue -lnfnetlink)
CAPQUEUE_SRCS := $(wildcard queue/*.c)
CAPQUEUE_OBJS := $(CAPQUEUE_SRCS:%.c=$(BUILD)/%.o)
CAPQUEUE := $(BUILD)/capqueue

$(CAPQUEUE_OBJS): CFLAGS += -Iqueue $(NFQ_CFLAGS)

$(CAPQUEUE): $(CAPQUEUE_OBJS) $(SHIM_LIB) $(COMMON_LIB) $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(NFQ_LIBS) $(PKG_LIBS)

ALL_TARGETS += $(CAPQUEUE)
