#!/usr/bin/env python3
"""bench/net/report.py META.tsv DATA.tsv: the markdown report of run.sh.

META: "key<TAB>value" lines, and "setup<TAB>S<TAB>NAME<TAB>up|down<TAB>MTU<TAB>WHY".
DATA: "ROUND<TAB>SETUP<TAB>METRIC<TAB>VALUE" lines.
"""
import math
import os
import statistics
import sys
from collections import defaultdict

METRICS = [  # key, column title, better
    ("tcp1", "TCP 1 stream (Gbit/s)", "higher"),
    ("tcp4", "TCP 4 streams (Gbit/s)", "higher"),
    ("udp64", "UDP 64 B (kpps rx)", "higher"),
    ("rtt", "ping RTT avg (ms)", "lower"),
    ("rttmin", "ping RTT min (ms)", "lower"),
    ("cpu", "tunnel CPU (s/GB)", "lower"),
]
WHAT = {
    "a": "plain veth/bridge underlay, no tunnel",
    "b": "capshim via caplab --no-logins (2-host policy bench/net/pair.json, both reach each other)",
    "c": "wireguard-go -f in each namespace, configured with wg + ip",
    "d": "nebula, CA + 2 certs, static host map, no lighthouse",
    "e": "capshim --bench-no-capability-check on both hosts",
    "f": "capshim --no-offload on both hosts",
    "g": "capshim --threads 1 on both hosts (b: one crypto thread per online CPU)",
    "h": "capshim --xdp ul0 on both hosts (the early-drop XDP program on each underlay veth)",
}
RATIOS = [  # title, numerator, denominator
    ("capshim / wireguard-go", "b", "c"),
    ("capshim / nebula", "b", "d"),
    ("capshim / veth", "b", "a"),
    ("capshim with check / without check", "b", "e"),
    ("capshim --no-offload / capshim", "f", "b"),
    ("capshim / capshim --threads 1", "b", "g"),
    ("capshim --xdp / capshim", "h", "b"),
]


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3f" % v


def main():
    meta, setups = {}, []
    for line in open(sys.argv[1]):
        f = line.rstrip("\n").split("\t")
        if f[0] == "setup":
            setups.append(dict(s=f[1], name=f[2], up=f[3] == "up", mtu=f[4],
                               why=f[5] if len(f) > 5 else ""))
        else:
            meta[f[0]] = f[1]
    # data[setup][metric][round] = value
    data = defaultdict(lambda: defaultdict(dict))
    rounds = set()
    for line in open(sys.argv[2]):
        f = line.rstrip("\n").split("\t")
        if len(f) != 4:
            continue
        try:
            v = float(f[3])
        except ValueError:
            continue
        if math.isnan(v):
            continue
        data[f[1]][f[2]][int(f[0])] = v
        rounds.add(int(f[0]))
    names = {x["s"]: x["name"] for x in setups}
    present = [x["s"] for x in setups]

    def med(s, m):
        vals = list(data[s][m].values())
        return statistics.median(vals) if vals else None

    out = []
    w = out.append
    w("# captun data plane vs. veth, wireguard-go and nebula")
    w("")
    w("Made by `bench/net/run.sh` (`make bench-net`). Medians over %s interleaved "
      "round(s); each round measures every setup once, in the order %s."
      % (meta.get("rounds", "?"), " ".join(present)))
    w("")
    for k, title in [("date", "Date"), ("kernel", "Kernel"), ("cpu", "CPU"),
                     ("runs", "Runs"), ("duration", "Full run took"),
                     ("load", "Load average"), ("captun", "captun"),
                     ("wireguard-go", "wireguard-go"),
                     ("wireguard-tools", "wireguard-tools (wg)"),
                     ("nebula", "nebula"), ("iperf3", "iperf3"),
                     ("iputils-ping", "iputils-ping")]:
        if k in meta:
            w("- %s: %s" % (title, meta[k]))
    w("")
    w("## Setups")
    w("")
    w("| | setup | what | overlay MTU | status |")
    w("| --- | --- | --- | --- | --- |")
    for x in setups:
        if x["up"]:
            status = "up" + (" (%s)" % x["why"] if x["why"] else "")
        else:
            status = "DOWN: " + x["why"]
        w("| %s | %s | %s | %s | %s |" % (x["s"], x["name"], WHAT.get(x["s"], ""),
                                         x["mtu"], status))
    w("")
    w("Underlay: a veth pair from each namespace to a bridge in a third namespace "
      "(caplab's topology), MTU 1500, 10.99.0.2 <-> 10.99.0.3. Overlay "
      "10.77.0.2 <-> 10.77.0.3. Traffic flows host1 -> host2 (iperf3 client in "
      "host1, one-off server in host2).")
    w("")
    w("## Medians per setup")
    w("")
    w("| setup | " + " | ".join(t for _, t, _ in METRICS) + " |")
    w("| --- |" + " ---: |" * len(METRICS))
    for s in present:
        w("| %s %s | " % (s, names[s]) + " | ".join(fmt(med(s, m)) for m, _, _ in METRICS) + " |")
    w("")
    w("## Ratios (median of the per-round ratios)")
    w("")
    w("| ratio | " + " | ".join(t for _, t, _ in METRICS) + " |")
    w("| --- |" + " ---: |" * len(METRICS))
    for title, num, den in RATIOS:
        if num not in present or den not in present:
            continue
        cells = []
        for m, _, _ in METRICS:
            rs = [data[num][m][r] / data[den][m][r] for r in sorted(rounds)
                  if r in data[num][m] and r in data[den][m] and data[den][m][r] != 0]
            cells.append(fmt(statistics.median(rs)) if rs else "n/a")
        w("| %s | " % title + " | ".join(cells) + " |")
    w("")
    w("Reading the ratios: for throughput and packet rate above 1 means the first "
      "setup is faster; for RTT and CPU per GB above 1 means the first setup is "
      "slower / costs more. veth has no tunnel daemon, so it has no CPU figure.")
    w("")
    w("## Spread across rounds (min .. max)")
    w("")
    w("| setup | " + " | ".join(t for _, t, _ in METRICS) + " |")
    w("| --- |" + " ---: |" * len(METRICS))
    for s in present:
        cells = []
        for m, _, _ in METRICS:
            vals = list(data[s][m].values())
            if not vals:
                cells.append("n/a")
            else:
                cells.append("%s .. %s (n=%d)" % (fmt(min(vals)), fmt(max(vals)), len(vals)))
        w("| %s %s | " % (s, names[s]) + " | ".join(cells) + " |")
    w("")
    w("## Per-round values")
    w("")
    rl = sorted(rounds)
    for m, title, _ in METRICS:
        w("%s:" % title)
        w("")
        w("| setup | " + " | ".join("round %d" % r for r in rl) + " |")
        w("| --- |" + " ---: |" * len(rl))
        for s in present:
            if not data[s][m]:
                continue
            w("| %s %s | " % (s, names[s]) +
              " | ".join(fmt(data[s][m].get(r)) for r in rl) + " |")
        w("")
    w("## Method")
    w("")
    w("- TCP: `iperf3 -c -t T -O 1` (and `-P 4`), receiver-side bits/s of the "
      "measured seconds.")
    w("- UDP: `iperf3 -u -l 64 -b 0 -t T -O 1`; packets/s received at the server "
      "= the server's received bytes / 64 over its non-omitted intervals (the "
      "sender floods; the rest is lost).")
    w("- RTT: `ping -c 50 -i 0.01 -q`, the avg of the summary line; min (from "
      "the same line) is added because on a busy machine a few scheduling "
      "delays of several ms dominate the avg.")
    w("- CPU: utime+stime (/proc/PID/stat, whole process, all threads) of the "
      "tunnel daemons on both ends, before and after the single-stream TCP run "
      "(omit second and connection set-up included), divided by the bytes the "
      "receiver's overlay device took in over the same span, in GB (1e9 B). "
      "Kernel work done in softirq on other tasks' time is not counted.")
    w("- Crypto: capshim and wireguard-go use ChaCha20-Poly1305; nebula uses the "
      "cipher named above (its default is AES-256-GCM).")
    w("- All setups stay up for the whole run; idle daemons of the other setups "
      "run meanwhile. The machine is shared, so absolute figures are noisy; "
      "the per-round ratios are the robust part.")
    aead = sys.argv[3] if len(sys.argv) > 3 else None
    if aead and os.path.exists(aead):
        w("")
        w("## The crypto alone")
        w("")
        w("`build/bench_aead`: ChaCha20-Poly1305 IETF seal and open in place with 20 "
          "bytes of AD, one thread, best of interleaved rounds: libsodium "
          "(crypto_aead_chacha20poly1305_ietf_*) against OpenSSL's libcrypto (EVP). "
          "capshim uses libcrypto from 256 bytes up and libsodium below (shim/aead.c).")
        w("")
        w("```")
        out.extend(l.rstrip("\n") for l in open(aead))
        w("```")
    print("\n".join(out))


main()
