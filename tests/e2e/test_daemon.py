#!/usr/bin/python3
"""End-to-end: attestd as a production daemon.

Challenge -> attest -> verdict (checked with jwcrypto), nonce reuse (409),
expiry (410), mismatch and --require-issued-nonce; runtime_data binding
(user_data = SHA-512(nonce || runtime_data)); composite requests; CMW
and raw media-type envelopes; 400/401/404/409/413/415/429 with JSON
errors; connection limits; SIGHUP and admin reload with a broken policy
keeping the old set; key rotation and ES384/EdDSA keys; metrics, readyz,
the access log; --check-config; TLS; and a short bounded concurrent load
over loopback with zero errors.
"""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import http.client

import avd_harness as H

TOKEN = "e2e-admin-token-" + os.urandom(8).hex()


def token_file(tmp):
    path = os.path.join(tmp, "admin-tokens")
    with open(path, "w") as f:
        f.write("# name sha256 tenant\n")
        f.write("ops %s\n" % hashlib.sha256(TOKEN.encode()).hexdigest())
    os.chmod(path, 0o600)
    return path


def auth():
    return {"Authorization": "Bearer " + TOKEN}


def err_code(doc):
    return (doc or {}).get("error", {}).get("code")


def challenge_flow(t, d, nitro):
    st, ch = d.json("POST", "/v1/challenge")
    t.eq(st, 201, "challenge: 201")
    nonce = H.unb64url(ch["nonce"])
    t.eq(len(nonce), 32, "challenge: 32 bytes")
    t.check(ch["expires_at"].endswith("Z"), "challenge: RFC 3339 expiry")
    doc = nitro.doc("--nonce", nonce.hex())
    st, r = d.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, r.get("status")), (200, "affirming"), "challenge -> attest")
    claims = H.verify_jwt(r["verdict"], d.jwks())
    t.eq(claims.get("eat_nonce"), ch["nonce"], "verdict eat_nonce")
    st, r = d.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, err_code(r)), (409, "nonce_used"), "nonce reuse: 409")
    # A document carrying another nonce than the challenge's.
    st, ch = d.json("POST", "/v1/challenge")
    doc = nitro.doc("--nonce", os.urandom(32).hex())
    st, r = d.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, r.get("status")), (200, "contraindicated"), "nonce mismatch")
    t.check("nonce_mismatch" in H.reason_codes(r), "nonce mismatch: reason")
    # Raw evidence with the nonce in the query.
    st, ch = d.json("POST", "/v1/challenge")
    doc = nitro.doc("--nonce", H.unb64url(ch["nonce"]).hex())
    st, r = d.json("POST", "/v1/attest?policy=e2e-nonce&nonce=" + ch["nonce"],
                   doc, ctype="application/vnd.attestd.aws-nitro")
    t.eq((st, r.get("status")), (200, "affirming"), "raw media type + nonce")
    # CMW collection.
    st, ch = d.json("POST", "/v1/challenge")
    doc = nitro.doc("--nonce", H.unb64url(ch["nonce"]).hex())
    cmw = {"__cmwc_t": "tag:attestd.dev,2026:test",
           "enclave": ["application/vnd.attestd.aws-nitro", H.b64url(doc)]}
    st, r = d.json("POST", "/v1/attest?policy=e2e-nonce&nonce=" + ch["nonce"],
                   json.dumps(cmw).encode(), ctype="application/cmw+json")
    t.eq((st, r.get("status")), (200, "affirming"), "CMW collection")
    t.eq(list(r.get("submods", {})), ["enclave"], "CMW label is the submod")
    st, r = d.json("POST", "/v1/attest", json.dumps(
        {"x": ["application/vnd.example.unknown", "AA"]}).encode(),
        ctype="application/cmw+json")
    t.eq((st, err_code(r)), (400, "unknown_evidence_type"),
         "CMW unknown media type: 400")
    st, r = d.json("POST", "/v1/attest", b"\x84\x40", ctype="application/vnd.attestd.nope")
    t.eq((st, err_code(r)), (415, "unsupported_media_type"),
         "raw unknown media type: 415")


def binding(t, d, nitro):
    """runtime_data bound by user_data = SHA-512(nonce || runtime_data)."""
    st, ch = d.json("POST", "/v1/challenge")
    nonce = H.unb64url(ch["nonce"])
    rd = b"\x04" + os.urandom(64)          # e.g. the workload's EC key
    ud = hashlib.sha512(nonce + rd).digest()
    doc = nitro.doc("--user-data", ud.hex())
    st, r = d.json("POST", "/v1/attest", H.attest_body(
        doc, "e2e-nonce", nonce=ch["nonce"], runtime_data=rd))
    t.eq((st, r.get("status")), (200, "affirming"), "runtime_data bound")
    t.eq(r["submods"]["cpu"]["claims"].get("binding"),
         "sha512(nonce||runtime_data)", "binding claim")
    claims = H.verify_jwt(r["verdict"], d.jwks())
    ka = claims["submods"]["cpu"].get("ear.veraison.key-attestation")
    t.eq(ka, {"akpub": H.b64url(rd)},
         "runtime_data in ear.veraison.key-attestation")
    t.eq(claims.get("eat_nonce"), ch["nonce"], "binding: eat_nonce")
    # user_data made for other runtime data: binding_mismatch.
    st, ch = d.json("POST", "/v1/challenge")
    nonce = H.unb64url(ch["nonce"])
    doc = nitro.doc("--user-data",
                    hashlib.sha512(nonce + b"other").hexdigest())
    st, r = d.json("POST", "/v1/attest", H.attest_body(
        doc, "e2e-nonce", nonce=ch["nonce"], runtime_data=rd))
    t.eq((st, r.get("status")), (200, "contraindicated"),
         "runtime_data not bound")
    t.check("binding_mismatch" in H.reason_codes(r),
            "binding_mismatch reason", "got %r" % H.reason_codes(r))


def composite(t, d, nitro):
    good, bad = nitro.doc(), nitro.doc("--corrupt-sig")
    body = {"policy": "e2e-nitro", "evidence": [
        {"type": "aws-nitro", "name": "enclave-a", "data": H.b64(good)},
        {"type": "aws-nitro", "name": "enclave-b", "data": H.b64(bad)}]}
    st, r = d.json("POST", "/v1/attest", body)
    t.eq((st, r.get("status")), (200, "contraindicated"),
         "composite: overall is the worst")
    t.eq(r["submods"]["enclave-a"]["status"], "affirming", "composite: a passes")
    t.eq(r["submods"]["enclave-b"]["status"], "contraindicated",
         "composite: b fails")
    claims = H.verify_jwt(r["verdict"], d.jwks())
    t.eq(sorted(claims["submods"]), ["enclave-a", "enclave-b"],
         "composite: both submods in the JWT")


def expiry(t, tmp, nitro, pdir):
    d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                       "--nonce-ttl-s", "1", "--require-issued-nonce"],
                 name="expiry").start()
    try:
        st, ch = d.json("POST", "/v1/challenge")
        t.eq(ch.get("expires_in"), 1, "nonce ttl 1 s")
        doc = nitro.doc("--nonce", H.unb64url(ch["nonce"]).hex())
        time.sleep(2.2)
        st, r = d.json("POST", "/v1/attest",
                       H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
        t.eq((st, err_code(r)), (410, "nonce_expired"), "expired nonce: 410")
        st, r = d.json("POST", "/v1/attest",
                       H.attest_body(doc, "e2e-nonce", nonce=os.urandom(32)))
        t.eq((st, err_code(r)), (400, "nonce_unknown"),
             "--require-issued-nonce: unknown nonce 400")
        st, r = d.json("POST", "/v1/attest", H.attest_body(doc, "e2e-nitro"))
        t.eq((st, err_code(r)), (400, "nonce_required"),
             "--require-issued-nonce: no nonce 400")
    finally:
        d.stop()


def admin_and_reload(t, d, tmp, pdir, nitro):
    st, r = d.json("POST", "/v1/admin/reload")
    t.eq((st, err_code(r)), (401, "unauthorized"), "reload without token: 401")
    st, r = d.json("POST", "/v1/admin/reload",
                   headers={"Authorization": "Bearer wrong"})
    t.eq((st, err_code(r)), (401, "unauthorized"), "reload wrong token: 401")
    st, r = d.json("GET", "/v1/policies", headers=auth())
    t.eq(st, 200, "GET /v1/policies")
    t.eq(sorted(p["id"] for p in r["policies"]),
         ["e2e-nitro", "e2e-nonce"], "policies listed")
    st, r = d.json("GET", "/v1/policies/e2e-nitro", headers=auth())
    t.eq((st, r.get("ref")), (200, "e2e-nitro@1"), "GET /v1/policies/{id}")
    good = nitro.doc()
    # A broken policy file: SIGHUP keeps the old set.
    bad = os.path.join(pdir, "zz-broken.json")
    with open(bad, "w") as f:
        f.write('{"id": "broken", "version": 1, "evidence": {"aws-nitro": '
                '{"pcr0": "xyz"}}}')
    d.signal(signal.SIGHUP)
    deadline = time.time() + H.TIMEOUT
    while "reload_failed" not in d.log_text() and time.time() < deadline:
        time.sleep(0.05)
    t.check("reload_failed" in d.log_text(), "SIGHUP with a broken policy: "
            "reload_failed logged")
    t.check("zz-broken.json" in d.log_text(), "the log names the bad file")
    st, r = d.json("POST", "/v1/attest", H.attest_body(good, "e2e-nitro"))
    t.eq((st, r.get("status")), (200, "affirming"),
         "old policy set still serving")
    st, r = d.json("POST", "/v1/admin/reload", headers=auth())
    t.eq((st, err_code(r)), (422, "config_invalid"),
         "admin reload with a broken policy: 422")
    st, r = d.json("POST", "/v1/attest", H.attest_body(good, "broken"))
    t.eq(st, 404, "broken policy never loaded")
    # Fix it and bump e2e-nitro to version 2: reload picks both up.
    os.unlink(bad)
    H.write_policy(pdir, H.nitro_policy("e2e-nitro", version=2))
    st, r = d.json("POST", "/v1/admin/reload", headers=auth())
    t.eq((st, r.get("status")), (200, "reloaded"), "admin reload: 200")
    st, r = d.json("POST", "/v1/attest", H.attest_body(good, "e2e-nitro"))
    t.eq(r.get("policy"), "e2e-nitro@2", "new policy version in force")
    claims = H.verify_jwt(r["verdict"], d.jwks())
    t.eq(claims["submods"]["cpu"].get("ear.appraisal-policy-id"),
         "e2e-nitro@2", "JWT names the new version")

    # Key rotation: the old key stays in the JWKS.
    old_token = r["verdict"]
    old_kid = H.jwt_header(old_token)["kid"]
    st, r = d.json("POST", "/v1/admin/rotate-key", headers=auth())
    t.eq((st, r.get("retired_kid")), (200, old_kid), "rotate-key: 200")
    jwks = json.loads(d.jwks())
    kids = [k["kid"] for k in jwks["keys"]]
    t.eq(kids, [r["kid"], old_kid], "JWKS: new key first, old key kept")
    for k in jwks["keys"]:
        t.eq(H.jwk.JWK(**k).thumbprint(), k["kid"],
             "kid %s is the RFC 7638 thumbprint" % k["kid"][:8])
    H.verify_jwt(old_token, d.jwks())
    t.check(True, "a verdict signed before rotation still verifies")
    st, r2 = d.json("POST", "/v1/attest", H.attest_body(good, "e2e-nitro"))
    t.eq(H.jwt_header(r2["verdict"])["kid"], r["kid"],
         "new verdicts use the new key")
    H.verify_jwt(r2["verdict"], d.jwks())


def limits(t, tmp, nitro, pdir):
    d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                       "--rate-per-ip", "5", "--max-conns-per-ip", "3",
                       "--max-body", "65536", "--conn-timeout-s", "2"],
                 name="limits").start()
    try:
        codes = []
        for _ in range(30):
            st, r = d.json("GET", "/healthz")
            codes.append(st)
            if st == 429:
                t.eq(err_code(r), "rate_limited", "429 body is a JSON error")
                break
        t.check(429 in codes, "rate limit: 429 after the burst",
                "codes %r" % codes)
        time.sleep(1.0)  # refill
        st, _ = d.json("GET", "/healthz")
        t.eq(st, 200, "rate limit refills")
        # Per-address connection limit: of six connections opened at
        # once, at most three are served (which ones depends on the order
        # the server accepts them).
        time.sleep(1.0)  # refill the rate limit
        conns = [http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
                 for _ in range(6)]
        for c in conns:
            c.connect()
        time.sleep(0.5)
        served = 0
        for c in conns:
            try:
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    served += 1
            except (ConnectionError, http.client.HTTPException, OSError):
                pass
        for c in conns:
            c.close()
        t.check(1 <= served <= 3, "connections over --max-conns-per-ip "
                "refused", "served %d of 6" % served)
        time.sleep(1.2)
        st, r = d.json("POST", "/v1/attest", b"x" * 70000,
                       ctype="application/json")
        t.eq((st, err_code(r)), (413, "body_too_large"), "413 with small cap")
        # An idle connection is closed after --conn-timeout-s.
        sk = socket.create_connection(("127.0.0.1", d.port), 10)
        sk.settimeout(15)
        t0 = time.time()
        try:
            closed = sk.recv(1) == b""
        except OSError:
            closed = True
        sk.close()
        t.check(closed and 1.5 <= time.time() - t0 < 12,
                "idle connection closed after --conn-timeout-s",
                "after %.1f s" % (time.time() - t0))
        # A request head over --max-header (32 KiB): libmicrohttpd's 431.
        st, _, _ = d.request("GET", "/healthz",
                             headers={"X-Big": "a" * 40000})
        t.eq(st, 431, "request head over --max-header: 431")
    finally:
        d.stop()


def algorithms(t, tmp, nitro, pdir):
    for alg, want in (("ES384", "ES384"), ("EdDSA", "EdDSA")):
        d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                           "--key-alg", alg], name="alg-" + alg).start()
        try:
            st, r = d.json("POST", "/v1/attest",
                           H.attest_body(nitro.doc(), "e2e-nitro"))
            t.eq(H.jwt_header(r["verdict"])["alg"], want, alg + ": JWT alg")
            claims = H.verify_jwt(r["verdict"], d.jwks())
            t.eq(claims["submods"]["cpu"]["ear.status"], "affirming",
                 alg + ": verdict verifies with jwcrypto")
        finally:
            d.stop()


def tls(t, tmp, nitro, pdir):
    cert = os.path.join(tmp, "tls-cert.pem")
    key = os.path.join(tmp, "tls-key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True)
    if p.returncode != 0:
        print("note: TLS test skipped: openssl req failed")
        return
    d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                       "--tls-cert", cert, "--tls-key", key],
                 name="tls").start()
    try:
        ctx = ssl.create_default_context(cafile=cert)
        c = http.client.HTTPSConnection("127.0.0.1", d.port, context=ctx,
                                        timeout=H.TIMEOUT)
        body = json.dumps(H.attest_body(nitro.doc(), "e2e-nitro"))
        c.request("POST", "/v1/attest", body=body,
                  headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        r = json.loads(resp.read())
        c.close()
        t.eq((resp.status, r.get("status")), (200, "affirming"),
             "HTTPS: attest")
        t.check('"scheme":"https"' in d.log_text(), "HTTPS: logged scheme")
    finally:
        d.stop()


def load(t, d, nitro):
    doc = nitro.doc()
    body = json.dumps(H.attest_body(doc, "e2e-nitro")).encode()
    results = []
    lock = threading.Lock()

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=H.TIMEOUT)
        ok = bad = 0
        for _ in range(40):
            try:
                c.request("POST", "/v1/attest", body=body,
                          headers={"Content-Type": "application/json"})
                resp = c.getresponse()
                r = json.loads(resp.read())
                if resp.status == 200 and r.get("status") == "affirming":
                    ok += 1
                else:
                    bad += 1
            except Exception:  # noqa: BLE001
                bad += 1
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", d.port,
                                               timeout=H.TIMEOUT)
        c.close()
        with lock:
            results.append((ok, bad))

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    dt = time.time() - t0
    ok = sum(r[0] for r in results)
    bad = sum(r[1] for r in results)
    print("note: load: %d verdicts in %.2f s (%.0f/s), 8 clients" %
          (ok, dt, ok / dt if dt else 0))
    t.eq((ok, bad), (320, 0), "concurrent load: 320 verdicts, zero errors")


def observability(t, d, good):
    st, r = d.json("GET", "/readyz")
    t.eq((st, r.get("status")), (200, "ready"), "readyz")
    st, _, text = d.request("GET", "/metrics")
    text = text.decode()
    t.eq(st, 200, "metrics: 200")
    for needle in ('attestd_http_requests_total{route="attest",code="200"}',
                   'attestd_verdicts_total{platform="aws-nitro",'
                   'status="affirming"}',
                   "attestd_verification_seconds_bucket{le=\"+Inf\"}",
                   "attestd_verification_seconds_count",
                   "attestd_chain_cache_hits_total",
                   "attestd_nonces_outstanding",
'attestd_reloads_total{result="failed"} ',
                   'attestd_http_requests_total{route="attest",code="409"} 1'):
        t.check(needle in text, "metrics: " + needle)
    failed = [l for l in text.splitlines()
              if l.startswith('attestd_reloads_total{result="failed"} ')]
    # SIGHUP and the admin API (the policy directory watcher may add more).
    t.check(failed and int(failed[0].split()[1]) >= 2,
            "metrics: failed reloads counted", repr(failed))
    hits = [l for l in text.splitlines()
            if l.startswith("attestd_chain_cache_hits_total ")]
    t.check(hits and int(hits[0].split()[1]) > 0, "chain cache hits > 0")
    log = d.log_text()
    lines = [json.loads(l) for l in log.splitlines()
             if l.startswith("{") and '"event":"request"' in l]
    t.check(len(lines) > 20, "access log: one JSON line per request")
    t.check(all({"method", "path", "status", "ms", "remote"} <= set(l)
                for l in lines), "access log lines have the fields")
    t.check(H.b64(good)[:40] not in log and TOKEN not in log,
            "access log holds no evidence and no token")


def check_config(t, tmp, pdir, nitro):
    cfg = os.path.join(tmp, "attestd.json")
    with open(cfg, "w") as f:
        json.dump({"$comment": "e2e", "policies": pdir,
                   "trust_dir": nitro.trust,
                   "state_dir": os.path.join(tmp, "cc-state"),
                   "max_body": 100000, "listen": "127.0.0.1:0"}, f)
    p = subprocess.run([H.ATTESTD, "--config", cfg, "--check-config",
                        "--max-body", "200000"], capture_output=True,
                       text=True)
    t.eq(p.returncode, 0, "--check-config valid: exit 0")
    out = json.loads(p.stdout)
    t.eq(out["settings"]["max_body"], 200000, "command line beats the file")
    t.eq(out["settings"]["trust_dir"], nitro.trust, "file setting applied")
    t.check("e2e-nitro@2" in out["policies"], "--check-config lists policies")
    with open(cfg, "w") as f:
        json.dump({"policies": pdir, "no_such_setting": 1}, f)
    p = subprocess.run([H.ATTESTD, "--config", cfg, "--check-config"],
                       capture_output=True, text=True)
    t.eq(p.returncode, 64, "--check-config unknown setting: exit 64")
    t.check("no_such_setting" in p.stderr, "names the unknown setting")
    bad = os.path.join(tmp, "bad-policies")
    os.makedirs(bad)
    with open(os.path.join(bad, "x.json"), "w") as f:
        f.write('{"id": "x", "version": 1, "evidence": {"aws-nitro": '
                '{"pcr0": "00"}}}')
    p = subprocess.run([H.ATTESTD, "--policies", bad, "--state-dir",
                        os.path.join(tmp, "cc-state"), "--check-config"],
                       capture_output=True, text=True)
    t.eq(p.returncode, 78, "--check-config bad policy: exit 78")
    t.check("x.json" in p.stderr and "evidence.aws-nitro.pcr0" in p.stderr,
            "bad policy: file and path logged")


def main():
    H.require_tools()
    t = H.Failures()
    with H.tmpdir("av-e2e-daemon-") as tmp:
        nitro = H.Nitro(tmp)
        pdir = os.path.join(tmp, "policies")
        H.write_policy(pdir, H.nitro_policy("e2e-nitro"))
        H.write_policy(pdir, H.nitro_policy("e2e-nonce", nonce="required"))
        with H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                            "--admin-tokens", token_file(tmp)]) as d:
            challenge_flow(t, d, nitro)
            binding(t, d, nitro)
            composite(t, d, nitro)
            admin_and_reload(t, d, tmp, pdir, nitro)
            load(t, d, nitro)
            observability(t, d, nitro.doc())
            t.eq(d.stop(), 0, "SIGTERM: drained, exit 0")
            t.check('"event":"drained"' in d.log_text(), "drain logged")
            expiry(t, tmp, nitro, pdir)
            limits(t, tmp, nitro, pdir)
            algorithms(t, tmp, nitro, pdir)
            tls(t, tmp, nitro, pdir)
            check_config(t, tmp, pdir, nitro)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
