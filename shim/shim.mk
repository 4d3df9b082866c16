# shim/: libcapshim.a (everything but main.c, so tests can link it) and
# the capshim daemon.
SHIM_SRCS := $(filter-out shim/main.c,$(wildcard shim/*.c))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/%.o)
SHIM_LIB := $(BUILD)/libcapshim.a
CAPSHIM := $(BUILD)/capshim

$(SHIM_LIB): $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

ifneq ($(wildcard shim/main.c),)
$(CAPSHIM): $(BUILD)/shim/main.o $(SHIM_LIB) $(COMMON_LIB) $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
ALL_TARGETS += $(CAPSHIM)
endif

ALL_TARGETS += $(SHIM_LIB)
