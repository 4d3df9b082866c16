#!/usr/bin/env python3
"""caplab's web server: serves DIR on port 80 of the given addresses only.

usage: www.py DIR ADDR...

A lab host's servers listen on its overlay addresses alone (never the
underlay, which only the tunnel may use): one listening socket per
address. IP_FREEBIND lets it bind an IPv6 address still in duplicate
address detection.
"""
import functools
import http.server
import socket
import sys
import threading

IP_FREEBIND = 15            # linux/in.h; also honoured on IPv6 sockets


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: www.py DIR ADDR...")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
    servers = []
    for addr in sys.argv[2:]:
        cls = type("S", (Server,), {"address_family": socket.AF_INET6 if ":" in addr
                                    else socket.AF_INET})
        servers.append(cls((addr, 80), handler))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers[1:]]
    for t in threads:
        t.start()
    servers[0].serve_forever()


main()
