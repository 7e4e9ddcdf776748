#!/usr/bin/python3
"""End-to-end: the real attestd over HTTP on a free loopback port, with
synthetic Nitro documents (tests/mknitro, test PKI through --trust-dir)
and, when ../shared/vectors is present, the real AWS documents.

Every verdict JWT is verified with jwcrypto against the served JWKS.
Also: the HTTP error paths (400, 404, 405, 413, 415), the state directory
and key file modes, and attestctl (verify, policy check, jwks) exit codes.
"""
import json
import os
import stat
import subprocess
import sys
import time

import avd_harness as H


def check_verdict(t, d, resp, want_status, what, policy_ref=None):
    """The response and its JWT agree, and jwcrypto verifies the JWT."""
    t.eq(resp.get("status"), want_status, what + ": status")
    tok = resp.get("verdict")
    if not t.check(isinstance(tok, str), what + ": has a verdict JWT"):
        return None
    try:
        claims = H.verify_jwt(tok, d.jwks())
    except Exception as e:  # noqa: BLE001 - report any failure
        t.check(False, what + ": jwcrypto verifies the JWT", repr(e))
        return None
    t.check(True, what + ": jwcrypto verifies the JWT")
    hdr = H.jwt_header(tok)
    t.eq(hdr.get("alg"), "ES256", what + ": alg ES256")
    t.eq(claims.get("eat_profile"), "tag:github.com,2023:veraison/ear",
         what + ": eat_profile")
    t.check(claims.get("exp", 0) > claims.get("iat", 0), what + ": exp > iat")
    for name, sm in resp["submods"].items():
        ear = claims.get("submods", {}).get(name, {})
        t.eq(ear.get("ear.status"), sm["status"],
             what + ": JWT submod %s status" % name)
        codes = [r["code"] for r in ear.get("attestd.reasons", [])]
        t.eq(codes, [r["code"] for r in sm["reasons"]],
             what + ": JWT submod %s reasons" % name)
        if policy_ref:
            t.eq(ear.get("ear.appraisal-policy-id"), policy_ref,
                 what + ": appraisal policy id")
    return claims


def synthetic(t, d, nitro):
    good = nitro.doc()
    st, r = d.json("POST", "/v1/attest", H.attest_body(good, "e2e-nitro"))
    t.eq(st, 200, "good: HTTP 200")
    check_verdict(t, d, r, "affirming", "good", "e2e-nitro@1")
    t.eq(H.reason_codes(r), [], "good: no reasons")
    t.eq(r["submods"]["cpu"]["claims"].get("module_id"),
         "i-0123456789abcdef0-enc0123456789abcdef", "good: module_id claim")
    t.eq(r["submods"]["cpu"]["claims"].get("pcrs", {}).get("0"),
         H.default_pcr(0), "good: pcr0 claim")

    st, r = d.json("POST", "/v1/attest", H.attest_body(good))
    t.eq(st, 200, "no policy: HTTP 200")
    check_verdict(t, d, r, "warning", "no policy")
    t.eq(H.reason_codes(r), ["no_reference_values"], "no policy: reason")

    # The declared type may be left out: detected.
    body = H.attest_body(good, "e2e-nitro")
    del body["evidence"][0]["type"]
    st, r = d.json("POST", "/v1/attest", body)
    t.eq((st, r.get("status")), (200, "affirming"), "type detected")

    cases = [
        ("debug", ["--debug"], "debug_enabled"),
        ("wrong pcr0", ["--pcr", "0=" + "ab" * 48], "measurement_mismatch"),
        ("expired leaf", ["--leaf-expired"], "cert_time_invalid"),
        ("bad signature", ["--corrupt-sig"], "signature_invalid"),
        ("truncated", ["--truncate", "40"], "evidence_malformed"),
        ("ES256 header", ["--alg-es256"], "unsupported_algorithm"),
    ]
    for what, opts, code in cases:
        st, r = d.json("POST", "/v1/attest",
                       H.attest_body(nitro.doc(*opts), "e2e-nitro"))
        t.eq(st, 200, what + ": HTTP 200 (a failed verification is a verdict)")
        check_verdict(t, d, r, "contraindicated", what)
        t.check(code in H.reason_codes(r), what + ": reason " + code,
                "got %r" % H.reason_codes(r))
        if code == "measurement_mismatch":
            claims = [x.get("claim") for x in r["submods"]["cpu"]["reasons"]]
            t.check("pcr0" in claims, what + ": names the claim pcr0",
                    "got %r" % claims)

    # Nonce binding and key attestation.
    nonce = os.urandom(32)
    pk = os.urandom(65)
    doc = nitro.doc("--nonce", nonce.hex(), "--public-key", pk.hex())
    st, r = d.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nitro", nonce=nonce))
    claims = check_verdict(t, d, r, "affirming", "nonce bound")
    if claims:
        t.eq(claims.get("eat_nonce"), H.b64url(nonce), "nonce: eat_nonce")
        ka = claims["submods"]["cpu"].get("ear.veraison.key-attestation")
        t.check(ka is not None and H.b64url(pk) in json.dumps(ka),
                "public_key in ear.veraison.key-attestation", repr(ka))
    st, r = d.json("POST", "/v1/attest",
                   H.attest_body(doc, "e2e-nitro", nonce=os.urandom(32)))
    check_verdict(t, d, r, "contraindicated", "nonce mismatch")
    t.check("nonce_mismatch" in H.reason_codes(r), "nonce mismatch: reason")
    # A policy that requires a nonce fails a document without one.
    st, r = d.json("POST", "/v1/attest", H.attest_body(good, "e2e-nonce"))
    check_verdict(t, d, r, "contraindicated", "nonce required")
    t.check("nonce_mismatch" in H.reason_codes(r), "nonce required: reason")

    # Unknown evidence type: a verdict, not an HTTP error.
    st, r = d.json("POST", "/v1/attest",
                   H.attest_body(good, typ="no-such-platform"))
    t.eq(st, 200, "unknown type: HTTP 200")
    check_verdict(t, d, r, "contraindicated", "unknown type")
    t.eq(H.reason_codes(r), ["unknown_evidence_type"], "unknown type: reason")
    return good


def http_errors(t, d, good):
    def err(st, doc, want_st, want_code, what):
        t.eq(st, want_st, what + ": HTTP %d" % want_st)
        e = (doc or {}).get("error", {})
        t.eq(e.get("code"), want_code, what + ": error code")
        t.check(isinstance(e.get("message"), str) and e["message"],
                what + ": error message")

    st, doc = d.json("POST", "/v1/attest", b"{not json", ctype="application/json")
    err(st, doc, 400, "bad_request", "malformed JSON")
    st, doc = d.json("POST", "/v1/attest", {"evidence": []})
    err(st, doc, 400, "bad_request", "empty evidence")
    st, doc = d.json("POST", "/v1/attest", {"evidence": [{"data": "!!"}]})
    err(st, doc, 400, "bad_request", "bad base64")
    st, doc = d.json("POST", "/v1/attest", {"evidence": [{"data": "AA"}],
                                            "surprise": 1})
    err(st, doc, 400, "bad_request", "unknown key")
    st, doc = d.json("POST", "/v1/attest", b"[1, 2]", ctype="application/json")
    err(st, doc, 400, "bad_request", "not an object")
    st, doc = d.json("POST", "/v1/attest", H.attest_body(good, "no-such-policy"))
    err(st, doc, 404, "unknown_policy", "unknown policy")
    st, doc = d.json("GET", "/v1/nothing-here")
    err(st, doc, 404, "not_found", "unknown path")
    st, doc = d.json("GET", "/v1/attest")
    err(st, doc, 405, "method_not_allowed", "GET /v1/attest")
    st, doc = d.json("POST", "/v1/attest", b'{"evidence": []}',
                     ctype="text/plain")
    err(st, doc, 415, "unsupported_media_type", "text/plain body")
    st, doc = d.json("POST", "/v1/attest", b'{"evidence": []}', ctype="")
    err(st, doc, 415, "unsupported_media_type", "no content type")
    big = b'{"evidence": [{"data": "' + b"A" * (1 << 20) + b'"}]}'
    st, doc = d.json("POST", "/v1/attest", big, ctype="application/json")
    err(st, doc, 413, "body_too_large", "body over --max-body")
    # The same without Content-Length (chunked): cut off while streaming.
    st, doc = d.json("POST", "/v1/attest", iter([big[i:i + 65536] for i in
                                                 range(0, len(big), 65536)]),
                     ctype="application/json")
    err(st, doc, 413, "body_too_large", "chunked body over --max-body")
    # Still serving afterwards.
    st, doc = d.json("GET", "/healthz")
    t.eq((st, doc), (200, {"status": "ok"}), "healthz after errors")


def real_vectors(t, d, tmp):
    vdir = os.path.join(H.VECTORS, "aws-nitro")
    mpath = os.path.join(vdir, "MANIFEST.json")
    if not os.path.exists(mpath):
        print("note: real vectors skipped: ../shared/vectors not present")
        return
    with open(mpath) as f:
        manifest = json.load(f)
    example = os.path.join(H.SOURCE, "policies", "example-nitro.json")
    for doc in manifest["documents"]:
        if doc["category"] != "positive":
            continue
        name = doc["name"]
        with open(os.path.join(vdir, doc["files"]["cbor"]), "rb") as f:
            data = f.read()
        # The daemon uses the wall clock: these certificates have expired.
        typ = "aws-nitrotpm" if "nitrotpm" in name else "aws-nitro"
        st, r = d.json("POST", "/v1/attest", H.attest_body(data, typ=typ))
        t.eq(st, 200, name + " (wall clock): HTTP 200")
        check_verdict(t, d, r, "contraindicated", name + " (wall clock)")
        t.check("cert_time_invalid" in H.reason_codes(r),
                name + " (wall clock): cert_time_invalid",
                "got %r" % H.reason_codes(r))
        # attestctl at the manifest's verification time: genuine.
        at = doc["verification_time"]["rfc3339"]
        args = [H.ATTESTCTL, "verify", "--at", at, "--compact",
                os.path.join(vdir, doc["files"]["b64"])]
        want = (1, "warning")
        if name == "nitrite-blocky-2024-09-07":
            args[2:2] = ["--policy", example]
            want = (0, "affirming")
        p = subprocess.run(args, capture_output=True, text=True)
        out = json.loads(p.stdout) if p.stdout.strip() else {}
        t.eq((p.returncode, out.get("status")), want,
             name + " (attestctl --at %s)" % at)
        if out.get("verdict"):
            jwks = json.dumps({"keys": [out["verdict_key"]]})
            try:
                H.verify_jwt(out["verdict"], jwks)
                t.check(True, name + ": attestctl JWT verifies with its key")
            except Exception as e:  # noqa: BLE001
                t.check(False, name + ": attestctl JWT verifies", repr(e))


def attestctl(t, d, tmp, nitro, good):
    ctl = H.ATTESTCTL
    gpath = os.path.join(tmp, "good.cbor")
    with open(gpath, "wb") as f:
        f.write(good)
    pol = os.path.join(tmp, "policies", "e2e-nitro.json")
    base = [ctl, "verify", "--trust-dir", nitro.trust, "--compact"]

    def run(args, stdin=None):
        return subprocess.run(args, capture_output=True, text=True,
                              input=stdin)

    p = run(base + ["--policy", pol, gpath])
    t.eq(p.returncode, 0, "attestctl verify good + policy: exit 0")
    p = run(base + [gpath])
    t.eq(p.returncode, 1, "attestctl verify without policy: exit 1 (warning)")
    t.check("ephemeral" in p.stderr, "attestctl: says the key is ephemeral")
    # base64 text and hex text of the same document, and a JSON request.
    b64p = os.path.join(tmp, "good.b64")
    with open(b64p, "w") as f:
        f.write(H.b64(good) + "\n")
    p = run(base + ["--policy", pol, b64p])
    t.eq(p.returncode, 0, "attestctl verify base64 file: exit 0")
    hexp = os.path.join(tmp, "good.hex")
    with open(hexp, "w") as f:
        f.write(good.hex())
    p = run(base + ["--policy", pol, "--type", "aws-nitro", hexp])
    t.eq(p.returncode, 0, "attestctl verify hex file: exit 0")
    reqp = os.path.join(tmp, "req.json")
    with open(reqp, "w") as f:
        json.dump(H.attest_body(good), f)
    p = run(base + ["--policy", pol, reqp])
    t.eq(p.returncode, 0, "attestctl verify JSON request: exit 0")
    p = run(base + ["--policies", os.path.join(tmp, "policies"), "-"],
            stdin=json.dumps(H.attest_body(good, "e2e-nitro")))
    t.eq(p.returncode, 0, "attestctl verify stdin request naming a policy")
    bad = os.path.join(tmp, "bad.cbor")
    with open(bad, "wb") as f:
        f.write(nitro.doc("--corrupt-sig"))
    p = run(base + [bad])
    t.eq(p.returncode, 2, "attestctl verify bad signature: exit 2")
    out = json.loads(p.stdout)
    t.eq(out["submods"]["cpu"]["reasons"][0]["code"], "signature_invalid",
         "attestctl: reason signature_invalid")
    p = run([ctl, "verify"])
    t.eq(p.returncode, 64, "attestctl verify without EVIDENCE: exit 64")
    p = run([ctl, "verify", "--at", "yesterday", gpath])
    t.eq(p.returncode, 64, "attestctl verify --at garbage: exit 64")
    p = run([ctl, "verify", os.path.join(tmp, "missing.cbor")])
    t.eq(p.returncode, 66, "attestctl verify missing file: exit 66")
    key = os.path.join(d.state, "verdict-key.pem")
    p = run(base + ["--key", key, "--policy", pol, gpath])
    t.eq(p.returncode, 0, "attestctl verify --key: exit 0")
    out = json.loads(p.stdout)
    try:
        H.verify_jwt(out["verdict"], d.jwks())
        t.check(True, "attestctl --key verdict verifies with the daemon JWKS")
    except Exception as e:  # noqa: BLE001
        t.check(False, "attestctl --key verdict verifies with daemon JWKS",
                repr(e))
    # jwks
    p = run([ctl, "jwks", "--key", key])
    t.eq(p.returncode, 0, "attestctl jwks: exit 0")
    t.eq(json.loads(p.stdout)["keys"][0]["kid"],
         json.loads(d.jwks())["keys"][0]["kid"], "attestctl jwks: same kid")
    p = run([ctl, "jwks", "--state-dir", d.state])
    t.eq(p.returncode, 0, "attestctl jwks --state-dir: exit 0")
    # policy check
    example = os.path.join(H.SOURCE, "policies")
    files = sorted(os.path.join(example, f) for f in os.listdir(example)
                   if f.endswith(".json") and f != "schema.json")
    p = run([ctl, "policy", "check"] + files)
    t.eq(p.returncode, 0, "attestctl policy check bundled policies: exit 0",)
    badpol = os.path.join(tmp, "bad-policy.json")
    doc = H.nitro_policy("bad")
    doc["evidence"]["aws-nitro"]["pcr0"] = ["abc"]
    with open(badpol, "w") as f:
        json.dump(doc, f)
    p = run([ctl, "policy", "check", files[0], badpol])
    t.eq(p.returncode, 1, "attestctl policy check bad file: exit 1")
    t.check(badpol in p.stderr and "evidence.aws-nitro.pcr0" in p.stderr,
            "policy check names file and JSON path", p.stderr)


def main():
    H.require_tools()
    t = H.Failures()
    with H.tmpdir("av-e2e-") as tmp:
        nitro = H.Nitro(tmp)
        pdir = os.path.join(tmp, "policies")
        H.write_policy(pdir, H.nitro_policy("e2e-nitro"))
        H.write_policy(pdir, H.nitro_policy("e2e-nonce", nonce="required"))
        with H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                            "--max-body", "1048576"]) as d:
            st = os.stat(d.state)
            t.eq(stat.S_IMODE(st.st_mode), 0o700, "state dir mode 0700")
            key = os.path.join(d.state, "verdict-key.pem")
            t.eq(stat.S_IMODE(os.stat(key).st_mode), 0o600,
                 "verdict key mode 0600")
            st, doc = d.json("GET", "/healthz")
            t.eq((st, doc), (200, {"status": "ok"}), "GET /healthz")
            jwks = json.loads(d.jwks())
            k = jwks["keys"][0]
            t.eq((k.get("kty"), k.get("crv"), k.get("alg")),
                 ("EC", "P-256", "ES256"), "JWKS: one ES256 key")
            t.eq(H.jwk.JWK(**k).thumbprint(), k["kid"],
                 "JWKS: kid is the RFC 7638 thumbprint")
            good = synthetic(t, d, nitro)
            http_errors(t, d, good)
            real_vectors(t, d, tmp)
            attestctl(t, d, tmp, nitro, good)
            # The key survives a restart (same kid).
            kid = k["kid"]
            t.eq(d.stop(), 0, "SIGTERM: clean exit")
            d.start()
            t.eq(json.loads(d.jwks())["keys"][0]["kid"], kid,
                 "restart keeps the verdict key")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
