#!/usr/bin/python3
"""End-to-end: attestctl for operators and CI, against golden outputs.

policy check (text and --json, schema + loader + lint), policy diff,
policy test (table, JUnit XML checked with xml.etree, exit status),
refvals import (nitro-cli Measurements) and refvals add (from verified
evidence).  Outputs are compared with tests/e2e/golden/*; run with
AV_UPDATE_GOLDEN=1 to rewrite them after a deliberate change.  Also
checks policies/schema.json against the JSON Schema 2020-12 metaschema
and every bundled and documented policy with python3-jsonschema when it
is installed (an independent implementation).
"""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import avd_harness as H

GOLDEN = os.path.join(H.HERE, "golden")
UPDATE = os.environ.get("AV_UPDATE_GOLDEN") == "1"
SCHEMA = os.path.join(H.SOURCE, "policies", "schema.json")

PCR = {i: H.default_pcr(i) for i in range(32)}


def run(tmp, *args):
    p = subprocess.run([H.ATTESTCTL] + list(args), cwd=tmp,
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def norm(text, tmp):
    text = text.replace(tmp + "/", "").replace(tmp, ".")
    text = text.replace(H.SOURCE, "$SRC")
    text = re.sub(r'(time|timestamp)="[^"]*"', r'\1="X"', text)
    return text


def golden(t, name, text, tmp):
    text = norm(text, tmp)
    path = os.path.join(GOLDEN, name)
    if UPDATE:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    try:
        with open(path) as f:
            want = f.read()
    except OSError:
        want = None
    if not t.check(text == want, "golden " + name):
        print("---- got:\n%s---- want:\n%s----" % (text, want))


def write(tmp, name, doc):
    path = os.path.join(tmp, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if isinstance(doc, str):
            f.write(doc)
        else:
            json.dump(doc, f, indent=2)
    return path


def policies(tmp):
    good = {"id": "ci-app", "version": 3, "description": "CI app",
            "freshness": {"nonce": "optional"},
            "evidence": {"aws-nitro": {"pcr0": [PCR[0]], "pcr1": [PCR[1]],
                                       "pcr2": [PCR[2]], "debug": False}}}
    write(tmp, "ci-app.json", good)
    new = json.loads(json.dumps(good))
    new["version"] = 4
    new["description"] = "CI app, release 2"
    new["freshness"]["max_age_s"] = 600
    new["evidence"]["aws-nitro"]["pcr2"] = [PCR[2], "ab" * 48]
    new["evidence"]["aws-nitro"]["pcr8"] = [PCR[8], "CD" * 48]
    new["evidence"]["aws-nitro"]["pcr0"] = [PCR[0].upper()]
    new["evidence"]["sev-snp"] = {"measurement": ["ef" * 48],
                                  "vmpl": [0]}
    write(tmp, "new/ci-app.json", new)
    write(tmp, "warn.json", {
        "id": "warn", "version": 1,
        "freshness": {"max_age_s": 60},
        "evidence": {"aws-nitro": {"pcr0": PCR[0], "debug": True},
                     "sev-snp": {"measurement": "ef" * 48,
                                 "products": ["Milan"],
                                 "min_tcb": {"Genoa": {"snp": 20}}}}})
    write(tmp, "contradictory.json", {
        "id": "contradictory", "version": 1,
        "evidence": {"aws-nitro": {"pcr0": ["00" * 48, PCR[0]]},
                     "tdx": {"mrtd": "11" * 48,
                             "advisory_ids": {"reject": ["INTEL-SA-00837"],
                                              "accept": ["INTEL-SA-00837"]}},
                     "tpm": {"ak_trust": "enrolled",
                             "pcrs": {"sha256": {"7": "22" * 32}}}}})
    write(tmp, "broken.json", {
        "id": "broken", "version": 1,
        "evidence": {"aws-nitro": {"pcr0": ["abc"], "pcr1": [PCR[1],
                                                            PCR[1]]},
                     "sev-snp": {"min_tcb": {"Milan": {"snp": 300}}},
                     "nvidia-gpu": {"rim": "sometimes"}}})
    write(tmp, "unknown.json", {
        "id": "unknown", "version": 1,
        "evidence": {"arm-cca": {"rim": "00"}}})
    write(tmp, "syntax.json", '{"id": "syntax", "version": 1,,}')


def check(t, tmp):
    rc, out, err = run(tmp, "policy", "check", "--schema", SCHEMA,
                       "ci-app.json", "warn.json")
    t.eq(rc, 0, "check: good files and warnings: exit 0")
    golden(t, "check_ok.txt", out + err, tmp)
    rc, out, err = run(tmp, "policy", "check", "--strict", "--schema",
                       SCHEMA, "warn.json")
    t.eq(rc, 1, "check --strict: warnings fail")
    rc, out, err = run(tmp, "policy", "check", "--schema", SCHEMA,
                       "ci-app.json", "contradictory.json", "broken.json",
                       "unknown.json", "syntax.json")
    t.eq(rc, 1, "check: bad files: exit 1")
    golden(t, "check_bad.txt", out + err, tmp)
    t.check("broken.json: evidence.aws-nitro.pcr0[0]" in err,
            "check: file and JSON path on stderr")
    rc, out, err = run(tmp, "policy", "check", "--json", "--schema", SCHEMA,
                       "ci-app.json", "contradictory.json", "broken.json",
                       "warn.json")
    t.eq(rc, 1, "check --json: exit 1")
    doc = json.loads(out)
    t.eq([f["ok"] for f in doc["files"]], [True, False, False, True],
         "check --json: per-file ok")
    golden(t, "check_bad.json", out, tmp)
    rc, out, err = run(tmp, "policy", "check", "--schema", "nope.json",
                       "ci-app.json")
    t.eq(rc, 66, "check: missing --schema: exit 66")
    rc, out, err = run(tmp, "policy", "check")
    t.eq(rc, 64, "check: no file: exit 64")


def diff(t, tmp):
    rc, out, err = run(tmp, "policy", "diff", "ci-app.json",
                       "new/ci-app.json")
    t.eq(rc, 1, "diff: differences: exit 1")
    golden(t, "diff.txt", out, tmp)
    rc, out, err = run(tmp, "policy", "diff", "--json", "ci-app.json",
                       "new/ci-app.json")
    golden(t, "diff.json", out, tmp)
    d = json.loads(out)
    t.check({"platform": "aws-nitro", "claim": "pcr8", "added": [PCR[8],
                                                                "cd" * 48],
             "removed": []} in d["changes"], "diff --json: pcr8 added")
    t.check(not any(c["claim"] == "pcr0" for c in d["changes"]),
            "diff: hex case is not a change")
    rc, out, err = run(tmp, "policy", "diff", "ci-app.json", "ci-app.json")
    t.eq((rc, out), (0, ""), "diff: same file: exit 0, nothing printed")
    rc, out, err = run(tmp, "policy", "diff", "ci-app.json", "nope.json")
    t.eq(rc, 66, "diff: missing file: exit 66")


def corpus(tmp, nitro):
    docs = {
        "good.cbor": (),
        "good-again.cbor": ("--tagged",),
        "wrong-pcr.cbor": ("--pcr", "2=" + "ee" * 48),
        "debug.cbor": ("--debug",),
        "bad-signature.cbor": ("--corrupt-sig",),
    }
    os.makedirs(os.path.join(tmp, "corpus"), exist_ok=True)
    for name, opts in docs.items():
        with open(os.path.join(tmp, "corpus", name), "wb") as f:
            f.write(nitro.doc(*opts))
    write(tmp, "corpus/wrong-pcr.cbor.expect.json",
          {"status": "contraindicated", "reasons": ["measurement_mismatch"]})
    write(tmp, "corpus/debug.cbor.expect.json",
          {"status": "contraindicated", "reasons": ["debug_enabled"]})
    write(tmp, "corpus/bad-signature.cbor.expect.json",
          {"status": "contraindicated", "reasons": ["signature_invalid"]})
    # A regression: evidence expected to pass that the candidate fails.
    with open(os.path.join(tmp, "regressed.cbor"), "wb") as f:
        f.write(nitro.doc("--pcr", "1=" + "dd" * 48))
    write(tmp, "not-evidence.bin", "hello, world\n")
    write(tmp, "wrong-expect.cbor.expect.json", {"status": "maybe"})
    with open(os.path.join(tmp, "wrong-expect.cbor"), "wb") as f:
        f.write(nitro.doc())


def junit(t, path, tests, failures, errors):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        t.check(False, "JUnit XML parses", str(e))
        return None
    t.eq(root.tag, "testsuites", "JUnit: <testsuites>")
    suite = root.find("testsuite")
    t.eq((suite.get("tests"), suite.get("failures"), suite.get("errors")),
         (str(tests), str(failures), str(errors)), "JUnit: counts")
    cases = suite.findall("testcase")
    t.eq(len(cases), tests, "JUnit: one testcase per evidence")
    t.eq(len([c for c in cases if c.find("failure") is not None]), failures,
         "JUnit: <failure> elements")
    t.eq(len([c for c in cases if c.find("error") is not None]), errors,
         "JUnit: <error> elements")
    return root


def test(t, tmp, nitro):
    corpus(tmp, nitro)
    base = ["policy", "test", "--policy", "ci-app.json", "--trust-dir",
            nitro.trust]
    rc, out, err = run(tmp, *(base + ["--junit", "ok.xml", "corpus"]))
    t.eq(rc, 0, "test: every expectation met: exit 0")
    golden(t, "test_ok.txt", out, tmp)
    root = junit(t, os.path.join(tmp, "ok.xml"), 5, 0, 0)
    if root is not None:
        t.eq(root.find("testsuite").get("name"), "ci-app@3",
             "JUnit: suite named after the policy")
    rc, out, err = run(tmp, *(base + ["--junit", "fail.xml", "corpus",
                                      "regressed.cbor", "not-evidence.bin",
                                      "wrong-expect.cbor", "missing.cbor"]))
    t.eq(rc, 1, "test: a regression: exit 1")
    golden(t, "test_fail.txt", out, tmp)
    root = junit(t, os.path.join(tmp, "fail.xml"), 9, 2, 2)
    if root is not None:
        f = [c for c in root.iter("testcase") if c.find("failure")
             is not None][0]
        t.eq(f.get("name"), "regressed.cbor", "JUnit: the failing case")
        t.check("measurement_mismatch(pcr1)" in f.find("failure").text,
                "JUnit: failure names the reason and claim")
        norm_xml = norm(open(os.path.join(tmp, "fail.xml")).read(), tmp)
        golden(t, "test_fail.xml", norm_xml, tmp)
    # The new candidate (pcr2 gains a value): the corpus still passes.
    rc, out, err = run(tmp, "policy", "test", "--policy", "new/ci-app.json",
                       "--trust-dir", nitro.trust, "corpus/good.cbor")
    t.eq(rc, 0, "test: candidate policy passes recorded evidence")
    # Verification time: before the test PKI existed, nothing verifies.
    rc, out, err = run(tmp, *(base + ["--at", "2000-01-01T00:00:00Z",
                                      "corpus/good.cbor"]))
    t.eq(rc, 1, "test --at: evidence not yet valid fails")
    t.check("cert_time_invalid" in out, "test --at: the reason")
    rc, out, err = run(tmp, "policy", "test", "corpus")
    t.eq(rc, 64, "test without --policy: 64")
    rc, out, err = run(tmp, "policy", "test", "--policy", "broken.json",
                       "corpus")
    t.eq(rc, 64, "test with a bad policy: 64")


MEASUREMENTS = {
    "Measurements": {
        "HashAlgorithm": "Sha384 { ... }",
        "PCR0": "1a" * 48,
        "PCR1": PCR[1],
        "PCR2": "2b" * 48,
        "PCR8": "3c" * 48,
    }
}


def refvals(t, tmp, nitro):
    write(tmp, "build/measurements.json", MEASUREMENTS)
    write(tmp, "rv/ci-app.json", json.load(open(os.path.join(tmp,
                                                             "ci-app.json"))))
    rc, out, err = run(tmp, "refvals", "import", "--policy", "rv/ci-app.json",
                       "--nitro-measurements", "build/measurements.json")
    t.eq(rc, 0, "refvals import: exit 0")
    golden(t, "refvals_import.txt", out + err, tmp)
    golden(t, "refvals_import.json",
           open(os.path.join(tmp, "rv/ci-app.json")).read(), tmp)
    rc, out, err = run(tmp, "refvals", "import", "--policy", "rv/ci-app.json",
                       "--nitro-measurements", "build/measurements.json")
    t.eq(rc, 0, "refvals import again: nothing new")
    t.check("already holds" in err, "refvals import again: says so")
    t.eq(json.load(open(os.path.join(tmp, "rv/ci-app.json")))["version"], 4,
         "refvals import again: version unchanged")
    # describe-enclaves prints an array; an unsigned image has no PCR8.
    write(tmp, "build/describe.json", [{"EnclaveName": "x", "Measurements": {
        "HashAlgorithm": "Sha384 { ... }", "PCR0": "4d" * 48,
        "PCR1": PCR[1], "PCR2": "2b" * 48}}])
    rc, out, err = run(tmp, "refvals", "import", "--policy", "rv/ci-app.json",
                       "--nitro-measurements", "build/describe.json",
                       "--dry-run")
    t.eq(rc, 0, "refvals import --dry-run: exit 0")
    t.eq(json.loads(out)["evidence"]["aws-nitro"]["pcr0"],
         [PCR[0], "1a" * 48, "4d" * 48], "refvals import --dry-run: output")
    t.eq(json.load(open(os.path.join(tmp, "rv/ci-app.json")))["version"], 4,
         "refvals import --dry-run: file untouched")
    write(tmp, "build/bad.json", {"Measurements": {"PCR0": "00"}})
    rc, out, err = run(tmp, "refvals", "import", "--policy", "rv/ci-app.json",
                       "--nitro-measurements", "build/bad.json")
    t.eq(rc, 1, "refvals import: bad measurements: exit 1")

    # refvals add: verify a new build's document, then take its PCRs.
    write(tmp, "rv/app2.json", {"id": "app2", "version": 1, "evidence": {
        "aws-nitro": {"pcr0": PCR[0]}}})
    doc = nitro.doc("--pcr", "0=" + "5e" * 48, "--pcr", "8=" + "6f" * 48)
    with open(os.path.join(tmp, "build/new.cbor"), "wb") as f:
        f.write(doc)
    rc, out, err = run(tmp, "refvals", "add", "--policy", "rv/app2.json",
                       "--from", "build/new.cbor", "--trust-dir", nitro.trust)
    t.eq(rc, 0, "refvals add: exit 0")
    golden(t, "refvals_add.txt", out + err, tmp)
    golden(t, "refvals_add.json",
           open(os.path.join(tmp, "rv/app2.json")).read(), tmp)
    rc, out, err = run(tmp, "policy", "test", "--policy", "rv/app2.json",
                       "--trust-dir", nitro.trust, "build/new.cbor")
    t.eq(rc, 0, "refvals add: the evidence now passes the policy")
    rc, out, err = run(tmp, "refvals", "add", "--policy", "rv/app2.json",
                       "--from", "build/new.cbor", "--trust-dir", nitro.trust,
                       "--pcrs", "3,4", "--out", "rv/app2-34.json")
    t.eq(rc, 0, "refvals add --pcrs --out: exit 0")
    sec = json.load(open(os.path.join(tmp, "rv/app2-34.json")))["evidence"][
        "aws-nitro"]
    t.eq((sec.get("pcr3"), sec.get("pcr4")), ([PCR[3]], [PCR[4]]),
         "refvals add --pcrs: the PCRs asked for")
    with open(os.path.join(tmp, "build/forged.cbor"), "wb") as f:
        f.write(nitro.doc("--corrupt-sig", "--pcr", "0=" + "77" * 48))
    rc, out, err = run(tmp, "refvals", "add", "--policy", "rv/app2.json",
                       "--from", "build/forged.cbor", "--trust-dir",
                       nitro.trust)
    t.eq(rc, 2, "refvals add: evidence that does not verify: exit 2")
    t.check("77" * 48 not in open(os.path.join(tmp, "rv/app2.json")).read(),
            "refvals add: nothing taken from forged evidence")
    rc, out, err = run(tmp, "refvals", "add", "--policy", "rv/app2.json",
                       "--from", "build/new.cbor")
    t.eq(rc, 2, "refvals add: untrusted root (no --trust-dir): exit 2")
    rc, out, err = run(tmp, "refvals", "add", "--policy", "rv/app2.json")
    t.eq(rc, 64, "refvals add without --from: 64")


def refvals_snp(t, tmp):
    """refvals add from SEV-SNP evidence (a JSON request body with its
    certificates) signed by tests/mksnp's test PKI."""
    mksnp = os.path.join(H.BUILD, "tests", "mksnp")
    if not os.access(mksnp, os.X_OK):
        print("note: mksnp not built; SEV-SNP refvals add skipped")
        return
    d = os.path.join(tmp, "snp")
    subprocess.run([mksnp, "init", d], check=True, capture_output=True)
    body = os.path.join(tmp, "build/snp-body.json")
    subprocess.run([mksnp, "body", d, body, "--measurement", "c4" * 48],
                   check=True, capture_output=True)
    write(tmp, "rv/snp.json", {"id": "snp", "version": 1, "evidence": {
        "sev-snp": {"measurement": "b3" * 48, "vmpl": [0]}}})
    rc, out, err = run(tmp, "refvals", "add", "--policy", "rv/snp.json",
                       "--from", "build/snp-body.json", "--trust-dir",
                       os.path.join(d, "trust"))
    t.eq(rc, 0, "refvals add (sev-snp): exit 0")
    golden(t, "refvals_add_snp.json",
           open(os.path.join(tmp, "rv/snp.json")).read(), tmp)
    rc, out, err = run(tmp, "policy", "test", "--policy", "rv/snp.json",
                       "--trust-dir", os.path.join(d, "trust"),
                       "build/snp-body.json")
    t.eq(rc, 0, "refvals add (sev-snp): the evidence now passes")


def jsonschema_checks(t, tmp):
    """policies/schema.json is a valid 2020-12 schema and agrees with the
    loader on the bundled policies and on every policy example in
    docs/policies.md (an independent implementation)."""
    try:
        import jsonschema
    except ImportError:
        print("note: python3-jsonschema not installed; schema cross-check "
              "skipped")
        return
    schema = json.load(open(SCHEMA))
    jsonschema.Draft202012Validator.check_schema(schema)
    t.check(True, "schema.json is a valid 2020-12 schema")
    v = jsonschema.Draft202012Validator(schema)
    pdir = os.path.join(H.SOURCE, "policies")
    files = [os.path.join(pdir, f) for f in sorted(os.listdir(pdir))
             if f.endswith(".json") and f != "schema.json"]
    for f in files:
        errs = list(v.iter_errors(json.load(open(f))))
        t.eq(errs, [], "jsonschema: %s" % os.path.basename(f))
    # Every complete policy example in docs/policies.md.
    text = open(os.path.join(H.SOURCE, "docs", "policies.md")).read()
    n = 0
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        try:
            doc = json.loads(block)
        except ValueError:
            continue
        if not (isinstance(doc, dict) and "evidence" in doc and "id" in doc):
            continue
        n += 1
        path = write(tmp, "docs-example-%d.json" % n, doc)
        errs = [e.message for e in v.iter_errors(doc)]
        t.eq(errs, [], "jsonschema: docs/policies.md example %d" % n)
        rc, out, err = run(tmp, "policy", "check", "--schema", SCHEMA, path)
        t.eq(rc, 0, "attestctl: docs/policies.md example %d loads" % n)
        if rc != 0:
            print(err)
    t.check(n >= 3, "docs/policies.md has complete examples (%d)" % n)
    # Bad documents: both implementations reject them.
    for name in ("broken.json", "unknown.json"):
        doc = json.load(open(os.path.join(tmp, name)))
        t.check(list(v.iter_errors(doc)) != [],
                "jsonschema rejects %s too" % name)


def main():
    if not os.access(H.ATTESTCTL, os.X_OK) or not os.access(H.MKNITRO,
                                                             os.X_OK):
        print("skipped: attestctl or mknitro not built")
        return H.SKIP
    t = H.Failures()
    with H.tmpdir("av-e2e-ctl-policy-") as tmp:
        tmp = os.path.realpath(tmp)
        nitro = H.Nitro(tmp)
        policies(tmp)
        check(t, tmp)
        diff(t, tmp)
        test(t, tmp, nitro)
        refvals(t, tmp, nitro)
        refvals_snp(t, tmp)
        jsonschema_checks(t, tmp)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
