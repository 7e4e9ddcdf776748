"""Shared helpers for the end-to-end tests: start the real attestd on a
free loopback port (--listen 127.0.0.1:0 --port-file FILE), talk HTTP to
it, make synthetic evidence with the tests/mk* tools (mknitro, mksnp,
mknvgpu), and check verdicts with jwcrypto (an independent JOSE
implementation).

Environment (set by ctest): ATTESTD, ATTESTCTL, AV_BUILD_DIR,
AV_SOURCE_DIR, AV_VECTORS.  Only the daemon processes started here are
ever signalled, by their own pid.
"""
import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77

try:
    from jwcrypto import jwk, jwt
except ImportError:  # pragma: no cover
    jwk = jwt = None

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("AV_SOURCE_DIR", os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("AV_BUILD_DIR", os.path.join(SOURCE, "build"))
ATTESTD = os.environ.get("ATTESTD", os.path.join(BUILD, "attestd"))
ATTESTCTL = os.environ.get("ATTESTCTL", os.path.join(BUILD, "attestctl"))
MKNITRO = os.path.join(BUILD, "tests", "mknitro")
VECTORS = os.environ.get("AV_VECTORS", os.path.join(SOURCE, "..", "shared",
                                                    "vectors"))
# Slow under sanitizers: generous start-up and request timeouts.
TIMEOUT = float(os.environ.get("AV_E2E_TIMEOUT", "60"))


def require_tools():
    """Exit 77 (skipped) when something the test needs is missing."""
    if jwk is None:
        print("skipped: python3-jwcrypto not installed (run with /usr/bin/python3)")
        sys.exit(SKIP)
    for p in (ATTESTD, ATTESTCTL, MKNITRO):
        if not os.access(p, os.X_OK):
            print("skipped: %s not built" % p)
            sys.exit(SKIP)


# Daemons that exited with a non-zero status (a sanitizer report, a crash).
BAD_EXITS = []


class Failures:
    """Collect check results; print one line per check."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s" % what)
        else:
            self.failed += 1
            print("FAIL %s %s" % (what, detail))
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, what, "got %r, want %r" % (got, want))

    def done(self):
        for name, rc, log in BAD_EXITS:
            self.check(False, "%s exited cleanly" % name,
                       "status %s; log tail:\n%s" % (rc, log[-3000:]))
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


class Daemon:
    """One attestd process on a free loopback port."""

    def __init__(self, workdir, args=(), name="attestd", env=None):
        self.workdir = workdir
        self.port_file = os.path.join(workdir, name + ".port")
        self.log_path = os.path.join(workdir, name + ".log")
        self.state = os.path.join(workdir, name + "-state")
        self.args = list(args)
        self.env = env
        self.proc = None
        self.port = None

    def __enter__(self):
        """`with H.Daemon(...) as d:` starts it (unless running) and
        stops it at the end, printing its log tail if the block raised."""
        if self.proc is None:
            try:
                self.start()
            except Exception:
                self.stop()
                raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            print(self.log_text()[-4000:])
        self.stop()
        return False

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        cmd = [ATTESTD, "--listen", "127.0.0.1:0", "--port-file",
               self.port_file, "--state-dir", self.state] + self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("attestd exited with %s:\n%s" %
                                   (self.proc.returncode, self.log_text()))
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("attestd did not start:\n" + self.log_text())

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def signal(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=None):
        """SIGTERM our own pid; SIGKILL it if it does not exit."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout or TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        rc = self.proc.returncode
        self.proc = None
        if rc != 0:
            BAD_EXITS.append((os.path.basename(self.log_path), rc,
                              self.log_text()))
        return rc

    def request(self, method, path, body=None, headers=None, ctype=None):
        """Returns (status, headers dict (lower-case), body bytes)."""
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        if ctype:
            h["Content-Type"] = ctype
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=TIMEOUT)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None, ctype=None):
        st, hd, data = self.request(method, path, body, headers, ctype)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = {"_raw": data.decode("utf-8", "replace")}
        return st, doc

    def jwks(self):
        st, _, data = self.request("GET", "/.well-known/jwks.json")
        if st != 200:
            raise RuntimeError("JWKS: HTTP %d" % st)
        return data.decode()


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_jwt(token, jwks_text, algs=("ES256", "ES384", "EdDSA")):
    """Verify a compact JWS with jwcrypto against a JWKS; returns the
    claims (dict) or raises."""
    keyset = jwk.JWKSet.from_json(jwks_text)
    t = jwt.JWT(jwt=token, key=keyset, algs=list(algs),
                check_claims={"exp": None, "iat": None})
    return json.loads(t.claims)


def jwt_header(token):
    return json.loads(unb64url(token.split(".")[0]))


def default_pcr(i):
    """PCR i of mknitro's documents: byte j = (i * 16 + j + 1) mod 256."""
    return bytes((i * 16 + j + 1) & 0xff for j in range(48)).hex()


class MkTool:
    """A test PKI made by one of the tests/mk* tools (`TOOL init DIR`:
    trust anchors in DIR/trust, collateral, if any, in DIR/collateral) and
    the evidence it signs (`TOOL CMD DIR OUT [options]`)."""

    def __init__(self, tool, workdir, name):
        self.tool = tool
        self.dir = os.path.join(workdir, name)
        subprocess.run([tool, "init", self.dir], check=True)
        self.trust = os.path.join(self.dir, "trust")
        self.collateral = os.path.join(self.dir, "collateral")
        self.n = 0

    def make(self, cmd, name, *opts):
        """Run `TOOL cmd DIR OUT opts` (OUT = DIR/name % n); OUT's bytes."""
        self.n += 1
        out = os.path.join(self.dir, name % self.n)
        subprocess.run([self.tool, cmd, self.dir, out] + list(opts),
                       check=True)
        with open(out, "rb") as f:
            return f.read()

    def body(self, *opts):
        """A request body (`TOOL body`), parsed."""
        return json.loads(self.make("body", "body%d.json", *opts))

    def raw(self, *opts):
        """The raw evidence (`TOOL body ... --raw`)."""
        return self.make("body", "rep%d.bin", "--raw", *opts)


class Nitro(MkTool):
    """A test Nitro PKI (mknitro init) and documents signed with it."""

    def __init__(self, workdir):
        super().__init__(MKNITRO, workdir, "nitro")

    def doc(self, *opts):
        return self.make("sign", "doc%d.cbor", *opts)


def write_policy(dirname, doc):
    os.makedirs(dirname, exist_ok=True)
    path = os.path.join(dirname, doc["id"] + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path


def nitro_policy(pid, version=1, nonce="optional", extra=None, pcrs=(0, 1, 2)):
    sec = {"pcr%d" % i: [default_pcr(i)] for i in pcrs}
    sec["debug"] = False
    sec.update(extra or {})
    return {"id": pid, "version": version,
            "description": "e2e test policy",
            "freshness": {"nonce": nonce},
            "evidence": {"aws-nitro": sec}}


def attest_body(data, policy=None, nonce=None, typ="aws-nitro", name=None,
                runtime_data=None):
    item = {"type": typ, "data": b64(data)}
    if name:
        item["name"] = name
    body = {"evidence": [item]}
    if policy:
        body["policy"] = policy
    if nonce is not None:
        body["nonce"] = b64url(nonce) if isinstance(nonce, bytes) else nonce
    if runtime_data is not None:
        body["runtime_data"] = b64(runtime_data)
    return body


def reason_codes(resp, sub="cpu"):
    return [r.get("code") for r in resp["submods"][sub]["reasons"]]


def challenge(t, d):
    """POST /v1/challenge (checked: 201); the nonce's bytes."""
    st, ch = d.json("POST", "/v1/challenge")
    t.eq(st, 201, "challenge")
    return unb64url(ch["nonce"])


def tmpdir(prefix):
    return tempfile.TemporaryDirectory(prefix=prefix)
