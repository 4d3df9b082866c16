/*
 * tests/tools/inject_host.c - the host capinject speaks as: its private
 * keys, the authority key, the revocation list and every valid host token
 * of its state directory, read the way capshim reads them (shim/main.c,
 * shim/peer.c), through the policy library.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "armor.h"
#include "capinject.h"
#include "fileio.h"
#include "policy.h"

static int revocations_load(struct inj_host *h)
{
	char path[4096];
	enum token_status st = TOKEN_OK;
	int ret;

	snprintf(path, sizeof(path), "%s/revocation.list", h->dir);
	ret = revocation_file_load(path, h->authority_pk, &h->revoked, &st);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		fprintf(stderr, "capinject: %s: %s\n", path,
			ret == -EKEYREJECTED ? token_status_str(st) : strerror(-ret));
	return ret;
}

/* One armored host token file, verified against the authority. */
static int token_load(struct inj_host *h, const char *path, uint8_t *bin,
		      size_t *binlen, struct token *t)
{
	struct token_trust trust;
	enum token_status st = TOKEN_OK;
	int ret;

	memcpy(trust.authority_pk, h->authority_pk, sizeof(trust.authority_pk));
	trust.revoked = &h->revoked;
	trust.now = (uint64_t)time(NULL);
	ret = token_file_verify(path, WIRE_TYPE_HOST_TOKEN, &trust, bin, binlen, t, &st);
	if (ret == -EKEYREJECTED)
		fprintf(stderr, "capinject: %s: ignored: %s\n", path, token_status_str(st));
	return ret;
}

static int tokens_load(struct inj_host *h)
{
	char dir[4096], path[4400];
	uint8_t bin[WIRE_TOKEN_MAX];
	struct dirent *de;
	bool have_self = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tokens", h->dir);
	d = opendir(dir);
	if (!d)
		return -errno;
	h->hosts = calloc(INJ_HOSTS_MAX, sizeof(*h->hosts));
	if (!h->hosts) {
		closedir(d);
		return -ENOMEM;
	}
	while ((de = readdir(d)) && h->nhosts < INJ_HOSTS_MAX) {
		struct token t;
		size_t binlen = 0;

		if (strncmp(de->d_name, "host-", 5) != 0 || !strstr(de->d_name, ".token"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (token_load(h, path, bin, &binlen, &t) < 0)
			continue;
		if (sodium_memcmp(t.tunnel_pk, h->keys.tunnel_pk, PROTO_KEY_LEN) == 0) {
			h->self = t;
			memcpy(h->self_token, bin, binlen);
			h->self_token_len = binlen;
			have_self = true;
		}
		h->hosts[h->nhosts++] = t;
	}
	closedir(d);
	if (!have_self) {
		fprintf(stderr, "capinject: %s: no valid host token for this host's key\n",
			dir);
		return -ENOKEY;
	}
	return 0;
}

/* The epoch capshim persisted (shim/announce.c), 0 if there is none. */
static int epoch_load(struct inj_host *h)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	unsigned long v = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/epoch", h->dir);
	ret = fileio_read(path, 64, &buf, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (sscanf((const char *)buf, "%lu", &v) != 1 || v >= UINT32_MAX)
		ret = -EINVAL;
	free(buf);
	h->epoch = (uint32_t)v;
	return ret;
}

int inj_host_load(struct inj_host *h, const char *dir)
{
	char path[4096];
	int ret;

	memset(h, 0, sizeof(*h));
	h->dir = dir;
	snprintf(path, sizeof(path), "%s/host.key", dir);
	ret = keys_host_load(path, &h->keys);
	if (ret < 0) {
		fprintf(stderr, "capinject: %s: %s\n", path, strerror(-ret));
		return ret;
	}
	ret = noise_static_init(&h->stat, h->keys.tunnel_sk);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/authority.pub", dir);
	ret = keys_authority_pub_load(path, h->authority_pk);
	if (ret < 0) {
		fprintf(stderr, "capinject: %s: %s\n", path, strerror(-ret));
		return ret;
	}
	if ((ret = revocations_load(h)) < 0)
		return ret;
	if ((ret = tokens_load(h)) < 0) {
		if (ret != -ENOKEY)
			fprintf(stderr, "capinject: %s/tokens: %s\n", dir, strerror(-ret));
		return ret;
	}
	ret = epoch_load(h);
	if (ret < 0)
		fprintf(stderr, "capinject: %s/epoch: %s\n", dir, strerror(-ret));
	return ret;
}

void inj_host_free(struct inj_host *h)
{
	free(h->hosts);
	h->hosts = NULL;
	h->nhosts = 0;
	revocation_free(&h->revoked);
	noise_static_wipe(&h->stat);
	keys_host_wipe(&h->keys);
}

const struct token *inj_host_find(const struct inj_host *h, const char *name)
{
	for (size_t i = 0; i < h->nhosts; i++)
		if (strcmp(h->hosts[i].name, name) == 0)
			return &h->hosts[i];
	return NULL;
}

const struct token *inj_host_other(const struct inj_host *h, const char *except)
{
	const struct token *best = NULL;

	for (size_t i = 0; i < h->nhosts; i++) {
		const struct token *t = &h->hosts[i];

		if (strcmp(t->name, h->self.name) == 0 || strcmp(t->name, except) == 0)
			continue;
		if (!best || strcmp(t->name, best->name) < 0)
			best = t;
	}
	return best;
}

int inj_host_endpoint(const struct inj_host *h, const char *name, char *out,
		      size_t cap)
{
	const struct policy_host *ph;
	struct policy_error err;
	struct policy *pol = NULL;
	char path[4096], a[INET6_ADDRSTRLEN];
	int ret = 0;

	snprintf(path, sizeof(path), "%s/policy.json", h->dir);
	if (!policy_parse_file(path, &pol, &err)) {
		fprintf(stderr, "capinject: no endpoint for %s: %s\n", name, err.text);
		return -ENOENT;
	}
	ph = policy_host_find(pol, name);
	if (!ph || !ph->endpoint.set) {
		fprintf(stderr, "capinject: %s names no endpoint for %s\n", path, name);
		ret = -ENOENT;
	} else if (ph->endpoint.family == AF_INET) {
		inet_ntop(AF_INET, &ph->endpoint.addr.v4, a, sizeof(a));
		snprintf(out, cap, "%s:%u", a, ph->endpoint.port);
	} else {
		inet_ntop(AF_INET6, &ph->endpoint.addr.v6, a, sizeof(a));
		snprintf(out, cap, "[%s]:%u", a, ph->endpoint.port);
	}
	policy_free(pol);
	return ret;
}
