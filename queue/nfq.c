/*
 * queue/nfq.c - libnetfilter_queue glue: the queue bound with
 * NFQA_CFG_F_UID_GID (the owning socket's uid comes with each packet),
 * the first CAPQUEUE_COPY bytes of each packet copied, packets handed to
 * a callback, verdicts given later by id.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>		/* before the kernel's headers below */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "capqueue.h"

#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

struct capqueue_nfq {
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	int fd;
	uint32_t mark;
	capqueue_packet_fn fn;
	void *arg;
	char buf[65536 + 4096];
	uint64_t enobufs;
};

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg,
		     struct nfq_data *nfa, void *data)
{
	struct capqueue_nfq *q = data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	unsigned char *payload = NULL;
	uint32_t uid = 0;
	int64_t who = -1;
	int len;

	if (!ph)
		return 0;
	len = nfq_get_payload(nfa, &payload);
	if (nfq_get_uid(nfa, &uid) > 0)
		who = uid;
	q->fn(q->arg, ntohl(ph->packet_id), payload, len > 0 ? (size_t)len : 0, who,
	      nfq_get_indev(nfa));
	return 0;
}

int capqueue_nfq_open(struct capqueue_nfq **out, const struct capqueue_config *cfg,
		      capqueue_packet_fn fn, void *arg)
{
	struct capqueue_nfq *q = calloc(1, sizeof(*q));
	int one = 1, ret = -EIO;

	if (!q)
		return -ENOMEM;
	q->fn = fn;
	q->arg = arg;
	q->mark = cfg->mark;
	q->h = nfq_open();
	if (!q->h) {
		ret = -errno ? -errno : -EIO;
		goto err_free;
	}
	q->qh = nfq_create_queue(q->h, (uint16_t)cfg->num, on_packet, q);
	if (!q->qh) {
		ret = errno ? -errno : -EBUSY;
		goto err_close;
	}
	if (nfq_set_mode(q->qh, NFQNL_COPY_PACKET, CAPQUEUE_COPY) < 0 ||
	    nfq_set_queue_flags(q->qh, NFQA_CFG_F_UID_GID, NFQA_CFG_F_UID_GID) < 0 ||
	    nfq_set_queue_maxlen(q->qh, CAPQUEUE_MAXLEN) < 0)
		goto err_queue;
	q->fd = nfq_fd(q->h);
	setsockopt(q->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	nfnl_rcvbufsiz(nfq_nfnlh(q->h), 4 << 20);
	if (fcntl(q->fd, F_SETFL, fcntl(q->fd, F_GETFL) | O_NONBLOCK) < 0) {
		ret = -errno;
		goto err_queue;
	}
	*out = q;
	return 0;

err_queue:
	nfq_destroy_queue(q->qh);
err_close:
	nfq_close(q->h);
err_free:
	free(q);
	return ret;
}

int capqueue_nfq_fd(const struct capqueue_nfq *q)
{
	return q->fd;
}

void capqueue_nfq_readable(struct capqueue_nfq *q)
{
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(q->fd, q->buf, sizeof(q->buf), MSG_DONTWAIT);

		if (n < 0 && errno == ENOBUFS) {
			if (q->enobufs++ % 1000 == 0)
				capqueue_log(LOG_WARNING, "the kernel's queue overflowed: packets "
					     "were dropped (fail closed)");
			continue;
		}
		if (n <= 0)
			return;
		nfq_handle_packet(q->h, q->buf, (int)n);
	}
}

void capqueue_nfq_accept(struct capqueue_nfq *q, uint32_t id)
{
	nfq_set_verdict(q->qh, id, NF_ACCEPT, 0, NULL);
}

/* Marked and repeated: the REJECT rule before the queue answers it. */
void capqueue_nfq_refuse(struct capqueue_nfq *q, uint32_t id)
{
	nfq_set_verdict2(q->qh, id, NF_REPEAT, q->mark, 0, NULL);
}

void capqueue_nfq_close(struct capqueue_nfq *q)
{
	if (!q)
		return;
	nfq_destroy_queue(q->qh);
	nfq_close(q->h);
	free(q);
}
