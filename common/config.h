/*
 * common/config.h - /etc/captun/captun.conf, the one configuration file of
 * a captun host (captun.conf(5)):
 *
 *   # comment
 *   dir = /var/lib/captun        global: every program's state directory
 *
 *   [capshim]
 *   port = 51900                 a long option of capshim, without "--"
 *   strict = yes                 a flag: yes/no, true/false, on/off, 1/0
 *   route = 10.77.0.0/16         repeatable options take one value a line
 *
 *   [capd]
 *   on-invalid = refuse
 *
 * A section's keys are the long options of the program it names, so every
 * option a daemon has is a key of its section; the command line overrides
 * the file (it comes after it), and adds to a repeatable option. The global
 * part holds only what every program shares (CONFIG_GLOBAL_KEYS).
 */
#ifndef CAPTUN_COMMON_CONFIG_H
#define CAPTUN_COMMON_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

enum config_limit {
	CONFIG_FILE_MAX = 1 << 20,	/* bytes of a configuration file */
	CONFIG_LINE_MAX = 4096,
	CONFIG_KEY_MAX = 64,
	CONFIG_ENTRIES_MAX = 4096,
	CONFIG_ERR_MAX = 512,
};

/* The sections a file may have: one per captun program that reads it. */
#define CONFIG_SECTIONS { "capshim", "capd", "capqueue", "capctl", "pam_capd", NULL }
/* The keys of the global part (before any section). */
#define CONFIG_GLOBAL_KEYS { "dir", NULL }

struct config_entry {
	char *section;			/* "" for the global part */
	char *key;
	char *value;
	unsigned line;
};

struct config {
	struct config_entry *e;		/* in file order */
	size_t n;
};

/*
 * Reads and checks path's syntax (sections, keys, values; not whether a
 * program knows a key). 0; -ENOENT when there is no file; -EINVAL with
 * "PATH:LINE: what" in err; another -errno if it cannot be read.
 */
int config_load(const char *path, struct config *c, char *err, size_t errcap);
void config_free(struct config *c);

/* The last value of key in section, else in the global part; NULL if none. */
const char *config_lookup(const struct config *c, const char *section, const char *key);

/* Parses a yes/no value; false if it is neither. */
bool config_bool_parse(const char *value, bool *out);

/*
 * The file a daemon reads: the value of --config in argv (either form;
 * argv is scanned up to "--"), else CAPTUN_CONFIG_PATH. *explicit says
 * whether it was given, so that a missing file is an error only then.
 */
const char *config_path_find(int argc, char **argv, bool *explicit);

/*
 * A daemon's command line with its configuration file in front: argv[0],
 * then "--key=value" (or "--flag") for every key of the global part and of
 * section that opts knows, then argv[1..]. A key of section opts does not
 * know, a flag whose value is not yes/no, or a key that needs a value and
 * has none is an error naming file and line. The new vector is malloc'd
 * and lives as long as the process (getopt's optarg points into it).
 * 0, or -errno with the reason in err.
 */
int config_argv_build(const char *section, const struct option *opts,
		      int argc, char **argv, int *nargc, char ***nargv,
		      char *err, size_t errcap);

/*
 * capshim's control socket as the file at path says: [capshim] control,
 * else CAPTUN_RUN_DIR/IFNAME.sock with [capshim] ifname, else with
 * CAPTUN_IFNAME. A file that cannot be read counts as empty.
 */
void config_shim_control(const char *path, char *out, size_t cap);

/* The value of key in section of the file at path, copied; false if none. */
bool config_value(const char *path, const char *section, const char *key,
		  char *out, size_t cap);

#endif
