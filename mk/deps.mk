# `make deps`: every Debian package the build, tests, fuzzers and benchmarks
# need (`make deps-runtime`: only what the installed programs need; `make
# deps-build`: and what building them needs). Quiet and quick when all are
# installed; apt-get only for what is not.
DEB_PACKAGES := build-essential clang llvm libclang-rt-14-dev pkg-config \
	libsodium-dev libjansson-dev check libsubunit-dev \
	iproute2 iputils-ping curl iperf3 python3 procps psmisc \
	libpam0g-dev openssh-server openssh-client pamtester passwd \
	jq wireguard-go wireguard-tools nebula
# attach mode (kernel-bpf/): skeletons, libbpf
DEB_PACKAGES += bpftool libbpf-dev
# hardening (tests/netns/test_linger.sh, test_underlay.sh): su/sudo/at logins, the guard
DEB_PACKAGES += sudo at nftables
# NFQUEUE attribution (queue/), and the audit report's page checked in a browser
DEB_PACKAGES += libnetfilter-queue-dev iptables
DEB_PACKAGES += chromium
# the data path's bulk AEAD (OpenSSL 3's libcrypto)
DEB_PACKAGES += libssl-dev

# faketime: the lockout test signs a token that has already expired.
DEB_PACKAGES += faketime

# What the installed programs need to run (make install on a server), and
# what building them needs; everything else above is for tests, fuzzing
# and benchmarks.
DEB_RUNTIME := libsodium23 libjansson4 libpam0g iproute2
DEB_BUILD := build-essential pkg-config libsodium-dev libjansson-dev libpam0g-dev

deps-runtime:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_RUNTIME)"

deps-build:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_RUNTIME) $(DEB_BUILD)"

.PHONY: deps-runtime deps-build

deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${db:Status-Abbrev}\n' \
		$(DEB_PACKAGES) 2>/dev/null | awk '$$2 != "ii" {print $$1}'; \
		for p in $(DEB_PACKAGES); do \
			dpkg-query -W -f='$${Package}\n' $$p >/dev/null 2>&1 || echo $$p; \
		done | sort -u); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: run as root to install packages" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && \
		apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
			{ echo "deps: apt-get install failed" >&2; exit 1; }; \
	fi

.PHONY: deps
