#!/usr/bin/env python3
"""A static file server for dist/ on loopback, with the right MIME types for wasm and
modules and no caching (so a rebuild is seen at once). Nothing here is needed in
production: any static host serves dist/ as it is."""

import argparse
import functools
import http.server
import socketserver
import sys

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".npz": "application/octet-stream",
    ".npy": "application/octet-stream",
}


# The policy of index.html's <meta> tag, also sent as a header: a meta tag governs the page
# only, while the compute worker (which fetches ?data= addresses) takes its policy from the
# headers of its own script. Static hosts that let you set headers should send the same.
# `worker-src blob:`: rayon's pool starts its Web Workers from a blob copy of a same-origin
# script (wasm-bindgen-rayon).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
    "connect-src 'self' https:; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'self'; form-action 'none'"
)

# The benchmark page (not the app) also loads Embedding Atlas's UMAP, whose module fetches its
# WebAssembly from a data: address.
BENCH_POLICY = CONTENT_SECURITY_POLICY.replace("connect-src 'self' https:", "connect-src 'self' https: data:")


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", BENCH_POLICY if self.path.split("?")[0].endswith("/bench.html") else CONTENT_SECURITY_POLICY)
        # Cross-origin isolation, which wasm threads need (SharedArrayBuffer): without these
        # two headers the compute worker falls back to its single-threaded build.
        if self.server.isolation:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="dist")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--no-isolation", action="store_true",
                        help="omit the COOP/COEP headers, as most static hosts do (one compute thread)")
    args = parser.parse_args()
    handler = functools.partial(Handler, directory=args.root)
    with Server((args.host, args.port), handler) as server:
        server.verbose = args.verbose
        server.isolation = not args.no_isolation
        host, port = server.server_address[:2]
        print(f"Serving TopoAct at http://{host}:{port}/", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
