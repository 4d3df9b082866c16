/*
 * tools/capctl/ctx.c - the state directory of one invocation: its paths,
 * its lock and the authority's keys.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "capctl.h"

/* --dir wins over $CAPTUN_DIR, which wins over /etc/captun. */
int ctx_resolve(struct capctl_ctx *ctx)
{
	const char *env = getenv("CAPTUN_DIR");
	const struct {
		char *out;
		const char *name;
	} files[] = {
		{ ctx->path_key, "authority.key" },
		{ ctx->path_pub, "authority.pub" },
		{ ctx->path_policy, "policy.json" },
		{ ctx->path_state, "state.json" },
		{ ctx->path_revlist, "revocation.list" },
		{ ctx->path_tokens, "tokens" },
		{ ctx->path_lock, ".lock" },
	};

	if (ctx->dir_opt)
		ctx->dir = ctx->dir_opt;
	else if (env && env[0])
		ctx->dir = env;
	else
		ctx->dir = CAPCTL_DEFAULT_DIR;
	if (!ctx->dir[0])
		return util_fail(CAPCTL_USAGE, "give a directory",
				 "empty state directory name");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!util_join(files[i].out, PATH_MAX, ctx->dir, files[i].name))
			return util_fail(CAPCTL_USAGE, "use a shorter path",
					 "state directory path is too long");
	return CAPCTL_OK;
}

/* Verbs that read or change the authority's state need an initialised dir. */
int ctx_require_init(struct capctl_ctx *ctx)
{
	struct stat sb;

	if (stat(ctx->dir, &sb) < 0) {
		if (errno == ENOENT)
			return util_fail(CAPCTL_FAIL,
					 "run 'capctl init --dir DIR' or point --dir / CAPTUN_DIR at the state directory",
					 "state directory %s does not exist", ctx->dir);
		return util_io_fail(-errno, "open state directory", ctx->dir);
	}
	if (!S_ISDIR(sb.st_mode))
		return util_fail(CAPCTL_FAIL, "point --dir at the state directory",
				 "%s is not a directory", ctx->dir);
	if (stat(ctx->path_state, &sb) < 0) {
		if (errno == ENOENT)
			return util_fail(CAPCTL_FAIL,
					 "run 'capctl init --dir DIR' first",
					 "%s is not an initialised state directory (no state.json)",
					 ctx->dir);
		return util_io_fail(-errno, "read", ctx->path_state);
	}
	return CAPCTL_OK;
}

/* A leftover of fileio_write_atomic: NAME.tmp.XXXXXX. */
static bool is_tmp(const char *name)
{
	const char *t = strstr(name, ".tmp.");

	return t && t != name && strlen(t + 5) == 6 && !strchr(t + 5, '/');
}

/* Under the lock no one else writes, so temporaries left by a crash go. */
static void sweep(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (is_tmp(de->d_name) && util_join(path, sizeof(path), dir, de->d_name))
			if (unlink(path) < 0 && errno != ENOENT)
				util_note("could not remove leftover %s: %s", path,
					  strerror(errno));
	closedir(d);
}

/* Exclusive flock on DIR/.lock for the rest of the process. */
int ctx_lock(struct capctl_ctx *ctx)
{
	int fd;

	if (ctx->lock_fd >= 0)
		return CAPCTL_OK;
	fd = open(ctx->path_lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return util_io_fail(-errno, "open lock file", ctx->path_lock);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			int err = errno;

			close(fd);
			return util_io_fail(-err, "lock", ctx->path_lock);
		}
		util_note("waiting for another capctl that holds %s", ctx->path_lock);
		while (flock(fd, LOCK_EX) < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			close(fd);
			return util_io_fail(-err, "lock", ctx->path_lock);
		}
	}
	ctx->lock_fd = fd;
	sweep(ctx->dir);
	sweep(ctx->path_tokens);
	return CAPCTL_OK;
}

/* authority.pub, once. */
int ctx_pub_load(struct capctl_ctx *ctx)
{
	int ret;

	if (ctx->have_pk)
		return CAPCTL_OK;
	ret = keys_authority_pub_load(ctx->path_pub, ctx->authority_pk);
	if (ret == -EINVAL)
		return util_fail(CAPCTL_FAIL, "restore it from a backup",
				 "%s is not an authority public key", ctx->path_pub);
	if (ret < 0)
		return util_io_fail(ret, "read authority public key", ctx->path_pub);
	ctx->have_pk = true;
	return CAPCTL_OK;
}

/*
 * authority.key, once; it must match authority.pub. The secret stays in
 * ctx->ak until ctx_key_wipe() (issue.c calls it once it has signed)
 * or ctx_free().
 */
int ctx_key_load(struct capctl_ctx *ctx)
{
	int ret;

	if (ctx->have_sk)
		return CAPCTL_OK;
	ret = ctx_pub_load(ctx);
	if (ret != CAPCTL_OK)
		return ret;
	ret = keys_authority_load(ctx->path_key, &ctx->ak);
	if (ret < 0) {
		keys_authority_wipe(&ctx->ak);
		switch (-ret) {
		case EPERM:
			return util_fail(CAPCTL_FAIL,
					 "it must be owned by you and mode 0600: chmod 600 it",
					 "refusing to use %s", ctx->path_key);
		case EINVAL:
			return util_fail(CAPCTL_FAIL, "restore it from a backup",
					 "%s is not an authority private key", ctx->path_key);
		case EBADMSG:
			return util_fail(CAPCTL_FAIL, "restore it from a backup",
					 "%s is damaged: its public half does not match",
					 ctx->path_key);
		default:
			return util_io_fail(ret, "read authority key", ctx->path_key);
		}
	}
	if (sodium_memcmp(ctx->ak.pk, ctx->authority_pk, WIRE_PUBKEY_LEN) != 0) {
		keys_authority_wipe(&ctx->ak);
		return util_fail(CAPCTL_FAIL,
				 "restore the matching pair from a backup",
				 "%s and %s are not one key pair", ctx->path_key,
				 ctx->path_pub);
	}
	ctx->have_sk = true;
	return CAPCTL_OK;
}

/* Called as soon as signing is over, and again by ctx_free(). */
void ctx_key_wipe(struct capctl_ctx *ctx)
{
	keys_authority_wipe(&ctx->ak);
	ctx->have_sk = false;
}

/* Wipes the key on every path out of main() and drops the lock. */
void ctx_free(struct capctl_ctx *ctx)
{
	ctx_key_wipe(ctx);
	if (ctx->lock_fd >= 0) {
		close(ctx->lock_fd);
		ctx->lock_fd = -1;
	}
}

/* DIR/tokens/KIND-NAME.token; false if the path does not fit. */
bool ctx_token_path(const struct capctl_ctx *ctx, enum capctl_kind kind,
		    const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s-%s.token", ctx->path_tokens,
			 kind_str(kind), name);

	return n > 0 && (size_t)n < cap;
}
