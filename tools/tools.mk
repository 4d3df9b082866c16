# tools/: capctl.
CAPCTL_SRCS := $(wildcard tools/capctl/*.c)
CAPCTL_OBJS := $(CAPCTL_SRCS:%.c=$(BUILD)/%.o)
CAPCTL := $(BUILD)/capctl

$(CAPCTL): $(CAPCTL_OBJS) $(COMMON_LIB) $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

ALL_TARGETS += $(CAPCTL)
