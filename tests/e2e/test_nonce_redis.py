#!/usr/bin/python3
"""End-to-end: challenge nonces shared by replicas through Redis
(--nonce-store redis://...).

Starts its own redis-server in the foreground on a free loopback port
(never 6379, never a system instance; --save '' --appendonly no;
--requirepass so AUTH is exercised) and two attestd processes, A and B,
sharing it: a challenge from A is accepted once at B (verdict checked
with jwcrypto, eat_nonce), reused at A or B -> 409; a nonce issued with a
1 s lifetime (replica C) and used late -> 410; the key in Redis is the
prefix + SHA-256 of the nonce, never the nonce; Redis stopped -> 503 JSON
errors for challenges and nonce checks and /readyz not ready, while
requests without a nonce still get verdicts; Redis restarted -> both
replicas recover.  Also --check-config on nonce_store values.  Only the
processes started here are signalled, by their own pid.  Exits 77 when
redis-server is not installed.
"""
import calendar
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import avd_harness as H

PASSWORD = "e2e-redis-" + os.urandom(8).hex()


def err_code(doc):
    return (doc or {}).get("error", {}).get("code")


def free_port():
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port != 6379:
            return port


def resp_cmd(port, *args, password=None, db=3):
    """One Redis command over RESP; returns the decoded reply."""
    def enc(a):
        a = a if isinstance(a, bytes) else str(a).encode()
        return b"$%d\r\n%s\r\n" % (len(a), a)

    def read_reply(f):
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:n]
            return data
        if kind == b"*":
            return [read_reply(f) for _ in range(int(rest))]
        raise RuntimeError("bad reply %r" % line)

    with socket.create_connection(("127.0.0.1", port), 5) as s:
        f = s.makefile("rb")
        cmds = []
        if password:
            cmds.append(("AUTH", password))
        if db:
            cmds.append(("SELECT", db))
        cmds.append(args)
        for c in cmds:
            s.sendall(b"*%d\r\n" % len(c) + b"".join(enc(a) for a in c))
        out = None
        for _ in cmds:
            out = read_reply(f)
        return out


class Redis:
    """Our own redis-server, in the foreground, on a loopback port."""

    def __init__(self, binary, workdir, port):
        self.binary = binary
        self.workdir = workdir
        self.port = port
        self.proc = None
        self.log_path = os.path.join(workdir, "redis.log")

    def start(self):
        assert self.port != 6379
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", self.workdir, "--requirepass", PASSWORD,
             "--maxmemory-policy", "noeviction"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited:\n" + self.tail())
            try:
                if resp_cmd(self.port, "PING", password=PASSWORD,
                            db=0) == "PONG":
                    return self
            except (OSError, RuntimeError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start:\n" + self.tail())

    def tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-2000:]
        except OSError:
            return ""

    def signal(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self):
        """SIGTERM our own pid (SIGKILL if it lingers)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # in case it is stopped
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.proc = None


def wait_for(fn, timeout=15.0, step=0.1):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def shared_nonces(t, a, b, c, nitro, redis, prefix):
    # Challenge from A, evidence to B.
    st, ch = a.json("POST", "/v1/challenge")
    t.eq(st, 201, "A: challenge 201")
    nonce = H.unb64url(ch["nonce"])
    t.eq(len(nonce), 32, "A: 32-byte nonce")
    t.eq(ch.get("expires_in"), 120, "A: expires_in is the lifetime")
    # The key is the prefix + SHA-256(nonce); the nonce is not stored.
    key = prefix + hashlib.sha256(nonce).hexdigest()
    val = resp_cmd(redis.port, "GET", key, password=PASSWORD)
    exp = calendar.timegm(time.strptime(ch["expires_at"],
                                        "%Y-%m-%dT%H:%M:%SZ"))
    t.eq(val, b"%d 0" % exp, "redis: value is '<expires_at> 0' "
         "(expires_at as returned)")
    ttl = resp_cmd(redis.port, "TTL", key, password=PASSWORD)
    t.check(600 < ttl <= 720, "redis: key kept lifetime + 600 s",
            "ttl %r" % ttl)
    keys = resp_cmd(redis.port, "KEYS", prefix + "*", password=PASSWORD)
    t.check(all(nonce not in k and ch["nonce"].encode() not in k
                for k in keys), "redis: the nonce itself is not a key")

    doc = nitro.doc("--nonce", nonce.hex())
    st, r = b.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, r.get("status")), (200, "affirming"),
         "challenge at A -> attest at B: verdict")
    if st == 200:
        claims = H.verify_jwt(r["verdict"], b.jwks())
        t.eq(claims.get("eat_nonce"), ch["nonce"], "B's verdict eat_nonce")
    val = resp_cmd(redis.port, "GET", key, password=PASSWORD)
    t.eq(val, b"%d 1" % exp, "redis: marked used")
    # Reuse at A (the issuer) and at B.
    st, r = a.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, err_code(r)), (409, "nonce_used"), "reuse at A: 409 nonce_used")
    t.eq(r.get("error", {}).get("message"), "this nonce has already been used",
         "409 JSON error unchanged")
    st, r = b.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, err_code(r)), (409, "nonce_used"), "reuse at B: 409")
    # B does not require issued nonces: its own nonce still passes; A
    # does: unknown -> 400.
    own = os.urandom(32)
    st, r = b.json("POST", "/v1/attest",
                   H.attest_body(nitro.doc("--nonce", own.hex()),
                                 "e2e-nonce", nonce=own))
    t.eq((st, r.get("status")), (200, "affirming"),
         "B: a relying party's own nonce passes")
    st, r = a.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=os.urandom(32)))
    t.eq((st, err_code(r)), (400, "nonce_unknown"),
         "A (--require-issued-nonce): unknown nonce 400")

    # Expiry: C issues with a 1 s lifetime; A sees it expired.
    st, ch = c.json("POST", "/v1/challenge")
    t.eq((st, ch.get("expires_in")), (201, 1), "C: 1 s challenge")
    doc = nitro.doc("--nonce", H.unb64url(ch["nonce"]).hex())
    time.sleep(2.2)
    st, r = a.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, err_code(r)), (410, "nonce_expired"),
         "C's nonce used late at A: 410 nonce_expired")
    st, r = b.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, err_code(r)), (410, "nonce_expired"),
         "and again at B: still 410 (never accepted)")

    # Concurrent use of one nonce at A and B: exactly one verdict.
    st, ch = a.json("POST", "/v1/challenge")
    doc = nitro.doc("--nonce", H.unb64url(ch["nonce"]).hex())
    body = H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"])
    results = []

    def go(d):
        results.append(d.json("POST", "/v1/attest", body)[0])

    th = [threading.Thread(target=go, args=(d,)) for d in (a, b, a, b, a, b)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    t.eq(sorted(results), [200, 409, 409, 409, 409, 409],
         "one nonce raced at A and B six times: one 200, five 409")

    st, _, text = b.request("GET", "/metrics")
    text = text.decode()
    t.check(metric(text, 'attestd_nonce_checks_total{result="ok"}') >= 1 and
            metric(text, 'attestd_nonce_checks_total{result="used"}') >= 1,
            "B metrics: ok and used checks counted")
    t.eq(metric(text, 'attestd_nonce_store_up{store="redis"}'), 1.0,
         "B metrics: store up")
    t.check("attestd_nonces_outstanding" not in text,
            "redis: no outstanding gauge (not known per replica)")


def load(t, a, b, nitro):
    """A short bounded load over loopback: 4 clients, each challenge at
    one replica and the attest at the other; zero errors."""
    per, errors, lock = 12, [], threading.Lock()
    docs = []
    for _ in range(4 * per):
        st, ch = a.json("POST", "/v1/challenge") if len(docs) % 2 else \
            b.json("POST", "/v1/challenge")
        if st != 201:
            errors.append(("challenge", st))
            continue
        docs.append((ch["nonce"], nitro.doc(
            "--nonce", H.unb64url(ch["nonce"]).hex()), len(docs) % 2))

    def client(k):
        for nonce, doc, issued_at_a in docs[k::4]:
            d = b if issued_at_a else a
            st, r = d.json("POST", "/v1/attest",
                           H.attest_body(doc, "e2e-nonce", nonce=nonce))
            if (st, r.get("status")) != (200, "affirming"):
                with lock:
                    errors.append((st, r))

    th = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    t.eq(errors, [], "load: %d cross-replica attests, zero errors" %
         len(docs))


def outage(t, a, b, nitro, redis):
    st, ch = a.json("POST", "/v1/challenge")
    t.eq(st, 201, "challenge before the outage")
    pending = ch["nonce"]
    doc = nitro.doc("--nonce", H.unb64url(pending).hex())
    redis.stop()
    st, r = a.json("POST", "/v1/challenge")
    t.eq((st, err_code(r)), (503, "nonce_store_unavailable"),
         "Redis down: challenge 503 JSON")
    st, hd, _ = a.request("POST", "/v1/challenge")
    t.eq(hd.get("content-type"), "application/json", "503: application/json")
    st, r = b.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=pending))
    t.eq((st, err_code(r)), (503, "nonce_store_unavailable"),
         "Redis down: attest with an issued nonce 503")
    own = os.urandom(32)
    st, r = b.json("POST", "/v1/attest",
                   H.attest_body(nitro.doc("--nonce", own.hex()),
                                 "e2e-nonce", nonce=own))
    t.eq((st, err_code(r)), (503, "nonce_store_unavailable"),
         "Redis down: even a nonce B would pass as the relying party's "
         "own is not accepted unchecked")
    st, r = b.json("POST", "/v1/attest", H.attest_body(nitro.doc(),
                                                       "e2e-nitro"))
    t.eq((st, r.get("status")), (200, "affirming"),
         "Redis down: a request without a nonce still gets a verdict")
    for name, d in (("A", a), ("B", b)):
        st, r = d.json("GET", "/readyz")
        t.eq((st, err_code(r)), (503, "nonce_store_unavailable"),
             "Redis down: %s /readyz not ready" % name)
    st, _, text = a.request("GET", "/metrics")
    t.eq(metric(text.decode(), 'attestd_nonce_store_up{store="redis"}'),
         0.0, "Redis down: nonce_store_up 0")
    t.check('"event":"nonce_store_down"' in a.log_text(),
            "Redis down: logged once as a transition")

    redis.start()  # same port, empty (no persistence)
    for name, d in (("A", a), ("B", b)):
        ok = wait_for(lambda: d.json("GET", "/readyz")[0] == 200)
        t.check(ok, "Redis back: %s ready again" % name)
    st, ch = a.json("POST", "/v1/challenge")
    t.eq(st, 201, "Redis back: challenge at A")
    doc = nitro.doc("--nonce", H.unb64url(ch["nonce"]).hex())
    st, r = b.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, r.get("status")), (200, "affirming"),
         "Redis back: attest at B")
    st, r = a.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, err_code(r)), (409, "nonce_used"), "Redis back: reuse 409")
    t.check('"event":"nonce_store_up"' in b.log_text(),
            "Redis back: recovery logged")

    # Redis hangs (SIGSTOP of our own redis-server): calls time out after
    # --nonce-store-timeout-ms (300) and answer 503; SIGCONT recovers.
    redis.signal(signal.SIGSTOP)
    try:
        t0 = time.time()
        st, r = a.json("POST", "/v1/challenge")
        took = time.time() - t0
        t.eq((st, err_code(r)), (503, "nonce_store_unavailable"),
             "Redis hung: challenge 503")
        t.check(took < 5, "Redis hung: answered within the timeout",
                "%.2f s" % took)
        st, r = b.json("GET", "/readyz")
        t.eq(st, 503, "Redis hung: B not ready")
    finally:
        redis.signal(signal.SIGCONT)
    t.check("no reply within 300 ms" in a.log_text(),
            "Redis hung: the timeout is logged")
    for name, d in (("A", a), ("B", b)):
        ok = wait_for(lambda: d.json("GET", "/readyz")[0] == 200)
        t.check(ok, "Redis resumed: %s ready again" % name)
    st, ch = b.json("POST", "/v1/challenge")
    doc = nitro.doc("--nonce", H.unb64url(ch["nonce"]).hex())
    st, r = a.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nonce", nonce=ch["nonce"]))
    t.eq((st, r.get("status")), (200, "affirming"),
         "Redis resumed: challenge at B -> attest at A")


def check_config(t, tmp, pdir, nitro, port, pwfile):
    base = ["--policies", pdir, "--trust-dir", nitro.trust, "--state-dir",
            os.path.join(tmp, "cc-state"), "--check-config"]

    def run(*extra, env=None):
        return subprocess.run([H.ATTESTD] + base + list(extra),
                              capture_output=True, text=True, env=env)

    p = run("--nonce-store", "redis://127.0.0.1:%d/3" % port,
            "--nonce-store-password-file", pwfile)
    t.eq(p.returncode, 0, "--check-config redis URL: exit 0")
    if p.returncode == 0:
        s = json.loads(p.stdout)["settings"]
        t.eq(s["nonce_store"], "redis://127.0.0.1:%d/3" % port,
             "--check-config shows nonce_store")
        t.check(PASSWORD not in p.stdout, "--check-config never prints "
                "the password")
        ns = json.loads(p.stdout).get("nonce_store", {})
        t.eq((ns.get("kind"), ns.get("host"), ns.get("port"), ns.get("db"),
              ns.get("prefix"), ns.get("password")),
             ("redis", "127.0.0.1", port, 3, "attestd:nonce:", "file"),
             "--check-config describes the store (password: its source)")
    for bad, needle in (
            ("redis://u:secret@127.0.0.1:6380/0", "password in the URL"),
            ("rediss://127.0.0.1:6380", "TLS"),
            ("redis://127.0.0.1:99999", "port"),
            ("redis://127.0.0.1/x", "database number"),
            ("redis://127.0.0.1?db=1", "no query"),
            ("postgres://h", "expected \"memory\"")):
        p = run("--nonce-store", bad)
        t.eq(p.returncode, 78, "--check-config %s: exit 78" % bad)
        t.check(needle in p.stderr and "nonce_store" in p.stderr,
                "%s: reason says %r" % (bad, needle), p.stderr[-300:])
    p = run("--nonce-store", "redis://127.0.0.1:6380",
            "--nonce-store-password-file", os.path.join(tmp, "missing"))
    t.eq(p.returncode, 78, "--check-config missing password file: 78")
    t.check("nonce_store_password_file" in p.stderr,
            "missing password file named")
    p = run("--nonce-store", "redis://ops@127.0.0.1:6380")
    t.eq(p.returncode, 78, "a Redis user without a password: 78")
    # The config file sets redis; the command line wins.
    cfg = os.path.join(tmp, "nonce.json")
    with open(cfg, "w") as f:
        json.dump({"nonce_store": "redis://127.0.0.1:%d/3" % port,
                   "nonce_store_prefix": "cfg:", "nonce_store_pool": 4,
                   "nonce_store_timeout_ms": 250}, f)
    env = dict(os.environ, ATTESTD_NONCE_STORE_PASSWORD=PASSWORD)
    p = run("--config", cfg, env=env)
    t.eq(p.returncode, 0, "config file nonce_store: exit 0")
    if p.returncode == 0:
        s = json.loads(p.stdout)["settings"]
        t.eq((s["nonce_store"], s["nonce_store_prefix"],
              s["nonce_store_pool"], s["nonce_store_timeout_ms"]),
             ("redis://127.0.0.1:%d/3" % port, "cfg:", 4, 250),
             "config file nonce_store settings applied")
        t.eq(json.loads(p.stdout)["nonce_store"].get("password"),
             "environment", "password taken from the environment")
    p = run("--config", cfg, "--nonce-store", "memory")
    t.eq((p.returncode, json.loads(p.stdout or "{}").get("settings", {})
          .get("nonce_store")), (0, "memory"),
         "--nonce-store on the command line beats the file")


def main():
    H.require_tools()
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK)
        else None)
    if binary is None:
        print("skipped: redis-server not installed (Debian package "
              "redis-server)")
        return H.SKIP
    t = H.Failures()
    with H.tmpdir("av-e2e-nonce-redis-") as tmp:
        redis = Redis(binary, tmp, free_port())
        redis.start()
        try:
            nitro = H.Nitro(tmp)
            pdir = os.path.join(tmp, "policies")
            H.write_policy(pdir, H.nitro_policy("e2e-nitro"))
            H.write_policy(pdir, H.nitro_policy("e2e-nonce",
                                                nonce="required"))
            pwfile = os.path.join(tmp, "redis-password")
            with open(pwfile, "w") as f:
                f.write(PASSWORD + "\n")
            os.chmod(pwfile, 0o600)
            prefix = "e2e:%s:" % os.urandom(4).hex()
            url = "redis://127.0.0.1:%d/3" % redis.port
            common = ["--policies", pdir, "--trust-dir", nitro.trust,
                      "--nonce-store", url, "--nonce-store-prefix", prefix,
                      "--nonce-store-timeout-ms", "300",
                      "--nonce-store-pool", "4"]
            env = dict(os.environ, ATTESTD_NONCE_STORE_PASSWORD=PASSWORD)
            with H.Daemon(tmp, common + ["--require-issued-nonce",
                                         "--nonce-store-password-file",
                                         pwfile], name="A") as a, \
                    H.Daemon(tmp, common, name="B", env=env) as b, \
                    H.Daemon(tmp, common + ["--nonce-ttl-s", "1",
                                            "--nonce-store-password-file",
                                            pwfile], name="C") as c:
                shared_nonces(t, a, b, c, nitro, redis, prefix)
                load(t, a, b, nitro)
                outage(t, a, b, nitro, redis)
                # A replica without the password: not ready, 503.
                with H.Daemon(tmp, common, name="nopass") as d:
                    st, r = d.json("GET", "/readyz")
                    t.eq((st, err_code(r)), (503, "nonce_store_unavailable"),
                         "no AUTH password: not ready")
                    t.check("NOAUTH" in d.log_text(),
                            "no AUTH password: the reason is logged")
                    t.eq(d.stop(), 0, "nopass: exit 0")
                for name, d in (("A", a), ("B", b), ("C", c)):
                    t.eq(d.stop(), 0, "%s: SIGTERM, exit 0" % name)
            check_config(t, tmp, pdir, nitro, redis.port, pwfile)
        finally:
            redis.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
