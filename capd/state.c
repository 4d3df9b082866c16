/*
 * capd/state.c - DIR/capd.state, the sessions capd must not forget across
 * a restart or a crash, and the start time of a process, which tells a
 * session's process from a later one that got the same pid.
 *
 *   {"version":1,"next_session":8,"sessions":[{"id":7,"user":"alice",
 *    "service":"sshd","tty":"ssh","rhost":"192.0.2.9","pid":4242,
 *    "start_time":123456,"opened_at":1714560000}]}
 *
 * Written whole and atomically (fileio_write_atomic) after every change;
 * read back strictly: one bad field rejects the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capd.h"
#include "fileio.h"

enum state_const {
	STATE_VERSION = 1,
	STAT_LINE_MAX = 4096,
	STAT_FIELD_START = 22,		/* proc(5): starttime */
};

/* The file's text (malloc'd, NUL-terminated), or NULL when out of memory. */
char *capd_state_encode(const struct capd_table *t)
{
	json_t *root, *arr;
	char *text;

	arr = json_array();
	root = json_pack("{s:i, s:I, s:o}", "version", STATE_VERSION,
			 "next_session", (json_int_t)t->next_id, "sessions", arr);
	if (!root)
		return NULL;
	for (size_t i = 0; i < t->n; i++) {
		const struct capd_session *s = t->s[i];
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:I}",
				      "id", (json_int_t)s->id, "user", s->user,
				      "service", s->service, "tty", s->tty,
				      "rhost", s->rhost, "pid", (int)s->pid,
				      "start_time", (json_int_t)s->start_time,
				      "opened_at", (json_int_t)s->opened_at);

		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(root);
			return NULL;
		}
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* An integer member in [lo, hi]. */
static bool get_int(json_t *o, const char *key, json_int_t lo, json_int_t hi,
		    json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi;
}

/* A string member that passes ok() into out (cap bytes with the NUL). */
static bool get_str(json_t *o, const char *key, char *out, size_t cap,
		    bool (*ok)(const char *, size_t))
{
	const char *v = json_string_value(json_object_get(o, key));

	if (!v || strlen(v) != json_string_length(json_object_get(o, key)) ||
	    strlen(v) >= cap || !ok(v, cap - 1))
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

static bool user_ok(const char *v, size_t max)
{
	return capd_user_name_ok(v);
}

/* One session object into a malloc'd session; names the bad field. */
static bool session_decode(json_t *o, struct capd_session **out,
			   const char **bad)
{
	struct capd_session *s = calloc(1, sizeof(*s));
	json_int_t v;

	if (!s) {
		*bad = "memory";
		return false;
	}
	s->ev.fd = -1;
	if (!json_is_object(o))
		*bad = "session";
	else if (!get_int(o, "id", 1, INT64_MAX, &v))
		*bad = "id";
	else if ((s->id = (uint64_t)v, !get_str(o, "user", s->user, sizeof(s->user), user_ok)))
		*bad = "user";
	else if (!get_str(o, "service", s->service, sizeof(s->service), capd_field_ok))
		*bad = "service";
	else if (!get_str(o, "tty", s->tty, sizeof(s->tty), capd_field_ok))
		*bad = "tty";
	else if (!get_str(o, "rhost", s->rhost, sizeof(s->rhost), capd_field_ok))
		*bad = "rhost";
	else if (!get_int(o, "pid", 1, CAPD_PID_MAX, &v))
		*bad = "pid";
	else if ((s->pid = (pid_t)v, !get_int(o, "start_time", 0, INT64_MAX, &v)))
		*bad = "start_time";
	else if ((s->start_time = (uint64_t)v, !get_int(o, "opened_at", 0, INT64_MAX, &v)))
		*bad = "opened_at";
	else
		*bad = NULL;
	if (*bad) {
		free(s);
		return false;
	}
	s->opened_at = (uint64_t)v;
	*out = s;
	return true;
}

/*
 * Fills the empty table t from the file's text. On failure t is left empty
 * and err says what was wrong.
 */
bool capd_state_decode(const char *text, size_t len, struct capd_table *t,
		       char *err, size_t errcap)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *arr, *o;
	json_int_t version, next;
	size_t i;

	if (!root) {
		snprintf(err, errcap, "line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
		return false;
	}
	arr = json_object_get(root, "sessions");
	if (!json_is_object(root) || !get_int(root, "version", 1, INT32_MAX, &version) ||
	    version != STATE_VERSION) {
		snprintf(err, errcap, "not a version %d capd state file", STATE_VERSION);
		goto fail;
	}
	if (!get_int(root, "next_session", 1, INT64_MAX, &next) || !json_is_array(arr) ||
	    json_array_size(arr) > CAPD_SESSIONS_MAX) {
		snprintf(err, errcap,
			 "\"next_session\" or \"sessions\" is missing or out of range");
		goto fail;
	}
	json_array_foreach(arr, i, o) {
		struct capd_session *s = NULL;
		const char *bad = NULL;
		int ret;

		if (!session_decode(o, &s, &bad)) {
			snprintf(err, errcap, "sessions[%zu]: bad \"%s\"", i, bad);
			goto fail;
		}
		ret = capd_table_add(t, s, NULL);
		if (ret < 0) {
			snprintf(err, errcap, "sessions[%zu]: %s", i,
				 ret == -EEXIST ? "duplicate id" : strerror(-ret));
			free(s);
			goto fail;
		}
	}
	if ((uint64_t)next > t->next_id)
		t->next_id = (uint64_t)next;
	json_decref(root);
	return true;
fail:
	json_decref(root);
	capd_table_free(t);
	return false;
}

int capd_state_save(const struct capd_table *t, const char *path)
{
	char *text = capd_state_encode(t);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = fileio_write_atomic(path, text, strlen(text), 0600);
	free(text);
	return ret;
}

/* 0, -ENOENT (no file: no sessions), -EBADMSG with err filled, or -errno. */
int capd_state_load(struct capd_table *t, const char *path, char *err,
		    size_t errcap)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int ret;

	ret = fileio_read(path, CAPD_STATE_MAX, &text, &len);
	if (ret < 0) {
		snprintf(err, errcap, "%s", strerror(-ret));
		return ret;
	}
	ret = capd_state_decode((const char *)text, len, t, err, errcap) ? 0 : -EBADMSG;
	free(text);
	return ret;
}

/*
 * Field 22 (starttime) of a /proc/PID/stat line. The command name in
 * field 2 may hold spaces and parentheses, so fields count from the last
 * ')'.
 */
bool capd_proc_stat_parse(const char *text, size_t len, uint64_t *start)
{
	const char *p = NULL, *end = text + len;
	int field = 2;

	for (const char *q = text; q < end; q++)
		if (*q == ')')
			p = q;
	if (!p)
		return false;
	p++;
	while (p < end) {
		uint64_t v = 0;
		bool digits = false;

		if (*p != ' ')
			return false;
		p++;
		field++;
		if (field < STAT_FIELD_START) {
			while (p < end && *p != ' ')
				p++;
			continue;
		}
		while (p < end && *p >= '0' && *p <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (uint64_t)(*p++ - '0');
			digits = true;
		}
		if (!digits || (p < end && *p != ' ' && *p != '\n'))
			return false;
		*start = v;
		return true;
	}
	return false;
}

/* 0 with *out, -ESRCH if pid does not exist, or -errno. */
int capd_proc_start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[STAT_LINE_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		int ret = errno == ESRCH ? -ESRCH : -errno;

		close(fd);
		return ret;
	}
	close(fd);
	return capd_proc_stat_parse(buf, (size_t)n, out) ? 0 : -EINVAL;
}

/* The command name of pid (/proc/PID/comm), for logs; "?" if unreadable. */
void capd_proc_comm(pid_t pid, char *out, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(out, cap, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n <= 0) {
		snprintf(out, cap, "?");
		return;
	}
	out[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = '\0';
		else if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
			out[i] = '?';
}
