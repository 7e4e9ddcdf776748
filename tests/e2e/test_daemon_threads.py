#!/usr/bin/python3
"""End-to-end: attestd's threading models under concurrency and shutdown.

For each --thread-model (per-connection, the default, and pool):
- many more connections than verification places (--workers 2): every
  request gets its own correct verdict (the submods are named after the
  request; the JWT verifies with jwcrypto); the load gauges in /metrics;
- SIGTERM while requests wait for a place (--workers 1): every request
  already received is still answered with its verdict, exit 0, and the
  drain logs nothing unfinished;
- --max-queue 1: requests beyond one waiting are answered 503 overloaded
  (JSON error), the others get verdicts;
- --drain-timeout-s 0 with requests waiting: attestd does not hang; it
  exits 0 promptly, and what it still answers is a verdict or a 503.
"""
import http.client
import json
import os
import signal
import sys
import threading
import time

import avd_harness as H

MODELS = ("per-connection", "pool")


def names_for(docs, tag):
    return ["%s-%d" % (tag, i) for i in range(len(docs))]


def body_for(docs, tag):
    """A composite request whose submods are named after tag."""
    return json.dumps({"policy": "e2e-nitro", "evidence": [
        {"type": "aws-nitro", "name": name, "data": H.b64(doc)}
        for name, doc in zip(names_for(docs, tag), docs)]})


def open_conns(d, n):
    """n keep-alive connections, each accepted (one GET /healthz)."""
    conns = []
    for _ in range(n):
        c = http.client.HTTPConnection("127.0.0.1", d.port,
                                       timeout=H.TIMEOUT)
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        conns.append(c)
    return conns


def metric(d, name):
    st, _, text = d.request("GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def check_verdict(t, d, jwks, status, data, names, what):
    """A 200 affirming verdict for this request (its submod names, in
    the response and in the JWT, which must verify with jwcrypto)."""
    if status != 200:
        t.check(False, what, "status %d: %r" % (status, data[:200]))
        return False
    r = json.loads(data)
    claims = H.verify_jwt(r["verdict"], jwks)
    ok = (r.get("status") == "affirming" and
          sorted(r.get("submods", {})) == sorted(names) and
          sorted(claims.get("submods", {})) == sorted(names))
    if not ok:
        t.check(False, what, "status %r submods %r" %
                (r.get("status"), sorted(claims.get("submods", {}))))
    return ok


def many_connections(t, tmp, nitro, pdir, model):
    docs = [nitro.doc() for _ in range(2)]
    d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                       "--thread-model", model, "--workers", "2"],
                 name="many-" + model).start()
    try:
        jwks = d.jwks()
        nconn, per = 24, 4
        errors = []
        lock = threading.Lock()

        def client(c, k):
            for j in range(per):
                tag = "c%d-r%d" % (k, j)
                try:
                    c.request("POST", "/v1/attest",
                              body=body_for(docs, tag),
                              headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    data = r.read()
                    res = (r.status, data, names_for(docs, tag))
                except Exception as e:  # noqa: BLE001
                    res = (0, repr(e).encode(), names_for(docs, tag))
                with lock:
                    errors.append(res)
            c.close()

        conns = open_conns(d, nconn)
        ths = [threading.Thread(target=client, args=(c, k))
               for k, c in enumerate(conns)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        good = sum(check_verdict(t, d, jwks, st, data, names,
                                 model + ": verdict per request")
                   for st, data, names in errors)
        t.eq(good, nconn * per, model + ": %d connections x %d requests "
             "with 2 verification places: every verdict correct" %
             (nconn, per))
        t.eq(metric(d, "attestd_verifications_running"), 0.0,
             model + ": metrics: nothing running after the load")
        t.eq(metric(d, "attestd_verifications_waiting"), 0.0,
             model + ": metrics: nothing waiting after the load")
        t.check((metric(d, "attestd_http_connections") or 0) >= 1,
                model + ": metrics: open connections gauge")
        want = ('"threads":"per-connection"' if model == "per-connection"
                else '"workers":"2"')
        t.check(want in d.log_text(), model + ": listening line names "
                "the model")
    finally:
        t.eq(d.stop(), 0, model + ": exit 0")


def send_all(conns, bodies):
    for c, b in zip(conns, bodies):
        c.request("POST", "/v1/attest", body=b,
                  headers={"Content-Type": "application/json"})


def read_all(conns):
    out = []
    for c in conns:
        try:
            r = c.getresponse()
            out.append((r.status, r.read()))
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            out.append((0, repr(e).encode()))
        c.close()
    return out


def one_place(tmp, nitro, pdir, model, name, flags):
    """A daemon with one verification place (and flags), 8 documents."""
    docs = [nitro.doc() for _ in range(8)]
    d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                       "--thread-model", model, "--workers", "1"] + flags,
                 name=name + "-" + model).start()
    return d, docs


def burst(d, docs, n):
    """n connections, each sends one request at once; returns tags, conns."""
    tags = ["q%d" % k for k in range(n)]
    conns = open_conns(d, n)
    send_all(conns, [body_for(docs, x) for x in tags])
    return tags, conns


def drain_in_flight(t, tmp, nitro, pdir, model):
    d, docs = one_place(tmp, nitro, pdir, model, "drain",
                        ["--drain-timeout-s", "120"])
    try:
        jwks = d.jwks()
        n = 16
        tags, conns = burst(d, docs, n)
        time.sleep(0.05)
        waiting = metric(d, "attestd_verifications_waiting")
        t0 = time.time()
        d.signal(signal.SIGTERM)
        res = read_all(conns)
        good = sum(check_verdict(t, d, jwks, st, data, names_for(docs, x),
                                 model + ": drained request answered")
                   for (st, data), x in zip(res, tags))
        print("note: %s: %s waiting at SIGTERM, all answered in %.2f s" %
              (model, waiting, time.time() - t0))
        t.eq(good, n, model + ": SIGTERM with %d requests in flight: "
             "every one answered with its verdict" % n)
        rc = d.proc.wait(H.TIMEOUT)
        t.eq(rc, 0, model + ": exit 0 after the drain")
        t.check('"event":"drained","unfinished":"0"' in d.log_text(),
                model + ": drain logged with nothing unfinished")
    finally:
        d.stop()


def overloaded(t, tmp, nitro, pdir, model):
    d, docs = one_place(tmp, nitro, pdir, model, "queue",
                        ["--max-queue", "1"])
    try:
        jwks = d.jwks()
        tags, conns = burst(d, docs, 12)
        res = read_all(conns)
        ok = busy = other = 0
        for (st, data), x in zip(res, tags):
            if st == 503 and json.loads(data)["error"]["code"] == \
                    "overloaded":
                busy += 1
            elif check_verdict(t, d, jwks, st, data, names_for(docs, x),
                               model + ": verdict or 503"):
                ok += 1
            else:
                other += 1
        print("note: %s: --max-queue 1: %d verdicts, %d overloaded" %
              (model, ok, busy))
        # At least the first gets a place (the pool's queue of one may be
        # full again before a worker takes the first request from it).
        t.check(ok >= 1 and busy >= 1 and other == 0,
                model + ": --max-queue 1: 503 overloaded beyond it, "
                "verdicts otherwise", "ok %d busy %d other %d" %
                (ok, busy, other))
    finally:
        t.eq(d.stop(), 0, model + ": exit 0")


def drain_timeout(t, tmp, nitro, pdir, model):
    d, docs = one_place(tmp, nitro, pdir, model, "cut",
                        ["--drain-timeout-s", "0"])
    try:
        jwks = d.jwks()
        tags, conns = burst(d, docs, 16)
        time.sleep(0.05)
        t0 = time.time()
        d.signal(signal.SIGTERM)
        res = read_all(conns)
        rc = d.proc.wait(H.TIMEOUT)
        dt = time.time() - t0
        ok = busy = closed = 0
        for (st, data), x in zip(res, tags):
            if st == 0:
                closed += 1
            elif st == 503 and json.loads(data)["error"]["code"] == \
                    "shutting_down":
                busy += 1
            elif check_verdict(t, d, jwks, st, data, names_for(docs, x),
                               model + ": cut drain: verdict, 503 or "
                               "closed"):
                ok += 1
        print("note: %s: --drain-timeout-s 0: %d verdicts, %d 503, %d "
              "closed, exit after %.2f s" % (model, ok, busy, closed, dt))
        t.eq(rc, 0, model + ": --drain-timeout-s 0 with requests waiting: "
             "exit 0")
        t.check(dt < H.TIMEOUT / 2, model + ": no hang at shutdown",
                "%.1f s" % dt)
    finally:
        d.stop()


def main():
    H.require_tools()
    t = H.Failures()
    with H.tmpdir("av-e2e-threads-") as tmp:
        nitro = H.Nitro(tmp)
        pdir = os.path.join(tmp, "policies")
        H.write_policy(pdir, H.nitro_policy("e2e-nitro"))
        for model in MODELS:
            many_connections(t, tmp, nitro, pdir, model)
            drain_in_flight(t, tmp, nitro, pdir, model)
            overloaded(t, tmp, nitro, pdir, model)
            drain_timeout(t, tmp, nitro, pdir, model)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
