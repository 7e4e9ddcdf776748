#!/usr/bin/python3
"""End-to-end for NVIDIA GPUs: the real attestd over HTTP on a free
loopback port with synthetic GPU reports from tests/mknvgpu (test roots
through --trust-dir, RIMs and an OCSP response through --collateral-dir,
offline), composite CVM + GPU requests with tests/mksnp, and, when
../shared/vectors is present, NVIDIA's own 8-GPU SDK evidence list posted
as it is and attestctl over a real report.

Checks: challenge -> N GPU reports -> affirming under a policy that
requires RIMs, OCSP and the GPU count, the verdict verified with jwcrypto
against the served JWKS; the SDK evidence list as one "evidence" element
and posted bare; too few GPUs (submod_missing); a wrong nonce; a
measurement that differs from the RIM (measurement_mismatch on that GPU
only, overall contraindicated); a corrupted signature; SEV-SNP + 2 GPUs
in one request (submods cpu, gpu0, gpu1).
"""
import json
import os
import shutil
import subprocess
import sys

import avd_harness as H

MKNVGPU = os.path.join(H.BUILD, "tests", "mknvgpu")
MKSNP = os.path.join(H.BUILD, "tests", "mksnp")
SNP_MEAS = bytes(0xA0 + j for j in range(48)).hex()


codes = H.reason_codes


def Gpu(workdir):
    """The mknvgpu test PKI (roots in .trust, RIMs and OCSP in
    .collateral) and GPU evidence signed by it."""
    return H.MkTool(MKNVGPU, workdir, "gpu")


def verdict(t, d, resp, want, what, subs):
    t.eq(resp.get("status"), want, what + ": status")
    t.eq(sorted(resp.get("submods", {}).keys()), sorted(subs),
         what + ": submods")
    tok = resp.get("verdict")
    if not t.check(isinstance(tok, str), what + ": verdict JWT"):
        return None
    try:
        claims = H.verify_jwt(tok, d.jwks())
    except Exception as e:  # noqa: BLE001
        t.check(False, what + ": jwcrypto verifies the JWT", repr(e))
        return None
    t.check(True, what + ": jwcrypto verifies the JWT")
    return claims.get("submods", {})


def main():
    H.require_tools()
    for tool in (MKNVGPU, MKSNP):
        if not os.access(tool, os.X_OK):
            print("skipped: %s not built" % tool)
            return H.SKIP
    t = H.Failures()
    with H.tmpdir("nvgpu-e2e-") as tmp:
        gpu = Gpu(tmp)
        snpdir = os.path.join(tmp, "snp")
        subprocess.run([MKSNP, "init", snpdir], check=True)
        # one trust folder for both platforms' test roots
        trust = os.path.join(tmp, "trust")
        shutil.copytree(gpu.trust, trust)
        shutil.copytree(os.path.join(snpdir, "trust", "sev-snp"),
                        os.path.join(trust, "sev-snp"))
        pdir = os.path.join(tmp, "policies")
        H.write_policy(pdir, {
            "id": "gpus", "version": 1,
            "freshness": {"nonce": "required"},
            "evidence": {"nvidia-gpu": {
                "count": 2, "rim": "required", "ocsp": "required",
                "min_driver": "550.54.15", "chips": ["GH100"]}}})
        H.write_policy(pdir, {
            "id": "cvm", "version": 1,
            "freshness": {"nonce": "required"},
            "evidence": {
                "sev-snp": {"measurement": [SNP_MEAS],
                            "report_data": "sha512(nonce||runtime_data)",
                            "crl": "required",
                            "guest_policy": {"debug": False}},
                "nvidia-gpu": {"count": 2, "rim": "required",
                               "ocsp": "required"}}})
        d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", trust,
                           "--collateral-dir", gpu.collateral]).start()
        try:
            # two GPUs, item form
            n = H.challenge(t, d)
            st, r = d.json("POST", "/v1/attest", gpu.body(
                "--gpus", "2", "--nonce", n.hex(), "--policy", "gpus"))
            t.eq(st, 200, "2 GPUs: HTTP 200")
            subs = verdict(t, d, r, "affirming", "2 GPUs",
                           ["gpu0", "gpu1"])
            if subs is not None:
                ev = subs.get("gpu1", {}).get(
                    "ear.veraison.annotated-evidence", {})
                t.eq(ev.get("nonce"), n.hex(), "claims: nonce")
                t.eq(ev.get("driver_version"), "550.90.07", "claims: driver")
                t.eq(ev.get("rims", {}).get("vbios", {}).get("status"),
                     "valid", "claims: VBIOS RIM valid")
                t.eq(ev.get("certificate", {}).get("ocsp", {}).get(
                    "status"), "good", "claims: OCSP good (collateral)")
                t.eq(subs.get("gpu0", {}).get("ear.status"), "affirming",
                     "gpu0 ear.status")

            # the SDK evidence list as one element of "evidence"
            n = H.challenge(t, d)
            st, r = d.json("POST", "/v1/attest", gpu.body(
                "--gpus", "2", "--nonce", n.hex(), "--policy", "gpus",
                "--form", "sdk"))
            t.eq(st, 200, "SDK list element: HTTP 200")
            verdict(t, d, r, "affirming", "SDK list element",
                    ["gpu0", "gpu1"])

            # the SDK list posted bare, as NVIDIA's tools write it (no
            # request nonce, no policy: genuine, reference values unsaid)
            st, r = d.json("POST", "/v1/attest", gpu.body(
                "--gpus", "3", "--form", "sdk-bare"))
            t.eq(st, 200, "bare SDK list: HTTP 200")
            t.eq(sorted(r.get("submods", {}).keys()),
                 ["gpu0", "gpu1", "gpu2"], "bare SDK list: submods")
            for i in range(3):
                s_ = r.get("submods", {}).get("gpu%d" % i, {})
                t.eq(s_.get("claims", {}).get("rims", {}).get("driver", {})
                     .get("status"), "valid", "bare SDK list: gpu%d RIM" % i)

            # too few GPUs for "count": 2
            n = H.challenge(t, d)
            st, r = d.json("POST", "/v1/attest", gpu.body(
                "--gpus", "1", "--nonce", n.hex(), "--policy", "gpus"))
            t.eq(r.get("status"), "contraindicated", "1 of 2 GPUs")
            t.check("submod_missing" in codes(r, "gpu1"),
                    "1 of 2 GPUs: gpu1 submod_missing", json.dumps(r))

            # a nonce that is not the challenge's
            n = H.challenge(t, d)
            other = bytes(b ^ 0xFF for b in n)
            body = gpu.body("--gpus", "2", "--nonce", other.hex(),
                            "--policy", "gpus")
            body["nonce"] = H.b64url(n)
            st, r = d.json("POST", "/v1/attest", body)
            t.eq(r.get("status"), "contraindicated", "wrong nonce")
            t.check("nonce_mismatch" in codes(r, "gpu0"),
                    "wrong nonce: nonce_mismatch", json.dumps(r))

            # one GPU's measurement differs from its RIM
            n = H.challenge(t, d)
            st, r = d.json("POST", "/v1/attest", gpu.body(
                "--gpus", "2", "--nonce", n.hex(), "--policy", "gpus",
                "--bad-measurement", "9"))
            t.eq(r.get("status"), "contraindicated", "bad measurement")
            t.eq(r["submods"]["gpu0"]["status"], "affirming",
                 "bad measurement: gpu0 still affirming")
            t.eq(codes(r, "gpu1"), ["measurement_mismatch"],
                 "bad measurement: gpu1 measurement_mismatch")
            t.eq([x.get("claim") for x in
                  r["submods"]["gpu1"]["reasons"]], ["measurements[9]"],
                 "bad measurement: the index")

            # a corrupted signature
            n = H.challenge(t, d)
            st, r = d.json("POST", "/v1/attest", gpu.body(
                "--gpus", "2", "--nonce", n.hex(), "--policy", "gpus",
                "--corrupt-sig"))
            t.eq(codes(r, "gpu1"), ["signature_invalid"],
                 "corrupted signature")

            # a driver below the policy minimum (and without a RIM)
            n = H.challenge(t, d)
            st, r = d.json("POST", "/v1/attest", gpu.body(
                "--gpus", "2", "--nonce", n.hex(), "--policy", "gpus",
                "--driver", "535.86.09"))
            t.eq(sorted(set(codes(r, "gpu0"))),
                 ["rim_missing", "version_below_minimum"],
                 "old driver: rim_missing, version_below_minimum")

            # a CVM and its GPUs in one request
            n = H.challenge(t, d)
            out = os.path.join(tmp, "snp-body.json")
            subprocess.run([MKSNP, "body", snpdir, out, "--nonce", n.hex()],
                           check=True)
            with open(out) as f:
                body = json.load(f)
            g = gpu.body("--gpus", "2", "--nonce", n.hex())
            body["evidence"] += g["evidence"]
            body["policy"] = "cvm"
            st, r = d.json("POST", "/v1/attest", body)
            t.eq(st, 200, "CVM + 2 GPUs: HTTP 200")
            subs = verdict(t, d, r, "affirming", "CVM + 2 GPUs",
                           ["cpu", "gpu0", "gpu1"])
            if subs is not None:
                t.eq(subs.get("cpu", {}).get("ear.status"), "affirming",
                     "CVM + 2 GPUs: cpu affirming")
            body = json.loads(json.dumps(body))
            n2 = H.challenge(t, d)
            # same request, another challenge: every submod must notice
            body["nonce"] = H.b64url(n2)
            st, r = d.json("POST", "/v1/attest", body)
            t.eq(r.get("status"), "contraindicated", "CVM + GPUs, old nonce")
            t.check("nonce_mismatch" in codes(r, "gpu0"),
                    "CVM + GPUs, old nonce: gpu0 nonce_mismatch")
        finally:
            d.stop()

        # NVIDIA's own 8-GPU SDK list, posted as it is
        vdir = os.environ.get("AV_VECTORS")
        src = os.path.join(vdir or "", "nvidia-gpu", "real",
                           "nvtrust-ppcie-8gpu", "gpu_evidence.json")
        if vdir and os.path.exists(src):
            d = H.Daemon(tmp, [], name="attestd-real").start()
            try:
                with open(src) as f:
                    sdk = json.load(f)
                st, r = d.json("POST", "/v1/attest", sdk)
                t.eq(st, 200, "real 8-GPU SDK list: HTTP 200")
                t.eq(sorted(r.get("submods", {}).keys()),
                     ["gpu%d" % i for i in range(8)],
                     "real 8-GPU SDK list: 8 submods")
                # genuine GPUs; no RIMs offline, wall clock
                for i in range(8):
                    s = r["submods"]["gpu%d" % i]
                    t.check(s["status"] != "contraindicated",
                            "real GPU %d not contraindicated" % i,
                            json.dumps(s["reasons"]))
                    t.eq(s["claims"].get("driver_version"), "590.12",
                         "real GPU %d driver" % i)
            finally:
                d.stop()
            # attestctl: a real report at its verification time, its RIMs
            # imported into a cache (offline), the vector folder read in
            # place
            sample = os.path.join(vdir, "nvidia-gpu", "real",
                                  "nvtrust-sample")
            with open(os.path.join(sample, "conv-report.bin"), "rb") as f:
                rep = f.read()
            with open(os.path.join(sample, "hopperCertChain.txt")) as f:
                chain = f.read()
            req = os.path.join(tmp, "real-request.json")
            with open(req, "w") as f:
                json.dump({"nonce": H.b64url(bytes.fromhex(
                    "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748"
                    "f32364dfcb")), "evidence": [{
                        "type": "nvidia-gpu", "data": H.b64(rep),
                        "cert_chain": chain}]}, f)
            cache = os.path.join(tmp, "cache")
            p = subprocess.run(
                [H.ATTESTCTL, "collateral", "import", "--cache", cache,
                 os.path.join(sample, "NV_GPU_DRIVER_GH100_550.90.07.xml"),
                 os.path.join(sample,
                              "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml")],
                capture_output=True, text=True)
            t.check(p.returncode == 0, "attestctl collateral import: RIMs",
                    p.stderr)
            p = subprocess.run(
                [H.ATTESTCTL, "verify", "--at", "2025-09-21T00:00:00Z",
                 "--cache", cache, "--compact", req],
                capture_output=True, text=True)
            try:
                out = json.loads(p.stdout)
                sm = out["submods"]["gpu0"]
                t.eq(p.returncode, 1, "attestctl real report: warning")
                t.eq(sorted(set(c["code"] for c in sm["reasons"])),
                     ["no_reference_values", "ocsp_unavailable"],
                     "attestctl real report: only policy/OCSP warnings")
                t.eq(sm["claims"]["rims"]["driver"]["status"], "valid",
                     "attestctl real report: imported driver RIM")
                t.eq(sm["claims"]["rims"]["vbios"]["source"], "collateral",
                     "attestctl real report: VBIOS RIM from the import")
            except (ValueError, KeyError) as e:
                t.check(False, "attestctl real report: JSON", repr(e) +
                        p.stdout + p.stderr)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
