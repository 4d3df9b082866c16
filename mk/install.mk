# mk/install.mk - make install / make uninstall.
#
#   make install [PREFIX=/usr/local] [DESTDIR=...] [SYSCONFDIR=/etc]
#
# capshim, capd and capctl go to $(SBINDIR); pam_capd.so to the
# multiarch PAM directory (where libpam looks for a module given by bare
# name), whatever PREFIX is; the man pages, made from the programs' own
# manuals (tools/man/mkman.sh) plus the hand-written ones of docs/man; the
# systemd units with their paths filled in; the example configuration
# (and $(SYSCONFDIR)/captun/captun.conf itself if there is none: an
# existing one is never touched); bash completion for capctl. uninstall
# removes exactly those, and leaves the configuration and every state
# directory alone.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/captun
SYSCONFDIR ?= /etc
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
PAMDIR ?= $(if $(MULTIARCH),/lib/$(MULTIARCH)/security,/lib/security)

MAN_GEN := capctl.8 capshim.8 capd.8 $(if $(wildcard queue/main.c),capqueue.8)
MAN_HAND := $(notdir $(wildcard docs/man/*.[58]))
UNITS_IN := $(wildcard dist/systemd/*.in)
UNITS := $(notdir $(UNITS_IN:.in=)) $(notdir $(wildcard dist/systemd/*.timer))
INSTALL_BINS := capshim capd capctl $(if $(wildcard queue/main.c),capqueue)

$(BUILD)/man/capctl.8: $(CAPCTL) $(CAPSHIM) $(CAPD) $(CAPQUEUE) tools/man/mkman.sh
	bash tools/man/mkman.sh $(BUILD) $(BUILD)/man

$(BUILD)/man/capshim.8 $(BUILD)/man/capd.8 $(BUILD)/man/capqueue.8: $(BUILD)/man/capctl.8

$(BUILD)/systemd/%: dist/systemd/%.in
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@

$(BUILD)/systemd/%.timer: dist/systemd/%.timer
	@mkdir -p $(dir $@)
	cp $< $@

man: $(addprefix $(BUILD)/man/,$(MAN_GEN))

install: all man $(addprefix $(BUILD)/systemd/,$(UNITS))
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PAMDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/captun
	install -m 0755 $(addprefix $(BUILD)/,$(INSTALL_BINS)) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(PAM_CAPD) $(DESTDIR)$(PAMDIR)/pam_capd.so
	install -m 0644 $(addprefix $(BUILD)/man/,$(filter %.8,$(MAN_GEN))) \
		$(addprefix docs/man/,$(filter %.8,$(MAN_HAND))) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(addprefix docs/man/,$(filter %.5,$(MAN_HAND))) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(addprefix $(BUILD)/systemd/,$(UNITS)) $(DESTDIR)$(UNITDIR)/
	install -m 0644 dist/captun.conf $(DESTDIR)$(DOCDIR)/captun.conf.example
	install -m 0644 dist/systemd/captun-shim-attach.conf $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/deploy.md docs/architecture.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 dist/bash-completion/capctl $(DESTDIR)$(BASHCOMPDIR)/capctl
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/captun/captun.conf ]; then \
		echo "install: $(DESTDIR)$(SYSCONFDIR)/captun/captun.conf exists: left as it is"; \
	else \
		install -m 0644 dist/captun.conf $(DESTDIR)$(SYSCONFDIR)/captun/captun.conf; \
	fi
	@echo "install: done. Next (docs/deploy.md): the PAM line, captun.conf, 'capctl host join', then"
	@echo "         systemctl daemon-reload && systemctl enable --now captun-shim captun-capd"

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INSTALL_BINS)) $(DESTDIR)$(PAMDIR)/pam_capd.so
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(filter %.8,$(MAN_GEN) $(MAN_HAND)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(filter %.5,$(MAN_HAND)))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	rm -f $(DESTDIR)$(DOCDIR)/captun.conf.example $(DESTDIR)$(DOCDIR)/captun-shim-attach.conf \
		$(DESTDIR)$(DOCDIR)/deploy.md \
		$(DESTDIR)$(DOCDIR)/architecture.md $(DESTDIR)$(BASHCOMPDIR)/capctl
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
	@echo "uninstall: done; $(SYSCONFDIR)/captun and /var/lib/captun are left as they are"

.PHONY: install uninstall man
