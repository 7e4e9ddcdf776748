#!/usr/bin/python3
"""End-to-end: the input forms attestctl reads (verify, policy test and
refvals add share one loader, src/attestctl/load.c).

Checks: NVIDIA's SDK evidence list written bare (a JSON array) is a
request (one submod per GPU); a JSON object with "evidence" is a request;
a JSON object without "evidence" is the evidence itself, of the --type
given or detected (Azure's vTPM JSON from ../shared/vectors when present;
the tpm JSON form is covered by e2e_tpm_swtpm); a JSON object no backend
recognises, without --type, is still read as a request and fails as one
(exit 66, saying what is missing); the same object with --type goes to
that backend as evidence (contraindicated, exit 2).
"""
import json
import os
import subprocess
import sys
import time

import avd_harness as H

MKNVGPU = os.path.join(H.BUILD, "tests", "mknvgpu")


def run(*args):
    p = subprocess.run([H.ATTESTCTL, "verify", "--compact"] + list(args),
                       capture_output=True, text=True)
    try:
        out = json.loads(p.stdout) if p.stdout else None
    except ValueError:
        out = None
    return p.returncode, out, p.stderr


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def sdk_list(t, tmp):
    gdir = os.path.join(tmp, "gpu")
    subprocess.run([MKNVGPU, "init", gdir], check=True)
    body = os.path.join(tmp, "sdk.json")
    subprocess.run([MKNVGPU, "body", gdir, body, "--gpus", "3", "--form",
                    "sdk-bare"], check=True)
    with open(body) as f:
        t.check(isinstance(json.load(f), list), "sdk-bare is a JSON array")
    base = ["--trust-dir", os.path.join(gdir, "trust"), "--collateral",
            os.path.join(gdir, "collateral"), "--at", now_rfc3339()]
    rc, out, err = run(*(base + [body]))
    t.eq(rc, 1, "bare SDK list: exit 1 (warning, no policy)")
    t.eq(sorted((out or {}).get("submods", {}).keys()),
         ["gpu0", "gpu1", "gpu2"], "bare SDK list: one submod per GPU")
    t.check("input form json-request" in err, "bare SDK list: a request",
            err)
    rc, out, err = run(*(base + ["--type", "nvidia-gpu", body]))
    t.eq(rc, 1, "bare SDK list with --type: exit 1")


def not_evidence(t, tmp):
    path = os.path.join(tmp, "other.json")
    with open(path, "w") as f:
        json.dump({"hello": "world"}, f)
    rc, out, err = run(path)
    t.eq(rc, 66, "unrecognised JSON object, no --type: exit 66")
    t.check("unknown key in request body (bad_request)" in err,
            "unrecognised JSON object: the request parser's error", err)
    empty = os.path.join(tmp, "empty.json")
    with open(empty, "w") as f:
        f.write("{}")
    rc, out, err = run(empty)
    t.eq(rc, 66, "{}: exit 66")
    t.check('"evidence" must be a non-empty array' in err,
            "{}: says \"evidence\" is missing", err)
    rc, out, err = run("--type", "tpm", "--at", now_rfc3339(), path)
    t.eq(rc, 2, "JSON object with --type tpm: evidence, exit 2")
    t.check("input form json-evidence" in err, "--type tpm: json-evidence",
            err)
    t.eq((out or {}).get("submods", {}).get("cpu", {}).get("platform"),
         "tpm", "--type tpm: the tpm backend appraised it")
    # a request object with --type: the type fills untyped items
    req = os.path.join(tmp, "req.json")
    with open(req, "w") as f:
        json.dump({"evidence": [{"data": H.b64(b"{}")}]}, f)
    rc, out, err = run("--type", "tpm", req)
    t.eq(rc, 2, "request with untyped item and --type tpm: exit 2")
    t.eq((out or {}).get("submods", {}).get("cpu", {}).get("platform"),
         "tpm", "request item typed by --type")


def azure_json(t):
    vdir = os.path.join(H.VECTORS, "vtpm")
    doc = os.path.join(vdir, "real", "az-snp-vtpm-genoa",
                       "evidence-genoa.json")
    if not os.path.exists(doc):
        print("skipped part: %s not present" % doc)
        return
    for args, what in (([], "detected"),
                       (["--type", "azure-snp-vtpm"], "--type")):
        rc, out, err = run(*(["--at", "2026-01-01T00:00:00Z",
                              "--collateral", vdir] + args + [doc]))
        cpu = (out or {}).get("submods", {}).get("cpu", {})
        t.eq(rc, 1, "Azure vTPM JSON (%s): exit 1 (warning)" % what)
        t.eq(cpu.get("platform"), "azure-snp-vtpm",
             "Azure vTPM JSON (%s): platform" % what)
        t.eq(cpu.get("claims", {}).get("hcl", {}).get("report_type"), "SNP",
             "Azure vTPM JSON (%s): HCL report appraised" % what)
        t.check("input form json-evidence" in err,
                "Azure vTPM JSON (%s): json-evidence" % what, err)


def main():
    for p in (H.ATTESTCTL, MKNVGPU):
        if not os.access(p, os.X_OK):
            print("skipped: %s not built" % p)
            return H.SKIP
    t = H.Failures()
    with H.tmpdir("attestctl-inputs-") as tmp:
        sdk_list(t, tmp)
        not_evidence(t, tmp)
        azure_json(t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
