/*
 * shim/sync.c - catching up. A host that was down or cut off while the
 * authority published (a new host, renewed tokens, a revocation) learns
 * it from the first peer it reaches: when a session comes up both sides
 * send a digest of what they hold (PROTO_CTL_INVENTORY, proto.h); if the
 * digests differ each sends its list, and each sends the other every
 * object the other lacks or holds older. What arrives goes the usual way
 * (shim_object_receive: verified, stored if newer, passed on), so a whole
 * network converges from any one informed host.
 *
 * What this host holds is read from its directory (tokens/NAME.token and
 * revocation.list) and cached until the directory changes.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <sodium.h>

#include "armor.h"
#include "fileio.h"
#include "shim.h"

enum sync_const {
	SYNC_FILE_MAX = 1 << 20,	/* largest object file read */
	SYNC_ANSWER_GAP_NS = 1000000000ull,	/* answers to one peer, at most */
	SYNC_NAME_MAX = 300,
};

struct sync_item {
	struct proto_inventory_entry e;
	char file[SYNC_NAME_MAX];	/* relative to the host directory */
};

struct shim_sync {
	bool valid;
	struct timespec mt_dir, mt_tokens;
	struct sync_item *items;
	size_t n;
	uint8_t digest[PROTO_INVENTORY_DIGEST_LEN];
	bool told_full;
};

static void id_of(const char *name, uint8_t id[8])
{
	uint8_t h[crypto_generichash_BYTES_MIN];

	crypto_generichash(h, sizeof(h), (const uint8_t *)name, strlen(name), NULL, 0);
	memcpy(id, h, 8);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct proto_inventory_entry *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return memcmp(x->id, y->id, sizeof(x->id));
}

/* The armored object of a file into bin: its wire type, or 0. */
static int object_read(const struct shim *s, const char *file, const char *label,
		       uint8_t *bin, size_t cap, size_t *len)
{
	char path[4096 + SYNC_NAME_MAX];
	uint8_t *text = NULL;
	size_t tlen = 0;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", s->cfg.dir, file);
	if (fileio_read(path, SYNC_FILE_MAX, &text, &tlen) < 0)
		return 0;
	ok = armor_decode((const char *)text, tlen, label, NULL, bin, cap, len) && *len >= 2;
	free(text);
	return ok ? bin[1] : 0;
}

static int item_add(struct shim_sync *y, size_t *cap, const struct proto_inventory_entry *e,
		    const char *file)
{
	if (y->n == PROTO_INVENTORY_MAX) {
		if (!y->told_full)
			shim_log(LOG_WARNING, "more than %d signed objects: the catch-up "
				 "with peers covers the first ones only", PROTO_INVENTORY_MAX);
		y->told_full = true;
		return 0;
	}
	if (y->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct sync_item *ni = realloc(y->items, ncap * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		y->items = ni;
		*cap = ncap;
	}
	y->items[y->n].e = *e;
	snprintf(y->items[y->n].file, sizeof(y->items[y->n].file), "%s", file);
	y->n++;
	return 0;
}

/* Every object the directory holds that is still worth giving. */
static int scan(struct shim *s, struct shim_sync *y)
{
	uint8_t *bin = malloc(PROTO_CONTROL_MAX);
	struct proto_inventory_entry e;
	char dir[4096], file[SYNC_NAME_MAX];
	uint64_t now = shim_unix_now();
	struct revocation rl;
	struct dirent *de;
	size_t cap = 0, len = 0;
	DIR *d;
	int ret = 0;

	if (!bin)
		return -ENOMEM;
	y->n = 0;
	memset(&e, 0, sizeof(e));
	if (object_read(s, "revocation.list", TOKEN_ARMOR_REVOCATION, bin,
			PROTO_CONTROL_MAX, &len) == WIRE_TYPE_REVOCATION &&
	    revocation_decode(bin, len, &rl, NULL)) {
		e.kind = WIRE_TYPE_REVOCATION;
		e.serial = htobe64(rl.serial);
		revocation_free(&rl);
		ret = item_add(y, &cap, &e, "revocation.list");
	}
	snprintf(dir, sizeof(dir), "%s/tokens", s->cfg.dir);
	d = opendir(dir);
	while (ret == 0 && d && (de = readdir(d))) {
		bool host = strncmp(de->d_name, "host-", 5) == 0;
		struct token t;

		if ((!host && strncmp(de->d_name, "user-", 5) != 0) ||
		    !strstr(de->d_name, ".token") ||
		    strlen(de->d_name) + 8 >= sizeof(file))
			continue;
		snprintf(file, sizeof(file), "tokens/%s", de->d_name);
		if (object_read(s, file, host ? TOKEN_ARMOR_HOST : TOKEN_ARMOR_USER, bin,
				WIRE_TOKEN_MAX, &len) == 0 ||
		    !token_decode(bin, len, 0, &t, NULL) || t.not_after <= now)
			continue;
		memset(&e, 0, sizeof(e));
		e.kind = (uint8_t)t.type;
		id_of(t.name, e.id);
		e.serial = htobe64(t.serial);
		ret = item_add(y, &cap, &e, file);
	}
	if (d)
		closedir(d);
	free(bin);
	return ret;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* What this host holds now, from the cache unless the directory changed. */
static struct shim_sync *holding(struct shim *s)
{
	struct shim_sync *y = s->sync;
	char path[4200];
	struct stat sd, st;
	crypto_generichash_state h;

	snprintf(path, sizeof(path), "%s/tokens", s->cfg.dir);
	if (stat(s->cfg.dir, &sd) < 0 || stat(path, &st) < 0)
		return NULL;
	if (!y) {
		y = calloc(1, sizeof(*y));
		if (!y)
			return NULL;
		s->sync = y;
	}
	if (y->valid && same_time(&y->mt_dir, &sd.st_mtim) &&
	    same_time(&y->mt_tokens, &st.st_mtim))
		return y;
	y->valid = false;
	if (scan(s, y) < 0)
		return NULL;
	if (y->n)	/* qsort wants a real array even for none */
		qsort(y->items, y->n, sizeof(*y->items), cmp_entry);
	crypto_generichash_init(&h, NULL, 0, PROTO_INVENTORY_DIGEST_LEN);
	for (size_t i = 0; i < y->n; i++)
		crypto_generichash_update(&h, (const uint8_t *)&y->items[i].e,
					  sizeof(y->items[i].e));
	crypto_generichash_final(&h, y->digest, PROTO_INVENTORY_DIGEST_LEN);
	y->mt_dir = sd.st_mtim;
	y->mt_tokens = st.st_mtim;
	y->valid = true;
	return y;
}

/* Our inventory to p: the digest alone, or with every entry. */
static void send_inventory(struct shim *s, struct peer *p, const struct shim_sync *y,
			   bool digest_only)
{
	struct proto_inventory hdr;
	size_t n = digest_only ? 0 : y->n;
	size_t len = sizeof(hdr) + n * sizeof(struct proto_inventory_entry);
	uint8_t *msg = malloc(len);

	if (!msg)
		return;
	memset(&hdr, 0, sizeof(hdr));
	hdr.ctl = PROTO_CTL_INVENTORY;
	hdr.flags = digest_only ? PROTO_INVENTORY_DIGEST : 0;
	hdr.count = htobe16((uint16_t)y->n);
	memcpy(hdr.digest, y->digest, sizeof(hdr.digest));
	memcpy(msg, &hdr, sizeof(hdr));
	for (size_t i = 0; i < n; i++)
		memcpy(msg + sizeof(hdr) + i * sizeof(y->items[i].e), &y->items[i].e,
		       sizeof(y->items[i].e));
	shim_send_control(s, p, msg, len);
	free(msg);
}

void shim_sync_session_up(struct shim *s, struct peer *p)
{
	struct shim_sync *y = holding(s);

	if (y)
		send_inventory(s, p, y, true);
}

/* One object file to p, as PROTO_CTL_OBJECT. */
static bool give(struct shim *s, struct peer *p, const struct sync_item *it)
{
	uint8_t *msg = malloc(PROTO_CONTROL_MAX);
	struct proto_object hdr;
	bool rl = it->e.kind == WIRE_TYPE_REVOCATION;
	size_t len = 0;
	bool sent = false;

	if (!msg)
		return false;
	if (object_read(s, it->file, rl ? TOKEN_ARMOR_REVOCATION :
			it->e.kind == WIRE_TYPE_HOST_TOKEN ? TOKEN_ARMOR_HOST : TOKEN_ARMOR_USER,
			msg + sizeof(hdr), PROTO_CONTROL_MAX - sizeof(hdr), &len) == it->e.kind) {
		hdr.ctl = PROTO_CTL_OBJECT;
		hdr.kind = rl ? PROTO_OBJECT_REVOCATION : PROTO_OBJECT_TOKEN;
		hdr.len = htobe16((uint16_t)len);
		memcpy(msg, &hdr, sizeof(hdr));
		sent = shim_send_control(s, p, msg, len + sizeof(hdr)) == 0;
	}
	free(msg);
	return sent;
}

/* Their entries, sorted and unique as a sender must list them. */
static bool entries_ok(const struct proto_inventory_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		static const uint8_t zero[7];

		if (memcmp(e[i].reserved, zero, sizeof(zero)) != 0 ||
		    e[i].kind < WIRE_TYPE_HOST_TOKEN || e[i].kind > WIRE_TYPE_REVOCATION ||
		    (i > 0 && cmp_entry(&e[i - 1], &e[i]) >= 0))
			return false;
	}
	return true;
}

void shim_sync_receive(struct shim *s, struct peer *p, const uint8_t *msg, size_t len)
{
	const struct proto_inventory_entry *theirs;
	struct proto_inventory hdr;
	struct shim_sync *y;
	size_t n, given = 0;

	if (len < sizeof(hdr)) {
		shim_drop(s, DROP_RX_CONTROL_BAD);
		return;
	}
	memcpy(&hdr, msg, sizeof(hdr));
	n = (len - sizeof(hdr)) / sizeof(*theirs);
	if ((hdr.flags & ~PROTO_INVENTORY_FLAGS_ALL) ||
	    (len - sizeof(hdr)) % sizeof(*theirs) != 0 ||
	    ((hdr.flags & PROTO_INVENTORY_DIGEST) ? n != 0 : n != be16toh(hdr.count))) {
		shim_drop(s, DROP_RX_CONTROL_BAD);
		return;
	}
	y = holding(s);
	if (!y || sodium_memcmp(hdr.digest, y->digest, sizeof(hdr.digest)) == 0)
		return;
	if (hdr.flags & PROTO_INVENTORY_DIGEST) {
		if (p->sync_ns && s->now - p->sync_ns < SYNC_ANSWER_GAP_NS)
			return;
		p->sync_ns = s->now;
		send_inventory(s, p, y, false);
		return;
	}
	theirs = (const struct proto_inventory_entry *)(msg + sizeof(hdr));
	if (!entries_ok(theirs, n)) {
		shim_drop(s, DROP_RX_CONTROL_BAD);
		return;
	}
	for (size_t i = 0; i < y->n; i++) {
		const struct proto_inventory_entry *t =
			bsearch(&y->items[i].e, theirs, n, sizeof(*theirs), cmp_entry);

		if (t && be64toh(t->serial) >= be64toh(y->items[i].e.serial))
			continue;
		given += give(s, p, &y->items[i]);
	}
	if (given)
		shim_log(LOG_INFO, "peer %s was behind: sent it %zu signed object%s", p->name,
			 given, given == 1 ? "" : "s");
}

void shim_sync_free(struct shim *s)
{
	if (s->sync)
		free(s->sync->items);
	free(s->sync);
	s->sync = NULL;
}
