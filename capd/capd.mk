# capd/: libcapd.a (everything but main.c, so tests can link it) and the
# capd daemon. The daemon is $(BUILD)/capd, so its objects live in
# $(BUILD)/capd-obj instead of the usual $(BUILD)/capd.
CFLAGS += -Icapd
CAPD_SRCS := $(filter-out capd/main.c,$(wildcard capd/*.c))
CAPD_OBJS := $(CAPD_SRCS:capd/%.c=$(BUILD)/capd-obj/%.o)
CAPD_LIB := $(BUILD)/libcapd.a
CAPD := $(BUILD)/capd

$(BUILD)/capd-obj/%.o: capd/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(CAPD_LIB): $(CAPD_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CAPD): $(BUILD)/capd-obj/main.o $(CAPD_LIB) $(COMMON_LIB) $(POLICY_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

ALL_TARGETS += $(CAPD_LIB) $(CAPD)
