#!/usr/bin/python3
"""Interoperability of our JWS/JWKS with an independent JOSE library.

Runs the already-built unit test program test_verdict with AV_JWT_OUT set,
which writes jwks.json and one EAR JWT per algorithm (ES256, ES384, EdDSA),
then checks with jwcrypto that:
  - every JWT verifies against the JWKS and yields the same claims;
  - every key's kid equals jwcrypto's RFC 7638 thumbprint;
  - a tampered token is refused.
Exit 77 (skipped) when jwcrypto or the test program is missing.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    from jwcrypto import jwk, jws, jwt
except ImportError:
    print("skipped: python3-jwcrypto not installed (run with /usr/bin/python3)")
    sys.exit(77)


def find_program():
    build = os.environ.get("AV_BUILD_DIR")
    if not build:
        here = os.path.dirname(os.path.abspath(__file__))
        build = os.path.join(here, "..", "..", "build")
    prog = os.path.join(build, "tests", "test_verdict")
    return prog if os.access(prog, os.X_OK) else None


def main():
    prog = find_program()
    if prog is None:
        print("skipped: tests/test_verdict not built (cmake --build ... --target test_verdict)")
        return 77
    failures = 0
    with tempfile.TemporaryDirectory(prefix="av-jwt-") as out:
        env = dict(os.environ, AV_JWT_OUT=out)
        r = subprocess.run([prog], env=env, capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            print("FAIL: test_verdict exited", r.returncode)
            return 1
        with open(os.path.join(out, "jwks.json")) as f:
            jwks_text = f.read()
        with open(os.path.join(out, "claims.json")) as f:
            want = json.load(f)
        keyset = jwk.JWKSet.from_json(jwks_text)
        for k in json.loads(jwks_text)["keys"]:
            tp = jwk.JWK(**k).thumbprint()
            if tp != k["kid"]:
                print("FAIL: kid %s != jwcrypto thumbprint %s" % (k["kid"], tp))
                failures += 1
        for alg in ("ES256", "ES384", "EdDSA"):
            with open(os.path.join(out, alg + ".jwt")) as f:
                token = f.read().strip()
            try:
                # signature, alg allow-list and exp/nbf checked by jwcrypto
                t = jwt.JWT(jwt=token, key=keyset, algs=[alg])
            except Exception as e:  # noqa: BLE001 - report any refusal
                print("FAIL: %s: jwcrypto refused: %r" % (alg, e))
                failures += 1
                continue
            claims = json.loads(t.claims)
            hdr = json.loads(t.header)
            if hdr.get("alg") != alg or hdr.get("typ") != "JWT":
                print("FAIL: %s: header %r" % (alg, hdr))
                failures += 1
            if claims != want:
                print("FAIL: %s: claims differ" % alg)
                failures += 1
            # tamper with the payload: must be refused
            h, p, sig = token.split(".")
            p = p[:10] + ("A" if p[10] != "A" else "B") + p[11:]
            try:
                s = jws.JWS()
                s.deserialize(".".join((h, p, sig)))
                s.verify(keyset.get_key(hdr["kid"]), alg=alg)
                print("FAIL: %s: tampered token accepted" % alg)
                failures += 1
            except Exception:  # noqa: BLE001 - any refusal is right
                pass
            print("ok: %s verified by jwcrypto" % alg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
