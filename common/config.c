/*
 * common/config.c - captun.conf: parsed into entries, then turned into
 * command-line options in front of a daemon's own (config.h). Kept free
 * of the rest of captun so that pam_capd.so can link it too.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "version.h"

static const char *const sections[] = CONFIG_SECTIONS;

/* The vector config_argv_build made: kept for the process's life. */
static char **built;
static const char *const global_keys[] = CONFIG_GLOBAL_KEYS;

/* Options that make no sense in a file. */
static const char *const never_keys[] = { "config", "help", "version", NULL };

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool listed(const char *const *list, const char *word)
{
	for (; *list; list++)
		if (strcmp(*list, word) == 0)
			return true;
	return false;
}

bool config_bool_parse(const char *value, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	if (listed(yes, value)) {
		*out = true;
		return true;
	}
	if (listed(no, value)) {
		*out = false;
		return true;
	}
	return false;
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > CONFIG_KEY_MAX || !islower((unsigned char)k[0]))
		return false;
	for (; *k; k++)
		if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) &&
		    *k != '-' && *k != '_')
			return false;
	return true;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Reads the whole file (any readable file: /dev/null is an empty one). */
static int slurp(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t n = 0, cap = 4096;
	char *buf;

	if (!f)
		return -errno;
	buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
		if (n + 1 == cap) {
			char *nb = cap >= CONFIG_FILE_MAX ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				fclose(f);
				return cap >= CONFIG_FILE_MAX ? -EFBIG : -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (!buf || ferror(f)) {
		int e = buf ? -EIO : -ENOMEM;

		free(buf);
		fclose(f);
		return e;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int add(struct config *c, const char *section, const char *key,
	       const char *value, unsigned line)
{
	struct config_entry *ne;

	if (c->n == CONFIG_ENTRIES_MAX)
		return -E2BIG;
	ne = realloc(c->e, (c->n + 1) * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	c->e = ne;
	ne = &c->e[c->n];
	ne->section = strdup(section);
	ne->key = strdup(key);
	ne->value = strdup(value);
	ne->line = line;
	if (!ne->section || !ne->key || !ne->value) {
		free(ne->section);
		free(ne->key);
		free(ne->value);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

/* One "key = value" line into c; the value may be "quoted". */
static int parse_pair(struct config *c, const char *path, unsigned no,
		      const char *section, char *line, char *err, size_t errcap)
{
	char *eq = strchr(line, '='), *key, *value;
	size_t vlen;
	int ret;

	if (!eq)
		return fail(err, errcap, "%s:%u: expected 'key = value', '[section]' or "
			    "a # comment", path, no);
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!key_ok(key))
		return fail(err, errcap, "%s:%u: '%s' is not a key (lower-case letters, "
			    "digits and '-', as the long option without '--')", path, no, key);
	vlen = strlen(value);
	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
		value[vlen - 1] = '\0';
		value++;
	} else if (strchr(value, '"')) {
		return fail(err, errcap, "%s:%u: a quoted value must be quoted whole", path, no);
	}
	if (!section[0] && !listed(global_keys, key))
		return fail(err, errcap, "%s:%u: '%s' belongs in a section ([capshim], "
			    "[capd], ...): only 'dir' is global", path, no, key);
	if (listed(never_keys, key))
		return fail(err, errcap, "%s:%u: '%s' cannot be set in the file", path, no, key);
	ret = add(c, section, key, value, no);
	if (ret < 0)
		return fail(err, errcap, "%s:%u: %s", path, no,
			    ret == -E2BIG ? "too many entries" : strerror(-ret));
	return 0;
}

int config_load(const char *path, struct config *c, char *err, size_t errcap)
{
	char section[CONFIG_KEY_MAX + 1] = "";
	char *text = NULL, *line, *next;
	unsigned no = 0;
	size_t len = 0;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = slurp(path, &text, &len);
	if (ret < 0) {
		snprintf(err, errcap, "%s: %s", path, ret == -EFBIG ? "larger than 1 MiB" :
			 strerror(-ret));
		return ret;
	}
	if (strlen(text) != len) {
		free(text);
		return fail(err, errcap, "%s: holds a NUL byte: not a text file", path);
	}
	for (line = text; line; line = next) {
		char *l;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		no++;
		if (strlen(line) >= CONFIG_LINE_MAX) {
			ret = fail(err, errcap, "%s:%u: line longer than %d bytes", path, no,
				   CONFIG_LINE_MAX - 1);
			break;
		}
		l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			size_t n = strlen(l);

			if (l[n - 1] != ']') {
				ret = fail(err, errcap, "%s:%u: a section is '[name]'", path, no);
				break;
			}
			l[n - 1] = '\0';
			l = trim(l + 1);
			if (!listed(sections, l)) {
				ret = fail(err, errcap, "%s:%u: unknown section '[%s]' (known: "
					   "capshim, capd, capqueue, capctl, pam_capd)", path, no, l);
				break;
			}
			snprintf(section, sizeof(section), "%s", l);
			continue;
		}
		ret = parse_pair(c, path, no, section, l, err, errcap);
		if (ret < 0)
			break;
	}
	free(text);
	if (ret < 0)
		config_free(c);
	return ret;
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].section);
		free(c->e[i].key);
		free(c->e[i].value);
	}
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

const char *config_lookup(const struct config *c, const char *section, const char *key)
{
	const char *global = NULL, *own = NULL;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].key, key) != 0)
			continue;
		if (!c->e[i].section[0])
			global = c->e[i].value;
		else if (section && strcmp(c->e[i].section, section) == 0)
			own = c->e[i].value;
	}
	return own ? own : global;
}

const char *config_path_find(int argc, char **argv, bool *explicit)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	*explicit = path != NULL;
	return path ? path : CAPTUN_CONFIG_PATH;
}

static const struct option *option_find(const struct option *opts, const char *name)
{
	for (; opts->name; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

/* One entry as a command-line word, or NULL (*skip) for a flag set to no. */
static int entry_word(const char *path, const struct config_entry *e,
		      const struct option *o, char **word, char *err, size_t errcap)
{
	bool on;

	*word = NULL;
	if (o->has_arg == no_argument) {
		if (!config_bool_parse(e->value, &on))
			return fail(err, errcap, "%s:%u: '%s' is a flag: yes or no, not '%s'",
				    path, e->line, e->key, e->value);
		if (on && asprintf(word, "--%s", e->key) < 0)
			return -ENOMEM;
		return 0;
	}
	if (o->has_arg == required_argument && !e->value[0])
		return fail(err, errcap, "%s:%u: '%s' needs a value", path, e->line, e->key);
	if (asprintf(word, "--%s=%s", e->key, e->value) < 0)
		return -ENOMEM;
	return 0;
}

int config_argv_build(const char *section, const struct option *opts,
		      int argc, char **argv, int *nargc, char ***nargv,
		      char *err, size_t errcap)
{
	struct config c;
	bool explicit;
	const char *path = config_path_find(argc, argv, &explicit);
	char **out;
	int n = 0, ret;

	ret = config_load(path, &c, err, errcap);
	if (ret == -ENOENT && !explicit) {
		memset(&c, 0, sizeof(c));
	} else if (ret < 0) {
		return ret;
	}
	out = calloc(c.n + (size_t)argc + 1, sizeof(*out));
	if (!out) {
		config_free(&c);
		return fail(err, errcap, "out of memory");
	}
	out[n++] = argv[0];
	for (size_t i = 0; i < c.n; i++) {
		const struct config_entry *e = &c.e[i];
		const struct option *o;
		char *word;

		if (e->section[0] && strcmp(e->section, section) != 0)
			continue;
		o = option_find(opts, e->key);
		if (!o && !e->section[0])
			continue;	/* a global key this program has no use for */
		if (!o) {
			ret = fail(err, errcap, "%s:%u: [%s] has no key '%s' (the keys are "
				   "%s's long options: see '%s --help')", path, e->line,
				   section, e->key, section, section);
			goto err;
		}
		ret = entry_word(path, e, o, &word, err, errcap);
		if (ret < 0)
			goto err;
		if (word)
			out[n++] = word;
	}
	for (int i = 1; i < argc; i++)
		out[n++] = argv[i];
	out[n] = NULL;
	config_free(&c);
	free(built);
	built = out;
	*nargc = n;
	*nargv = out;
	return 0;

err:
	for (int i = 1; i < n; i++)
		free(out[i]);
	free(out);
	config_free(&c);
	if (ret == -ENOMEM)
		snprintf(err, errcap, "out of memory");
	return ret;
}

bool config_value(const char *path, const char *section, const char *key,
		  char *out, size_t cap)
{
	char err[CONFIG_ERR_MAX];
	struct config c;
	const char *v;
	bool found;

	if (config_load(path, &c, err, sizeof(err)) < 0)
		return false;
	v = config_lookup(&c, section, key);
	found = v && (size_t)snprintf(out, cap, "%s", v) < cap;
	config_free(&c);
	return found;
}

void config_shim_control(const char *path, char *out, size_t cap)
{
	char ifname[CONFIG_KEY_MAX + 1];

	if (config_value(path, "capshim", "control", out, cap))
		return;
	if (!config_value(path, "capshim", "ifname", ifname, sizeof(ifname)))
		snprintf(ifname, sizeof(ifname), "%s", CAPTUN_IFNAME);
	snprintf(out, cap, "%s/%s.sock", CAPTUN_RUN_DIR, ifname);
}
