#!/usr/bin/python3
"""End-to-end for AMD SEV-SNP: the real attestd over HTTP on a free
loopback port with synthetic reports from tests/mksnp (test ARKs through
--trust-dir), and, when ../shared/vectors is present, a real report and
attestctl over the vector folder as a collateral directory.

Checks: challenge -> report whose REPORT_DATA = SHA-512(nonce ||
runtime_data) -> affirming, the verdict verified with jwcrypto against the
served JWKS, the runtime data in ear.veraison.key-attestation; each
product, VCEK and VLEK, and the certificate-table and configfs-tsm forms;
a corrupted signature, a debug guest, a missing CRL under "crl":
"required", a wrong nonce; the raw media type.
"""
import base64
import json
import os
import subprocess
import sys

import avd_harness as H

MKSNP = os.path.join(H.BUILD, "tests", "mksnp")
MEAS = bytes(0xA0 + j for j in range(48)).hex()


codes = H.reason_codes


def Snp(workdir):
    """The mksnp test PKI (test ARKs in .trust) and reports signed by it."""
    return H.MkTool(MKSNP, workdir, "snp")


def verify(t, d, resp, want, what):
    t.eq(resp.get("status"), want, what + ": status")
    tok = resp.get("verdict")
    if not t.check(isinstance(tok, str), what + ": verdict JWT"):
        return None
    try:
        claims = H.verify_jwt(tok, d.jwks())
    except Exception as e:  # noqa: BLE001
        t.check(False, what + ": jwcrypto verifies the JWT", repr(e))
        return None
    t.check(True, what + ": jwcrypto verifies the JWT")
    sub = claims.get("submods", {}).get("cpu", {})
    t.eq(sub.get("ear.status"), want, what + ": ear.status")
    return sub


def attest(t, d, snp, *opts, nonce=True, rt=None):
    """challenge -> body -> POST; returns (nonce, response)."""
    args = list(opts)
    n = None
    if nonce:
        n = H.challenge(t, d)
        args += ["--nonce", n.hex()]
    if rt is not None:
        args += ["--runtime-data", rt.hex()]
    body = snp.body(*args)
    st, resp = d.json("POST", "/v1/attest", body)
    t.eq(st, 200, "attest %s: HTTP 200" % " ".join(opts))
    return n, resp


def main():
    H.require_tools()
    if not os.access(MKSNP, os.X_OK):
        print("skipped: %s not built" % MKSNP)
        return H.SKIP
    t = H.Failures()
    with H.tmpdir("snp-e2e-") as tmp:
        snp = Snp(tmp)
        pdir = os.path.join(tmp, "policies")
        H.write_policy(pdir, {
            "id": "snp", "version": 3,
            "freshness": {"nonce": "required"},
            "evidence": {"sev-snp": {
                "measurement": [MEAS],
                "report_data": "sha512(nonce||runtime_data)",
                "crl": "required",
                "guest_policy": {"debug": False, "migrate_ma": False},
                "min_tcb": {"Milan": {"snp": 8}, "Genoa": {"snp": 14},
                            "Turin": {"fmc": 1, "snp": 3}},
                "vmpl": [0]}}})
        d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", snp.trust,
                           "--default-policy", "snp"]).start()
        try:
            rt = b"\x30\x59" + bytes(range(89))  # a "public key"
            _, r = attest(t, d, snp, "--policy", "snp", rt=rt)
            sub = verify(t, d, r, "affirming", "Milan VCEK, nonce + rt")
            if sub is not None:
                ka = sub.get("ear.veraison.key-attestation", {})
                t.eq(ka.get("akpub"), H.b64url(rt),
                     "key-attestation carries runtime_data")
                ev = sub.get("ear.veraison.annotated-evidence", {})
                t.eq(ev.get("product"), "Milan", "claims: product")
                t.eq(ev.get("measurement"), MEAS, "claims: measurement")
                t.eq(ev.get("report_data_binding"),
                     "sha512(nonce||runtime_data)", "claims: binding")
            for prod, ver, extra in (("Genoa", "3", ["--form", "table"]),
                                     ("Turin", "5", ["--form", "auxblob"]),
                                     ("Milan", "2", ["--vlek"]),
                                     ("Genoa", "5", ["--vlek"])):
                _, r = attest(t, d, snp, "--product", prod, "--version",
                              ver, *extra)
                verify(t, d, r, "affirming",
                       "%s v%s %s" % (prod, ver, " ".join(extra)))
            _, r = attest(t, d, snp, "--corrupt-sig")
            verify(t, d, r, "contraindicated", "corrupted signature")
            t.eq(codes(r), ["signature_invalid"], "signature_invalid")
            _, r = attest(t, d, snp, "--debug")
            verify(t, d, r, "contraindicated", "debug guest")
            t.eq(codes(r), ["debug_enabled"], "debug_enabled")
            _, r = attest(t, d, snp, "--no-crl")
            verify(t, d, r, "contraindicated", "no CRL, required")
            t.eq(codes(r), ["collateral_missing"], "collateral_missing")
            # a report bound to another nonce than the challenge's
            st, ch = d.json("POST", "/v1/challenge")
            body = snp.body("--nonce", "00" * 32)
            body["nonce"] = ch["nonce"]
            st, r = d.json("POST", "/v1/attest", body)
            verify(t, d, r, "contraindicated", "other nonce")
            t.eq(codes(r), ["nonce_mismatch"], "nonce_mismatch")
            # raw media type: no certificates, so no VCEK offline
            st, ch = d.json("POST", "/v1/challenge")
            st, hd, data = d.request(
                "POST", "/v1/attest?nonce=" + ch["nonce"],
                snp.raw("--nonce", H.unb64url(ch["nonce"]).hex()),
                ctype="application/vnd.attestd.sev-snp")
            t.eq(st, 200, "raw report: HTTP 200")
            r = json.loads(data)
            t.eq(codes(r), ["collateral_missing"],
                 "raw report without certificates: collateral_missing")
        finally:
            d.stop()

        # The real vectors: a real report over HTTP, and attestctl with the
        # vector folder as a collateral directory (read in place).
        vdir = os.path.join(H.VECTORS, "sev-snp")
        if os.path.isdir(vdir):
            d = H.Daemon(tmp, [], name="attestd-real").start()
            try:
                def b64f(rel):
                    with open(os.path.join(vdir, rel), "rb") as f:
                        return base64.b64encode(f.read()).decode()
                body = {"evidence": [{
                    "type": "sev-snp",
                    "data": b64f("trustee/snp/test-report.bin"),
                    "certs": {"vcek": b64f("trustee/snp/test-vcek.der"),
                              "ask": b64f("certs/amd/milan_ask.der"),
                              "ark": b64f("certs/amd/milan_ark.der")}}]}
                st, r = d.json("POST", "/v1/attest", body)
                verify(t, d, r, "warning", "real Milan report (no CRL)")
                t.eq(sorted(codes(r)), ["collateral_missing",
                                        "no_reference_values"],
                     "real report: only the CRL and policy warnings")
            finally:
                d.stop()
            for rel, prod in (("trustee/snp/test-report.bin", "Milan"),
                              ("trustee/az-snp-vtpm/hcl-report.bin", "Milan"),
                              ("trustee/az-snp-vtpm/"
                               "evidence-genoa.snp-report.bin", "Genoa")):
                p = subprocess.run(
                    [H.ATTESTCTL, "verify", "--type", "sev-snp", "--at",
                     "2025-07-01T00:00:00Z", "--collateral", vdir,
                     os.path.join(vdir, rel)],
                    capture_output=True, text=True)
                t.eq(p.returncode, 1, "attestctl %s: exit 1 (warning)" % rel)
                try:
                    out = json.loads(p.stdout)
                    cl = out["submods"]["cpu"]["claims"]
                    t.eq((cl.get("product"),
                          cl.get("certificate", {}).get("source")),
                         (prod, "collateral"),
                         "attestctl %s: product, VCEK from the folder" % rel)
                except (ValueError, KeyError) as e:
                    t.check(False, "attestctl %s: JSON" % rel, repr(e))
            # the bundled example policy names that report's measurement
            p = subprocess.run(
                [H.ATTESTCTL, "verify", "--type", "sev-snp", "--policy",
                 os.path.join(H.SOURCE, "policies", "example-sev-snp.json"),
                 "--at", "2025-07-01T00:00:00Z", "--collateral", vdir,
                 os.path.join(vdir, "trustee/snp/test-report.bin")],
                capture_output=True, text=True)
            try:
                out = json.loads(p.stdout)
                t.eq((p.returncode, codes(out)), (1, ["collateral_missing"]),
                     "example-sev-snp policy: only the CRL warning")
            except (ValueError, KeyError) as e:
                t.check(False, "example-sev-snp policy: JSON", repr(e))
        else:
            print("note: ../shared/vectors/sev-snp not present; real "
                  "vector checks skipped")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
