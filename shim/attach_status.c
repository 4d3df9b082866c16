/*
 * shim/attach_status.c - {"cmd":"status"} in attach mode: the same fields
 * as the tunnel's (host, epoch, mask, users, peers, drops) where they mean
 * the same, and what only attach mode has: the interface, the programs
 * and their links, the maps' sizes, every kernel counter by name, and the
 * setting for non-captun peers.
 *
 *   peers[].session   true once the peer's announcement has verified
 *                     (attach mode has no sessions of its own)
 *   drops.tx_denied   every refusal by this host's own capability:
 *                     packets dropped on egress plus connect()/sendmsg()
 *                     refused (also counted apart: tx_denied_egress,
 *                     tx_connect_denied, tx_sendmsg_denied)
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "attach.h"

static const char *const map_names[] = {
	"settings", "own_caps", "peers", "peer_caps", "conntrack", "counters",
	"peer_counters",
};

static json_t *mask_json(const struct mask *m)
{
	char buf[4096];

	mask_format(m, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *peer_json(struct shim *s, struct peer *p)
{
	struct attach_state *a = attach_of(s);
	const struct peer_cap *cap = p->latest_epoch ? shim_peer_cap(p, p->latest_epoch) : NULL;
	struct attach_peer_counters c;
	char a4[INET6_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	json_t *o = json_object();

	kbpf_peer_counters(&a->k, p->bit, &c);
	if (p->has4)
		inet_addr_str(&p->overlay4, a4, sizeof(a4));
	if (p->has6)
		inet_addr_str(&p->overlay6, a6, sizeof(a6));
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "bit", json_integer(p->bit));
	json_object_set_new(o, "endpoint", json_string(p->has4 ? a4 : a6));
	json_object_set_new(o, "overlay4", json_string(a4));
	json_object_set_new(o, "overlay6", json_string(a6));
	json_object_set_new(o, "session", json_boolean(cap != NULL && !p->disabled));
	json_object_set_new(o, "disabled", json_boolean(p->disabled));
	json_object_set_new(o, "rx_packets", json_integer((json_int_t)c.rx_packets));
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)c.rx_bytes));
	json_object_set_new(o, "tx_packets", json_integer((json_int_t)c.tx_packets));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)c.tx_bytes));
	json_object_set_new(o, "rx_denied", json_integer((json_int_t)c.rx_denied));
	json_object_set_new(o, "tx_denied", json_integer((json_int_t)c.tx_denied));
	json_object_set_new(o, "control_rx", json_integer((json_int_t)p->c.rx_packets));
	json_object_set_new(o, "control_tx", json_integer((json_int_t)p->c.tx_packets));
	json_object_set_new(o, "denied_reported", json_integer((json_int_t)p->c.denied_reported));
	json_object_set_new(o, "epoch", json_integer(cap ? cap->epoch : 0));
	json_object_set_new(o, "mask", cap ? mask_json(&cap->mask) : json_null());
	json_object_set_new(o, "users", json_string(cap ? cap->users : ""));
	json_object_set_new(o, "reaches_us",
			    json_boolean(cap && mask_bit_test(&cap->mask, s->self.bit)));
	json_object_set_new(o, "we_reach", json_boolean(mask_bit_test(&s->cap.mask, p->bit)));
	return o;
}

json_t *attach_status(struct shim *s)
{
	struct attach_state *a = attach_of(s);
	uint64_t cnt[CNT_COUNT];
	json_t *o = json_object(), *peers = json_array(), *drops = json_object();
	json_t *counters = json_object(), *maps = json_object(), *links = json_array();
	unsigned entries = 0, max = 0;

	kbpf_counters(&a->k, cnt);
	for (int i = 0; i < CNT_COUNT; i++)
		json_object_set_new(i >= CNT_DROP_FIRST ? drops : counters,
				    kbpf_counter_name((enum attach_counter)i),
				    json_integer((json_int_t)cnt[i]));
	json_object_set_new(drops, "tx_denied",
			    json_integer((json_int_t)(cnt[CNT_TX_DENIED] + cnt[CNT_TX_CONNECT_DENIED] +
						      cnt[CNT_TX_SENDMSG_DENIED])));
	for (int d = 0; d < DROP_COUNT; d++)
		if (s->drops[d])
			json_object_set_new(drops, shim_drop_name(d),
					    json_integer((json_int_t)s->drops[d]));
	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++)
		if (kbpf_map_usage(&a->k, map_names[i], &entries, &max) == 0)
			json_object_set_new(maps, map_names[i],
					    json_pack("{s:i, s:i}", "entries", entries, "max", max));
	for (int l = 0; l < KBPF_LINK_COUNT; l++)
		json_array_append_new(links, json_pack("{s:s, s:b}", "name",
						       kbpf_link_name((enum kbpf_link)l),
						       "attached", a->k.link_fd[l] >= 0));
	for (size_t i = 0; i < s->npeers; i++)
		json_array_append_new(peers, peer_json(s, &s->peers[i]));
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "mode", json_string("attach"));
	json_object_set_new(o, "host", json_string(s->self.name));
	json_object_set_new(o, "bit", json_integer(s->self.bit));
	json_object_set_new(o, "interface", json_string(s->cfg.attach));
	json_object_set_new(o, "ifindex", json_integer(a->k.ifindex));
	json_object_set_new(o, "mtu", json_integer(a->k.mtu));
	json_object_set_new(o, "route_mtu", json_integer(a->k.mtu - STAMP_LEN));
	json_object_set_new(o, "routes_refused", json_integer((json_int_t)a->routes_refused));
	json_object_set_new(o, "bpf_dir", json_string(a->k.pin_dir));
	json_object_set_new(o, "cgroup", json_string(a->k.cgroup));
	json_object_set_new(o, "adopted", json_boolean(a->k.adopted));
	json_object_set_new(o, "provisional", json_boolean(a->provisional));
	json_object_set_new(o, "port", json_integer(s->cfg.port));
	json_object_set_new(o, "epoch", json_integer(s->cap.epoch));
	json_object_set_new(o, "mask", mask_json(&s->cap.mask));
	json_object_set_new(o, "users", json_string(s->cap.users));
	json_object_set_new(o, "strict", json_boolean(s->cfg.strict));
	json_object_set_new(o, "non_captun", json_string(s->cfg.drop_others ? "drop" : "pass"));
	json_object_set_new(o, "offload", json_false());
	json_object_set_new(o, "programs", links);
	json_object_set_new(o, "maps", maps);
	json_object_set_new(o, "counters", counters);
	json_object_set_new(o, "peers", peers);
	json_object_set_new(o, "drops", drops);
	if (kbpf_map_usage(&a->k, "conntrack", &entries, &max) == 0)
		json_object_set_new(o, "conntrack", json_pack("{s:i, s:i}", "entries", entries,
							       "capacity", max));
	return o;
}
