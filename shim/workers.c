/*
 * shim/workers.c - the crypto workers (workers.h).
 *
 * One batch at a time: the caller publishes the job array and bumps a
 * generation number (a futex the idle workers sleep on); every thread,
 * the caller too, takes WORKERS_CHUNK jobs at a time from a shared
 * cursor until none are left; the caller then sleeps until every job is
 * done, waiting only for chunks a worker has actually taken (a worker
 * that wakes late finds nothing left and goes back to sleep). The
 * atomics order the job array's writes before the workers' reads and the
 * workers' results before the caller's reads (release/acquire), which is
 * what ThreadSanitizer checks.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "workers.h"

struct worker {
	struct workers *pool;
	unsigned id;			/* 1..n-1; the caller is 0 */
	pthread_t thread;
};

struct workers {
	unsigned n;
	struct worker threads[WORKERS_MAX];
	_Atomic unsigned gen;		/* futex: bumped for each spread batch */
	_Atomic uint64_t cursor;	/* gen << 32 | jobs << 16 | the next to take */
	_Atomic unsigned done;		/* futex: jobs of this batch finished */
	_Atomic bool stop;
	struct crypto_job *jobs;	/* this batch's, written before cursor */
	/* the caller's own: whether spreading pays, measured (ns per KiB) */
	enum workers_mode mode;
	uint64_t inline_batches, spread_batches, decisions;
	double ns_per_kib_inline, ns_per_kib_spread;
};

static void futex_wait(_Atomic unsigned *addr, unsigned val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic unsigned *addr, int n)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void job_do(struct crypto_job *j, unsigned t)
{
	struct aead *a = &j->ctx[t];

	if (j->seal)
		j->ok = aead_seal(a, j->nonce, j->ad, j->adlen, j->text, j->len,
				  j->text) == 0;
	else
		j->ok = aead_open(a, j->nonce, j->ad, j->adlen, j->text, j->len,
				  j->text);
}

/*
 * Takes chunks of batch gen until none are left. A chunk is claimed by a
 * compare-and-swap of the cursor that still names gen, so a worker that
 * wakes late never takes jobs of a later batch; and the batch cannot end
 * (nor the caller reuse the array) while a claimed chunk is unfinished.
 */
static void drain(struct workers *w, unsigned gen, unsigned t)
{
	uint64_t c = atomic_load(&w->cursor);

	for (;;) {
		size_t i = (size_t)(c & 0xffff), n = (size_t)(c >> 16 & 0xffff), end;
		struct crypto_job *jobs;

		if ((unsigned)(c >> 32) != gen || i >= n)
			return;
		if (!atomic_compare_exchange_weak(&w->cursor, &c, c + WORKERS_CHUNK))
			continue;
		jobs = w->jobs;
		end = i + WORKERS_CHUNK < n ? i + WORKERS_CHUNK : n;
		for (size_t k = i; k < end; k++)
			job_do(&jobs[k], t);
		if (atomic_fetch_add(&w->done, (unsigned)(end - i)) + (end - i) == n)
			futex_wake(&w->done, 1);
		c = atomic_load(&w->cursor);
	}
}

static void *worker_main(void *arg)
{
	struct worker *me = arg;
	struct workers *w = me->pool;
	unsigned seen = 0;		/* gen starts at 0: no batch missed */

	for (;;) {
		unsigned g = atomic_load(&w->gen);

		if (atomic_load(&w->stop))
			return NULL;
		if (g == seen) {
			futex_wait(&w->gen, g);
			continue;
		}
		seen = g;
		drain(w, g, me->id);
	}
}

int workers_create(struct workers **out, unsigned n)
{
	struct workers *w;
	sigset_t all, old;
	int ret = 0;

	*out = NULL;
	if (n < 1 || n > WORKERS_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->n = 1;
	/* workers take no signals: the event loop's signalfd has them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 1; i < n; i++) {
		w->threads[i].pool = w;
		w->threads[i].id = i;
		ret = -pthread_create(&w->threads[i].thread, NULL, worker_main,
				      &w->threads[i]);
		if (ret < 0)
			break;
		w->n++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0) {
		workers_destroy(w);
		return ret;
	}
	*out = w;
	return 0;
}

void workers_destroy(struct workers *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	atomic_fetch_add(&w->gen, 1);
	futex_wake(&w->gen, INT_MAX);
	for (unsigned i = 1; i < w->n; i++)
		pthread_join(w->threads[i].thread, NULL);
	free(w);
}

unsigned workers_count(const struct workers *w)
{
	return w ? w->n : 1;
}

/*
 * Whether to spread this batch: when the measured cost per byte spread is
 * below the cost alone. On a machine whose other cores are busy (both
 * ends of a benchmark on two cores, say), waking a worker costs more than
 * it saves, and the batches stay with the caller; one in WORKERS_PROBE
 * goes the other way, so that the estimates follow the machine.
 */
static bool spread_pays(struct workers *w)
{
	bool spread = w->ns_per_kib_spread < w->ns_per_kib_inline;

	if (w->mode != WORKERS_ADAPTIVE)
		return w->mode == WORKERS_ALWAYS;
	if (w->ns_per_kib_inline == 0 || w->ns_per_kib_spread == 0)
		spread = w->ns_per_kib_spread == 0;
	if (++w->decisions % WORKERS_PROBE == 0)
		spread = !spread;
	return spread;
}

static void learn(double *avg, uint64_t ns, size_t bytes)
{
	double v = (double)ns * 1024.0 / (double)bytes;

	*avg = *avg == 0 ? v : *avg * 0.9 + v * 0.1;
}

void workers_run(struct workers *w, struct crypto_job *jobs, size_t n)
{
	size_t bytes = 0;
	uint64_t t0;
	unsigned d, g;

	for (size_t i = 0; i < n; i++)
		bytes += jobs[i].len;
	if (!w || w->n == 1 || n < 2 || n > WORKERS_JOBS_MAX ||
	    (bytes < WORKERS_INLINE_BYTES && w->mode != WORKERS_ALWAYS) || !spread_pays(w)) {
		t0 = w && bytes >= WORKERS_INLINE_BYTES ? now_ns() : 0;
		for (size_t i = 0; i < n; i++)
			job_do(&jobs[i], 0);
		if (w)
			w->inline_batches++;
		if (t0)
			learn(&w->ns_per_kib_inline, now_ns() - t0, bytes);
		return;
	}
	t0 = now_ns();
	w->spread_batches++;
	w->jobs = jobs;
	atomic_store(&w->done, 0);
	g = atomic_load(&w->gen) + 1;
	atomic_store(&w->cursor, (uint64_t)g << 32 | (uint64_t)n << 16);
	atomic_store(&w->gen, g);
	futex_wake(&w->gen, INT_MAX);
	drain(w, g, 0);
	while ((d = atomic_load(&w->done)) != n)
		futex_wait(&w->done, d);
	learn(&w->ns_per_kib_spread, now_ns() - t0, bytes);
}

void workers_mode_set(struct workers *w, enum workers_mode mode)
{
	w->mode = mode;
}

void workers_stats(const struct workers *w, uint64_t *inline_batches,
		   uint64_t *spread_batches)
{
	*inline_batches = w ? w->inline_batches : 0;
	*spread_batches = w ? w->spread_batches : 0;
}
