# tools/pam_capd: pam_capd.so, the PAM session module that reports logins
# to capd. Its objects are built apart (position-independent, symbols
# hidden but pam_sm_*), and without sanitizers even in `make SAN=1`: the
# module is loaded into sshd, which has no sanitizer runtime. Its pure
# parts (pamcfg.c, capdclient.c) are linked into the unit test runner too,
# where the sanitizer build covers them.
PAM_CAPD_SRCS := $(wildcard tools/pam_capd/*.c)
PAM_CAPD_OBJS := $(PAM_CAPD_SRCS:%.c=$(BUILD)/pic/%.o) \
	$(BUILD)/pic/common/config.o $(BUILD)/pic/common/breakglass.o
PAM_CAPD := $(BUILD)/pam_capd.so
PAM_CAPD_PURE_OBJS := $(BUILD)/tools/pam_capd/pamcfg.o \
	$(BUILD)/tools/pam_capd/capdclient.o
PAM_CAPD_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS)) \
	-fPIC -fvisibility=hidden
PAM_CAPD_LIBS := -lpam $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)

$(BUILD)/pic/tools/pam_capd/%.o: tools/pam_capd/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PAM_CAPD_CFLAGS) -MMD -MP -c $< -o $@

# captun.conf and the break-glass lists: the same code as the daemons'.
$(BUILD)/pic/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PAM_CAPD_CFLAGS) -MMD -MP -c $< -o $@

$(PAM_CAPD): $(PAM_CAPD_OBJS)
	$(CC) -shared -Wl,-z,defs -Wl,-z,relro -Wl,-z,now -o $@ $^ $(PAM_CAPD_LIBS)

ALL_TARGETS += $(PAM_CAPD)
