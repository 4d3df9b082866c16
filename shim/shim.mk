# shim/: libcapshim.a (everything but main.c, so tests can link it) and
# the capshim daemon.
SHIM_SRCS := $(filter-out shim/main.c shim/xdp.c,$(wildcard shim/*.c))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/%.o)
SHIM_LIB := $(BUILD)/libcapshim.a
CAPSHIM := $(BUILD)/capshim

$(SHIM_LIB): $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

ifneq ($(wildcard shim/main.c),)
# xdp.c (the early-drop program's glue) links libbpf: capshim only
$(CAPSHIM): $(BUILD)/shim/main.o $(BUILD)/shim/xdp.o $(SHIM_LIB) $(COMMON_LIB) $(POLICY_LIB) \
		$(KBPF_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(BPF_LIBS)

$(BUILD)/shim/xdp.o: $(KBPF_SKELS)
ALL_TARGETS += $(CAPSHIM)
endif

ALL_TARGETS += $(SHIM_LIB)
