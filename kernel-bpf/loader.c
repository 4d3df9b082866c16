/*
 * kernel-bpf/loader.c - loads, pins, attaches, adopts and detaches attach
 * mode's eBPF programs (attach.bpf.c through its bpftool skeleton), and
 * reads and writes their maps. See loader.h.
 *
 * Layout of the pin directory (default /sys/fs/bpf/captun/IFNAME):
 *   settings own_caps peers peer_caps conntrack counters peer_counters events
 *                      the maps, pinned by name (libbpf reuses them)
 *   link_ingress link_egress         tcx links on the mesh interface
 *   link_connect4 link_connect6 link_sendmsg4 link_sendmsg6
 *                      cgroup links on the cgroup2 root (multi-attach)
 * Nothing else of the machine is touched but the MTU routes (route.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if_arp.h>
#include <linux/magic.h>

#include "attach.skel.h"
#include "loader.h"

/* Newer than the uapi headers Debian 12 ships: Linux 6.6 and later. */
enum {
	KBPF_TCX_INGRESS = 46,
	KBPF_TCX_EGRESS = 47,
	KBPF_F_BEFORE = 1U << 3,
	KBPF_SO_NETNS_COOKIE = 71,
};

static const char *const link_names[KBPF_LINK_COUNT] = {
	[KBPF_LINK_INGRESS] = "link_ingress",
	[KBPF_LINK_EGRESS] = "link_egress",
	[KBPF_LINK_CONNECT4] = "link_connect4",
	[KBPF_LINK_CONNECT6] = "link_connect6",
	[KBPF_LINK_SENDMSG4] = "link_sendmsg4",
	[KBPF_LINK_SENDMSG6] = "link_sendmsg6",
};

static const char *const counter_names[CNT_COUNT] = {
	[CNT_TX_STAMPED] = "tx_stamped",
	[CNT_TX_REPLY] = "tx_reply",
	[CNT_TX_CONTROL] = "tx_control",
	[CNT_TX_OTHER] = "tx_other",
	[CNT_RX_VERIFIED] = "rx_verified",
	[CNT_RX_REPLY] = "rx_reply",
	[CNT_RX_CONTROL] = "rx_control",
	[CNT_RX_OTHER] = "rx_other",
	[CNT_SOCK_ALLOWED_REPLY] = "sock_allowed_reply",
	[CNT_SOCK_DESTROYED] = "sock_destroyed",
	[CNT_EVENTS_LOST] = "events_lost",
	[CNT_TX_DENIED] = "tx_denied_egress",
	[CNT_TX_NO_CAPABILITY] = "tx_no_capability",
	[CNT_TX_NO_ROOM] = "tx_no_room",
	[CNT_TX_TOO_BIG] = "tx_too_big",
	[CNT_TX_MALFORMED] = "tx_malformed",
	[CNT_TX_CONNECT_DENIED] = "tx_connect_denied",
	[CNT_TX_SENDMSG_DENIED] = "tx_sendmsg_denied",
	[CNT_RX_MALFORMED] = "rx_malformed",
	[CNT_RX_MISSING_STAMP] = "rx_missing_stamp",
	[CNT_RX_MALFORMED_STAMP] = "rx_malformed_stamp",
	[CNT_RX_UNKNOWN_EPOCH] = "rx_unknown_epoch",
	[CNT_RX_STALE_EPOCH] = "rx_stale_epoch",
	[CNT_RX_DENIED] = "rx_denied",
	[CNT_RX_SPOOFED] = "rx_spoofed",
	[CNT_RX_NOT_FOR_US] = "rx_not_for_us",
	[CNT_RX_NON_CAPTUN] = "rx_non_captun",
};

const char *kbpf_counter_name(enum attach_counter c)
{
	return (unsigned)c < CNT_COUNT && counter_names[c] ? counter_names[c] : "unknown";
}

const char *kbpf_link_name(enum kbpf_link l)
{
	return (unsigned)l < KBPF_LINK_COUNT ? link_names[l] : "unknown";
}

static int fail(struct kbpf *k, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct kbpf *k, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->err, sizeof(k->err), fmt, ap);
	va_end(ap);
	return ret;
}

/* libbpf speaks only when something is wrong (the verifier's log then). */
static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level > LIBBPF_WARN)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

int kbpf_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, KBPF_SO_NETNS_COOKIE, cookie, &len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The cgroup2 root from /proc/self/mountinfo (hybrid systems have it aside). */
int kbpf_cgroup2_root(char *out, size_t cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[1024], mnt[1024], *dash = strstr(line, " - ");
		char fstype[64];

		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && strcmp(root, "/") == 0) {
			snprintf(out, cap, "%s", mnt);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* The MTU, and where the IP header starts: meshes are TUN devices (no L2). */
static int iface_info(const char *ifname, unsigned *mtu, unsigned *l3_off)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	*mtu = (unsigned)ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (ifr.ifr_hwaddr.sa_family == ARPHRD_NONE)
		*l3_off = 0;
	else if (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER)
		*l3_off = 14;
	else
		ret = -EPFNOSUPPORT;
out:
	close(fd);
	return ret;
}

bool kbpf_iface_alive(struct kbpf *k)
{
	return (int)if_nametoindex(k->ifname) == k->ifindex;
}

/*
 * /sys/fs/bpf as systemd mounts it, if nobody has: under a lock, so that
 * two daemons starting at once do not stack two separate instances.
 */
static int bpffs_mount(struct kbpf *k, const char *dir)
{
	const char *root = "/sys/fs/bpf";
	struct statfs sfs;
	int fd, ret = 0;

	if (strncmp(dir, root, strlen(root)) != 0 || (dir[strlen(root)] != '/' &&
						       dir[strlen(root)] != '\0'))
		return 0;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	flock(fd, LOCK_EX);
	if (statfs(root, &sfs) == 0 && sfs.f_type != BPF_FS_MAGIC &&
	    mount("bpf", root, "bpf", 0, "mode=0700") < 0)
		ret = fail(k, -errno, "mounting bpffs on %s: %s", root, strerror(errno));
	flock(fd, LOCK_UN);
	close(fd);
	return ret;
}

/* mkdir -p on bpffs; the directory must end up on a bpf filesystem. */
static int pin_dir_make(struct kbpf *k, const char *dir)
{
	char path[KBPF_PATH_LEN];
	struct statfs sfs;

	if (strlen(dir) >= sizeof(path) - 32 || dir[0] != '/')
		return fail(k, -EINVAL, "pin directory '%s' must be an absolute path", dir);
	if (bpffs_mount(k, dir) < 0)
		return -EPERM;
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return fail(k, -errno, "mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return fail(k, -errno, "mkdir %s: %s%s", path, strerror(errno),
			    errno == EPERM ? " (no bpffs mounted there? mount -t bpf bpf /sys/fs/bpf)" : "");
	if (statfs(path, &sfs) < 0)
		return fail(k, -errno, "%s: %s", path, strerror(errno));
	if (sfs.f_type != BPF_FS_MAGIC)
		return fail(k, -ENOTDIR, "%s is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf; "
			    "inside 'ip netns exec' /sys/fs/bpf is hidden: use nsenter --net)", path);
	snprintf(k->pin_dir, sizeof(k->pin_dir), "%s", path);
	return 0;
}

/* One instance per directory; released by the kernel when we die. */
static int lock_dir(const char *dir, int *fd_out)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int ret = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return ret;
	}
	*fd_out = fd;
	return 0;
}

int kbpf_open(struct kbpf *k, const char *ifname, const char *pin_dir, const char *cgroup)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	int ret;

	memset(k, 0, sizeof(*k));
	k->dir_fd = -1;
	for (int i = 0; i < KBPF_LINK_COUNT; i++)
		k->link_fd[i] = -1;
	libbpf_set_print(print_fn);
	if (strlen(ifname) == 0 || strlen(ifname) >= sizeof(k->ifname))
		return fail(k, -EINVAL, "interface name '%s' must be 1..%d characters", ifname,
			    IF_NAMESIZE - 1);
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	k->ifindex = (int)if_nametoindex(ifname);
	if (k->ifindex == 0)
		return fail(k, -ENODEV, "interface %s does not exist (is the mesh up?)", ifname);
	ret = iface_info(ifname, &k->mtu, &k->l3_off);
	if (ret < 0)
		return fail(k, ret, "%s: %s", ifname, ret == -EPFNOSUPPORT ?
			    "neither a TUN (layer 3) nor an Ethernet device" : strerror(-ret));
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		return fail(k, -ENOENT, "this kernel has no BTF (/sys/kernel/btf/vmlinux; "
			    "CONFIG_DEBUG_INFO_BTF): attach mode needs it");
	if (cgroup) {
		snprintf(k->cgroup, sizeof(k->cgroup), "%s", cgroup);
	} else if ((ret = kbpf_cgroup2_root(k->cgroup, sizeof(k->cgroup))) < 0) {
		return fail(k, ret, "no cgroup2 hierarchy mounted (mount -t cgroup2 none "
			    "/sys/fs/cgroup/unified, or --cgroup PATH)");
	}
	ret = pin_dir_make(k, pin_dir);
	if (ret < 0)
		return ret;
	ret = lock_dir(k->pin_dir, &k->dir_fd);
	if (ret < 0)
		return fail(k, ret, "%s: %s", k->pin_dir, ret == -EBUSY ?
			    "another capshim is attached through this directory" : strerror(-ret));
	opts.pin_root_path = k->pin_dir;
	k->skel = attach_bpf__open_opts(&opts);
	if (!k->skel) {
		ret = -errno;
		fail(k, ret, "opening the eBPF object: %s", strerror(-ret));
		goto out_unlock;
	}
	ret = attach_bpf__load(k->skel);
	if (ret < 0) {
		fail(k, ret, "loading the eBPF programs: %s%s", strerror(-ret),
		     ret == -ESRCH ? " (this kernel lacks a needed kfunc: bpf_sock_destroy "
				     "needs Linux 6.5 or later)" :
		     ret == -EPERM ? " (needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)" :
		     ret == -EINVAL ? " (a pinned map differs from this version's: "
				      "capshim --detach first)" :
		     " (the verifier rejected a program, or the kernel lacks a feature; "
		     "libbpf's log is above)");
		goto out_skel;
	}
	k->iter = bpf_program__attach_iter(k->skel->progs.captun_sock_destroy, NULL);
	if (!k->iter) {
		ret = -errno;
		fail(k, ret, "TCP socket iterator: %s", strerror(-ret));
		goto out_skel;
	}
	return 0;
out_skel:
	attach_bpf__destroy(k->skel);
	k->skel = NULL;
out_unlock:
	close(k->dir_fd);
	k->dir_fd = -1;
	return ret;
}

static int link_path(char *out, size_t cap, const char *dir, const char *name)
{
	return snprintf(out, cap, "%s/%s", dir, name) >= (int)cap ? -ENAMETOOLONG : 0;
}

/* A new link for l; its fd or -errno. */
static int link_new(struct kbpf *k, enum kbpf_link l, int cg_fd)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	struct attach_bpf *s = k->skel;
	int fd;

	switch (l) {
	case KBPF_LINK_INGRESS:
		lo.flags = KBPF_F_BEFORE;	/* first: strip before anyone reads */
		fd = bpf_link_create(bpf_program__fd(s->progs.captun_ingress), k->ifindex,
				     (enum bpf_attach_type)KBPF_TCX_INGRESS, &lo);
		break;
	case KBPF_LINK_EGRESS:
		fd = bpf_link_create(bpf_program__fd(s->progs.captun_egress), k->ifindex,
				     (enum bpf_attach_type)KBPF_TCX_EGRESS, NULL);
		break;
	case KBPF_LINK_CONNECT4:
		fd = bpf_link_create(bpf_program__fd(s->progs.captun_connect4), cg_fd,
				     BPF_CGROUP_INET4_CONNECT, NULL);
		break;
	case KBPF_LINK_CONNECT6:
		fd = bpf_link_create(bpf_program__fd(s->progs.captun_connect6), cg_fd,
				     BPF_CGROUP_INET6_CONNECT, NULL);
		break;
	case KBPF_LINK_SENDMSG4:
		fd = bpf_link_create(bpf_program__fd(s->progs.captun_sendmsg4), cg_fd,
				     BPF_CGROUP_UDP4_SENDMSG, NULL);
		break;
	case KBPF_LINK_SENDMSG6:
		fd = bpf_link_create(bpf_program__fd(s->progs.captun_sendmsg6), cg_fd,
				     BPF_CGROUP_UDP6_SENDMSG, NULL);
		break;
	default:
		return -EINVAL;
	}
	return fd < 0 ? -errno : fd;
}

static int prog_fd_of(struct kbpf *k, enum kbpf_link l)
{
	struct attach_bpf *s = k->skel;
	struct bpf_program *p[KBPF_LINK_COUNT] = {
		[KBPF_LINK_INGRESS] = s->progs.captun_ingress,
		[KBPF_LINK_EGRESS] = s->progs.captun_egress,
		[KBPF_LINK_CONNECT4] = s->progs.captun_connect4,
		[KBPF_LINK_CONNECT6] = s->progs.captun_connect6,
		[KBPF_LINK_SENDMSG4] = s->progs.captun_sendmsg4,
		[KBPF_LINK_SENDMSG6] = s->progs.captun_sendmsg6,
	};

	return bpf_program__fd(p[l]);
}

int kbpf_links_attach(struct kbpf *k)
{
	bool fresh[KBPF_LINK_COUNT] = { false };
	char path[KBPF_PATH_LEN];
	int cg_fd, ret = 0, i;

	cg_fd = open(k->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return fail(k, -errno, "cgroup2 root %s: %s", k->cgroup, strerror(errno));
	for (i = 0; i < KBPF_LINK_COUNT; i++) {
		int fd;

		if ((ret = link_path(path, sizeof(path), k->pin_dir, link_names[i])) < 0)
			goto unwind;
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			/* left by an earlier instance: take it over in one step */
			if (bpf_link_update(fd, prog_fd_of(k, (enum kbpf_link)i), NULL) == 0) {
				k->link_fd[i] = fd;
				k->adopted = true;
				continue;
			}
			/* defunct (its interface went away): replace it */
			close(fd);
			unlink(path);
		}
		fd = link_new(k, (enum kbpf_link)i, cg_fd);
		if (fd < 0) {
			ret = fd;
			if (i <= KBPF_LINK_EGRESS)
				fail(k, ret, "attaching to %s (tcx %s): %s%s", k->ifname,
				     i == KBPF_LINK_INGRESS ? "ingress" : "egress", strerror(-ret),
				     ret == -EINVAL ? " (tcx links need Linux 6.6 or later)" : "");
			else
				fail(k, ret, "attaching %s to the cgroup %s: %s", link_names[i],
				     k->cgroup, strerror(-ret));
			goto unwind;
		}
		k->link_fd[i] = fd;
		fresh[i] = true;
		if (bpf_obj_pin(fd, path) < 0) {
			ret = -errno;
			fail(k, ret, "pinning %s: %s", path, strerror(-ret));
			goto unwind;
		}
	}
	close(cg_fd);
	return 0;
unwind:
	for (int j = 0; j < KBPF_LINK_COUNT; j++) {
		if (!fresh[j])
			continue;
		if (link_path(path, sizeof(path), k->pin_dir, link_names[j]) == 0)
			unlink(path);
		close(k->link_fd[j]);
		k->link_fd[j] = -1;
	}
	close(cg_fd);
	return ret;
}

/* Every MTU route towards the addresses in the pinned peers map. */
static void routes_del(int peers_fd, int ifindex)
{
	struct attach_peer_key key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(peers_fd, prev, &next) == 0) {
		kbpf_route_mtu_del(ifindex, next.addr);
		key = next;
		prev = &key;
	}
}

/* Unlinks every pin in dir (links first, so the programs go at once). */
static void dir_empty(const char *dir)
{
	char path[KBPF_PATH_LEN];
	struct dirent *de;
	DIR *d;

	for (int i = 0; i < KBPF_LINK_COUNT; i++)
		if (link_path(path, sizeof(path), dir, link_names[i]) == 0)
			unlink(path);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    link_path(path, sizeof(path), dir, de->d_name) == 0)
			unlink(path);
	closedir(d);
}

void kbpf_close(struct kbpf *k)
{
	for (int i = 0; i < KBPF_LINK_COUNT; i++) {
		if (k->link_fd[i] >= 0)
			close(k->link_fd[i]);
		k->link_fd[i] = -1;
	}
	ring_buffer__free(k->rb);
	k->rb = NULL;
	bpf_link__destroy(k->iter);
	k->iter = NULL;
	attach_bpf__destroy(k->skel);
	k->skel = NULL;
	if (k->dir_fd >= 0)
		close(k->dir_fd);
	k->dir_fd = -1;
}

int kbpf_detach(struct kbpf *k)
{
	int ret = 0;

	if (!k->skel)
		return 0;
	if (!k->routes_removed)
		routes_del(bpf_map__fd(k->skel->maps.peers), k->ifindex);
	dir_empty(k->pin_dir);
	if (rmdir(k->pin_dir) < 0)
		ret = -errno;
	kbpf_close(k);
	rmdir(KBPF_PIN_ROOT);	/* only if no other instance uses it */
	return ret;
}

int kbpf_detach_dir(const char *pin_dir, char *err, size_t errlen)
{
	char path[KBPF_PATH_LEN];
	struct attach_config cfg;
	int fd, lock_fd = -1, ret;
	__u32 zero = 0;

	ret = lock_dir(pin_dir, &lock_fd);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", pin_dir, ret == -EBUSY ?
			 "a running capshim holds it: stop that capshim instead" :
			 ret == -ENOENT ? "nothing attached there" : strerror(-ret));
		return ret;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (link_path(path, sizeof(path), pin_dir, "settings") == 0 &&
	    (fd = bpf_obj_get(path)) >= 0) {
		bpf_map_lookup_elem(fd, &zero, &cfg);
		close(fd);
	}
	if (cfg.ifindex && link_path(path, sizeof(path), pin_dir, "peers") == 0 &&
	    (fd = bpf_obj_get(path)) >= 0) {
		routes_del(fd, (int)cfg.ifindex);
		close(fd);
	}
	dir_empty(pin_dir);
	ret = rmdir(pin_dir) < 0 ? -errno : 0;
	if (ret < 0)
		snprintf(err, errlen, "rmdir %s: %s", pin_dir, strerror(-ret));
	close(lock_fd);
	rmdir(KBPF_PIN_ROOT);
	return ret;
}

bool kbpf_links_pinned(struct kbpf *k)
{
	char path[KBPF_PATH_LEN];

	for (int i = 0; i < KBPF_LINK_COUNT; i++)
		if (link_path(path, sizeof(path), k->pin_dir, link_names[i]) == 0 &&
		    access(path, F_OK) == 0)
			return true;
	return false;
}

/* ---- maps ------------------------------------------------------------------------- */

int kbpf_own_get(struct kbpf *k, uint32_t slot, struct attach_own *own)
{
	return bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.own_caps), &slot, own) < 0 ?
	       -errno : 0;
}

int kbpf_config_get(struct kbpf *k, struct attach_config *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.settings), &zero, c) < 0 ? -errno : 0;
}

int kbpf_config_set(struct kbpf *k, const struct attach_config *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.settings), &zero, c, BPF_ANY) < 0 ?
	       -errno : 0;
}

/*
 * The new capability goes into the slot not in use, then the config's
 * slot index flips: a program never sees half a mask.
 */
int kbpf_own_set(struct kbpf *k, uint32_t epoch, const uint64_t mask[ATTACH_MASK_WORDS])
{
	struct attach_config cfg;
	struct attach_own own;
	__u32 slot;
	int ret;

	ret = kbpf_config_get(k, &cfg);
	if (ret < 0)
		return ret;
	slot = (cfg.own_slot & 1) ^ 1;
	memset(&own, 0, sizeof(own));
	own.epoch = epoch;
	memcpy(own.mask, mask, sizeof(own.mask));
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.own_caps), &slot, &own, BPF_ANY) < 0)
		return -errno;
	cfg.own_slot = slot;
	return kbpf_config_set(k, &cfg);
}

int kbpf_peer_set(struct kbpf *k, const uint8_t addr[16], const struct attach_peer *p)
{
	struct attach_peer_key key;

	memcpy(key.addr, addr, 16);
	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.peers), &key, p, BPF_ANY) < 0 ?
	       -errno : 0;
}

int kbpf_peers_prune(struct kbpf *k, const uint8_t (*keep)[16], size_t n)
{
	int fd = bpf_map__fd(k->skel->maps.peers);
	struct attach_peer_key key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bool kept = false;

		for (size_t i = 0; i < n && !kept; i++)
			kept = memcmp(keep[i], next.addr, 16) == 0;
		if (!kept && bpf_map_delete_elem(fd, &next) == 0) {
			prev = NULL;	/* restart: the order changed */
			continue;
		}
		key = next;
		prev = &key;
	}
	return 0;
}

int kbpf_cap_set(struct kbpf *k, uint16_t bit, uint32_t epoch, const struct attach_cap *c)
{
	struct attach_cap_key key = { .bit = bit, .epoch = epoch };

	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.peer_caps), &key, c, BPF_ANY) < 0 ?
	       -errno : 0;
}

int kbpf_caps_prune(struct kbpf *k, bool (*keep)(void *arg, uint16_t bit, uint32_t epoch),
		    void *arg)
{
	int fd = bpf_map__fd(k->skel->maps.peer_caps);
	struct attach_cap_key key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (!keep(arg, next.bit, next.epoch) && bpf_map_delete_elem(fd, &next) == 0) {
			prev = NULL;
			continue;
		}
		key = next;
		prev = &key;
	}
	return 0;
}

int kbpf_ct_prune(struct kbpf *k, bool (*keep)(void *arg, const struct attach_ct *ct),
		  void *arg)
{
	int fd = bpf_map__fd(k->skel->maps.conntrack), n = 0;
	struct attach_ct_key key, next;
	struct attach_ct v;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &v) == 0 && !keep(arg, &v) &&
		    bpf_map_delete_elem(fd, &next) == 0) {
			n++;
			prev = NULL;
			continue;
		}
		key = next;
		prev = &key;
	}
	return n;
}

int kbpf_sockets_sweep(struct kbpf *k)
{
	char buf[256];
	int fd = bpf_iter_create(bpf_link__fd(k->iter)), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int kbpf_counters(struct kbpf *k, uint64_t out[CNT_COUNT])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(k->skel->maps.counters);
	uint64_t *v;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (__u32 i = 0; i < CNT_COUNT; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, v) < 0)
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += v[c];
	}
	free(v);
	return 0;
}

int kbpf_peer_counters(struct kbpf *k, uint16_t bit, struct attach_peer_counters *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(k->skel->maps.peer_counters);
	struct attach_peer_counters *v;
	__u32 key = bit;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v) < 0) {
		ret = -errno;
	} else {
		for (int c = 0; c < ncpu; c++) {
			out->tx_packets += v[c].tx_packets;
			out->tx_bytes += v[c].tx_bytes;
			out->rx_packets += v[c].rx_packets;
			out->rx_bytes += v[c].rx_bytes;
			out->tx_denied += v[c].tx_denied;
			out->rx_denied += v[c].rx_denied;
		}
	}
	free(v);
	return ret;
}

int kbpf_map_usage(struct kbpf *k, const char *name, unsigned *entries, unsigned *max)
{
	struct bpf_map *m = bpf_object__find_map_by_name(k->skel->obj, name);
	uint8_t key[64], next[64];
	void *prev = NULL;
	int fd;

	if (!m || bpf_map__key_size(m) > sizeof(key))
		return -ENOENT;
	*max = bpf_map__max_entries(m);
	*entries = 0;
	fd = bpf_map__fd(m);
	if (bpf_map__type(m) == BPF_MAP_TYPE_ARRAY || bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY) {
		*entries = *max;
		return 0;
	}
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		(*entries)++;
		memcpy(key, next, sizeof(key));
		prev = key;
	}
	return 0;
}

/* ---- ring buffer -------------------------------------------------------------------- */

struct events_cb {
	int (*fn)(void *arg, const struct attach_event *e);
	void *arg;
};

static struct events_cb events_cb;

static int on_record(void *ctx, void *data, size_t size)
{
	struct attach_event e;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	return events_cb.fn(events_cb.arg, &e);
}

int kbpf_events_open(struct kbpf *k, int (*fn)(void *arg, const struct attach_event *e),
		     void *arg)
{
	events_cb.fn = fn;
	events_cb.arg = arg;
	k->rb = ring_buffer__new(bpf_map__fd(k->skel->maps.events), on_record, NULL, NULL);
	return k->rb ? 0 : -errno;
}

int kbpf_events_fd(struct kbpf *k)
{
	return k->rb ? ring_buffer__epoll_fd(k->rb) : -1;
}

int kbpf_events_consume(struct kbpf *k)
{
	return k->rb ? ring_buffer__consume(k->rb) : 0;
}
