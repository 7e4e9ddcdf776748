#!/usr/bin/python3
"""Local stand-in for vendor collateral services in tests.

Serves files at the URL paths of AMD KDS, Intel PCS/PCCS, the NVIDIA RIM
service or an OCSP responder, so the verifier's fetch code can be tested
without a network.  Standard library only; runs under /usr/bin/python3.

    mock_vendor_server.py [--root DIR] [--routes FILE] [--bind ADDR]
                          [--port N] [--max-lifetime S] [--verbose]

It binds 127.0.0.1 (port 0 = any free port) and prints the port alone on
the first line of stdout, then serves until killed, until its parent
process exits, or after --max-lifetime seconds (default 900).

Where responses come from (first match wins):

1. A route, from --routes FILE (re-read when the file changes) or added at
   run time with POST /__routes.  Routes are keyed by "path?query" (exact)
   or by "path" (any query):

     {"routes": {
        "/vcek/v1/Milan/cert_chain": {"file": "milan/cert_chain.pem"},
        "/tdx/certification/v4/tcb?fmspc=00806F050000": {
            "file": "tcb_info.json",
            "headers": {"TCB-Info-Issuer-Chain":
                        {"file": "tcb_chain.pem", "urlencode": true}}},
        "/slow": {"body": "late", "delay_ms": 500},
        "/limited": {"status": 429, "headers": {"Retry-After": "30"}},
        "/flaky": {"sequence": [{"status": 503}, {"body": "ok"}]},
        "/ocsp": {"method": "POST", "file": "ocsp.der"},
        "/gone": {"drop": true}},
      "default": {"status": 404}}

   A response has: "status" (200), "file" (relative to the route file's
   folder, else --root) or "body" (text) or "body_b64", "headers" (values
   are strings, or {"file": F, "urlencode": true} for Intel-style issuer
   chains: URL-encoded PEM), "content_type", "delay_ms" (before
   answering), "drop" (close without answering), "method" ("GET",
   "POST" or "ANY", the default).  "sequence" gives the n-th request the
   n-th response (the last one repeats).

2. A file under --root at the URL path: first ROOT/path?query (the query
   verbatim, as one file name), then ROOT/path.  A sidecar file
   ROOT/path.headers.json adds headers, as in routes.

3. Otherwise "default" from the route file, else 404.

Control endpoints (never counted):
  GET  /__stats   {"total": N, "requests": {"/p?q": n}, "paths": {"/p": n},
                   "last_body_b64": {"/p?q": "..."}}  (POST bodies)
  POST /__reset   zero the counters and sequences
  POST /__routes  merge {"routes": {...}, "default": {...}} into the routes
"""

import argparse
import base64
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTENT_TYPES = {
    ".json": "application/json",
    ".pem": "application/x-pem-file",
    ".crt": "application/pkix-cert",
    ".cer": "application/pkix-cert",
    ".der": "application/pkix-cert",
    ".crl": "application/pkix-crl",
    ".xml": "application/xml",
    ".swidtag": "application/xml",
}

MAX_BODY = 16 * 1024 * 1024


class State:
    """Everything shared between request threads, behind one lock."""

    def __init__(self, root, routes_file):
        self.lock = threading.Lock()
        self.root = os.path.realpath(root) if root else None
        self.routes_file = routes_file
        self.routes_mtime = None
        self.file_routes = {}
        self.file_default = None
        self.run_routes = {}
        self.run_default = None
        self.base = os.path.dirname(os.path.realpath(routes_file)) \
            if routes_file else self.root
        self.reset()

    def reset(self):
        self.total = 0
        self.requests = {}
        self.paths = {}
        self.seq = {}
        self.last_body = {}

    def reload(self):
        if not self.routes_file:
            return
        try:
            mtime = os.stat(self.routes_file).st_mtime_ns
        except OSError:
            return
        if mtime == self.routes_mtime:
            return
        with open(self.routes_file, "rb") as f:
            doc = json.load(f)
        self.file_routes = doc.get("routes", {})
        self.file_default = doc.get("default")
        self.routes_mtime = mtime

    def route(self, target, path):
        for table in (self.run_routes, self.file_routes):
            if target in table:
                return target, table[target]
        for table in (self.run_routes, self.file_routes):
            if path in table:
                return path, table[path]
        return None, None


def resolve(base, root, name):
    """A file named in a route: relative to the route file, else root."""
    if os.path.isabs(name):
        return name
    for d in (base, root):
        if d:
            p = os.path.join(d, name)
            if os.path.exists(p):
                return p
    return os.path.join(base or root or ".", name)


def under_root(root, rel):
    """ROOT/rel if it stays inside root and is a file, else None."""
    if not root:
        return None
    p = os.path.realpath(os.path.join(root, rel.lstrip("/")))
    if p != root and not p.startswith(root + os.sep):
        return None
    return p if os.path.isfile(p) else None


def header_value(state, v):
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "file" in v:
        with open(resolve(state.base, state.root, v["file"]), "rb") as f:
            text = f.read().decode("utf-8")
        if v.get("urlencode"):
            return urllib.parse.quote(text, safe="")
        return text
    return str(v)


class Handler(BaseHTTPRequestHandler):
    server_version = "mock-vendor/1"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock_vendor_server: " + (fmt % args) + "\n")

    # -- control -----------------------------------------------------------
    def control(self, method, path):
        st = self.server.state
        if method == "GET" and path == "/__stats":
            with st.lock:
                doc = {"total": st.total, "requests": dict(st.requests),
                       "paths": dict(st.paths),
                       "last_body_b64": dict(st.last_body)}
            return self.send_json(200, doc)
        if method == "POST" and path == "/__reset":
            with st.lock:
                st.reset()
            return self.send_json(200, {"ok": True})
        if method == "POST" and path == "/__routes":
            try:
                doc = json.loads(self.read_body() or b"{}")
            except ValueError:
                return self.send_json(400, {"error": "bad JSON"})
            with st.lock:
                st.run_routes.update(doc.get("routes", {}))
                if "default" in doc:
                    st.run_default = doc["default"]
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": "unknown control endpoint"})

    def send_json(self, status, doc):
        body = json.dumps(doc, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            return b""
        return self.rfile.read(n) if n else b""

    # -- vendor paths ------------------------------------------------------
    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, url.query
        target = path + ("?" + query if query else "")
        if path.startswith("/__"):
            return self.control(method, path)
        body_in = self.read_body() if method == "POST" else b""
        st = self.server.state
        with st.lock:
            try:
                st.reload()
            except (OSError, ValueError) as exc:
                sys.stderr.write("mock_vendor_server: routes: %s\n" % exc)
            st.total += 1
            st.requests[target] = st.requests.get(target, 0) + 1
            st.paths[path] = st.paths.get(path, 0) + 1
            if body_in:
                st.last_body[target] = base64.b64encode(body_in).decode()
            key, resp = st.route(target, path)
            if resp is not None and "sequence" in resp:
                n = st.seq.get(key, 0)
                st.seq[key] = n + 1
                seq = resp["sequence"]
                resp = seq[min(n, len(seq) - 1)] if seq else {}
            default = st.run_default or st.file_default
        if resp is not None:
            m = resp.get("method", "ANY").upper()
            if m != "ANY" and m != method:
                return self.send_plain(405, b"method not allowed\n")
            return self.answer(resp)
        fpath = under_root(st.root, target) if query else None
        fpath = fpath or under_root(st.root, path)
        if fpath is not None:
            resp = {"file": fpath}
            side = fpath + ".headers.json"
            if os.path.isfile(side):
                with open(side, "rb") as f:
                    resp["headers"] = json.load(f)
            return self.answer(resp)
        return self.answer(default or {"status": 404, "body": "not found\n"})

    def answer(self, resp):
        st = self.server.state
        delay = resp.get("delay_ms", 0)
        if delay:
            time.sleep(delay / 1000.0)
        if resp.get("drop"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = int(resp.get("status", 200))
        ctype = resp.get("content_type")
        try:
            if "file" in resp:
                name = resolve(st.base, st.root, resp["file"])
                with open(name, "rb") as f:
                    body = f.read()
                ext = os.path.splitext(name)[1].lower()
                ctype = ctype or CONTENT_TYPES.get(ext)
            elif "body_b64" in resp:
                body = base64.b64decode(resp["body_b64"])
            else:
                body = str(resp.get("body", "")).encode()
            hdrs = [(k, header_value(st, v))
                    for k, v in resp.get("headers", {}).items()]
        except (OSError, ValueError) as exc:
            sys.stderr.write("mock_vendor_server: %s\n" % exc)
            return self.send_plain(500, b"mock: bad route\n")
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for k, v in hdrs:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_plain(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def guarded(self, method):
        try:
            self.handle_any(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up: fine

    def do_GET(self):
        self.guarded("GET")

    def do_POST(self):
        self.guarded("POST")

    def do_HEAD(self):
        self.send_plain(405, b"")


def watchdog(parent, deadline):
    """Exit when the parent is gone or the lifetime is over."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent or time.monotonic() > deadline:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", help="folder served at the URL paths")
    ap.add_argument("--routes", help="JSON route file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-lifetime", type=float, default=900.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if not args.root and not args.routes:
        ap.error("give --root, --routes or both")

    state = State(args.root, args.routes)
    state.reload()
    srv = ThreadingHTTPServer((args.bind, args.port), Handler)
    srv.daemon_threads = True
    srv.state = state
    srv.verbose = args.verbose
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    threading.Thread(target=watchdog, daemon=True,
                     args=(os.getppid(),
                           time.monotonic() + args.max_lifetime)).start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
