# shim/: libcapshim.a (everything but main.c, so tests can link it) and
# the capshim daemon.
SHIM_SRCS := $(filter-out shim/main.c shim/xdp.c shim/attach%.c,$(wildcard shim/*.c))
# attach mode (--attach): its own objects, linked with the eBPF loader
SHIM_ATTACH_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard shim/attach*.c))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/%.o)
SHIM_LIB := $(BUILD)/libcapshim.a
CAPSHIM := $(BUILD)/capshim

$(SHIM_LIB): $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

ifneq ($(wildcard shim/main.c),)
# xdp.c (the early-drop program's glue) and attach mode link libbpf: capshim only
$(CAPSHIM): $(BUILD)/shim/main.o $(BUILD)/shim/xdp.o $(SHIM_ATTACH_OBJS) $(SHIM_LIB) \
		$(COMMON_LIB) $(POLICY_LIB) $(KBPF_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(BPF_LIBS)

$(BUILD)/shim/xdp.o: $(KBPF_SKELS)
ALL_TARGETS += $(CAPSHIM)
endif

ALL_TARGETS += $(SHIM_LIB)
