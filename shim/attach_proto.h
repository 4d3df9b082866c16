/*
 * shim/attach_proto.h - attach mode's control channel: the control
 * messages of proto.h (announcements, epoch requests, signed objects,
 * refusal reports) as plain UDP datagrams between the daemons' ports on
 * the mesh's overlay addresses. The mesh encrypts and authenticates the
 * source address; every message that grants anything is signed anyway.
 *
 * A message is cut into chunks of at most ATTACH_CHUNK_DATA bytes, each
 * one datagram, so that nothing is IP-fragmented (a non-first fragment
 * has no ports, and the tc programs would judge it as data):
 *
 *   struct attach_chunk, then bytes [index * ATTACH_CHUNK_DATA, ...) of
 *   the message (all but the last chunk exactly ATTACH_CHUNK_DATA).
 *
 * The receiver keeps one message in assembly per peer; a chunk of another
 * message id starts over. All integers big-endian.
 */
#ifndef CAPTUN_SHIM_ATTACH_PROTO_H
#define CAPTUN_SHIM_ATTACH_PROTO_H

#include <stdint.h>

#include "proto.h"

#define ATTACH_MAGIC "CAPA"

enum attach_proto {
	ATTACH_VERSION = 1,
	ATTACH_CHUNK_DATA = 1200,	/* fits any mesh MTU >= 1280 with headers */
	ATTACH_CHUNKS_MAX = (PROTO_CONTROL_MAX + ATTACH_CHUNK_DATA - 1) / ATTACH_CHUNK_DATA,
	ATTACH_DEFAULT_PORT = 51900,
};

struct attach_chunk {
	uint8_t magic[4];		/* ATTACH_MAGIC */
	uint8_t version;		/* ATTACH_VERSION */
	uint8_t reserved;		/* zero */
	uint8_t index;			/* 0 .. count - 1 */
	uint8_t count;			/* 1 .. ATTACH_CHUNKS_MAX */
	uint32_t msg_id;		/* the sender's message counter */
	uint32_t total_len;		/* of the whole message: 1 .. PROTO_CONTROL_MAX */
} __attribute__((packed));

_Static_assert(sizeof(struct attach_chunk) == 16, "attach chunk header");
_Static_assert(ATTACH_CHUNKS_MAX <= 64, "a 64-bit map of the chunks received");

#endif
