/*
 * common/version.h - captun's version and the defaults every part agrees
 * on: one port, one configuration file, one state directory, one runtime
 * directory. A default named here is never spelled out anywhere else in C.
 */
#ifndef CAPTUN_COMMON_VERSION_H
#define CAPTUN_COMMON_VERSION_H

#ifndef CAPTUN_VERSION
#define CAPTUN_VERSION "0.2.0"
#endif

/* capshim's UDP port, and the port an endpoint without one means. */
enum captun_default {
	CAPTUN_PORT = 51900,
};
#define CAPTUN_PORT_TEXT "51900"

#define CAPTUN_CONFIG_PATH "/etc/captun/captun.conf"
#define CAPTUN_STATE_DIR "/var/lib/captun"	/* a host's state (systemd StateDirectory) */
#define CAPTUN_AUTHORITY_DIR "/etc/captun"	/* the authority's state (capctl) */
#define CAPTUN_RUN_DIR "/run/captun"		/* sockets (systemd RuntimeDirectory) */
#define CAPTUN_IFNAME "captun0"
#define CAPTUN_CAPD_SOCKET CAPTUN_RUN_DIR "/capd.sock"
#define CAPTUN_BREAK_GLASS_DIR CAPTUN_RUN_DIR "/break-glass"

/* "NAME (captun) VERSION", the first line every --version prints. */
#define CAPTUN_VERSION_LINE(name) name " (captun) " CAPTUN_VERSION

#endif
