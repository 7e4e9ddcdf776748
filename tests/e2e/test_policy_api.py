#!/usr/bin/python3
"""End-to-end: the policy lifecycle API against the real attestd over HTTP.

Auth failures (401/403), tenant isolation, versions with If-Match (409),
rollback, a bad policy rejected with the old one still in force, delete,
on-disk edits picked up (and a broken one ignored), the audit log, the dry
run (never signed), and crash safety: kill -9 during a burst of PUTs
leaves every policy file complete and loadable.
"""
import glob
import hashlib
import json
import os
import signal
import subprocess
import threading
import time

import avd_harness as H

TOKENS = {name: "tok-%s-%s" % (name, os.urandom(6).hex())
          for name in ("ops", "acme", "beta")}
TENANT = {"ops": None, "acme": "acme", "beta": "beta"}


def token_file(tmp):
    path = os.path.join(tmp, "admin-tokens")
    with open(path, "w") as f:
        for name, tok in TOKENS.items():
            f.write("%s %s %s\n" % (name, hashlib.sha256(tok.encode())
                                    .hexdigest(), TENANT[name] or ""))
    os.chmod(path, 0o600)
    return path


def auth(name="ops", **extra):
    h = {"Authorization": "Bearer " + TOKENS[name]}
    h.update(extra)
    return h


def err(doc):
    return (doc or {}).get("error", {}).get("code")


def policy_body(pcrs=None, extra=None):
    """A policy body for mknitro's default PCRs (or pcrs {i: hex})."""
    sec = {"pcr%d" % i: [H.default_pcr(i)] for i in (0, 1, 2)}
    for i, v in (pcrs or {}).items():
        sec["pcr%d" % i] = [v]
    sec["debug"] = False
    body = {"description": "api test", "evidence": {"aws-nitro": sec}}
    body.update(extra or {})
    return body


def audit(pdir):
    path = os.path.join(pdir, ".audit.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def wait_for(cond, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def attest(d, good, pid):
    st, r = d.json("POST", "/v1/attest", H.attest_body(good, pid))
    return st, (r or {}).get("status"), r


def auth_checks(t, d):
    st, r = d.json("GET", "/v1/policies")
    t.eq((st, err(r)), (401, "unauthorized"), "list without token: 401")
    st, r = d.json("GET", "/v1/policies",
                   headers={"Authorization": "Bearer nope"})
    t.eq((st, err(r)), (401, "unauthorized"), "list with a wrong token: 401")
    st, r = d.json("PUT", "/v1/policies/x", policy_body())
    t.eq((st, err(r)), (401, "unauthorized"), "PUT without token: 401")
    st, r = d.json("POST", "/v1/policies/base/appraise", {"evidence": []})
    t.eq((st, err(r)), (401, "unauthorized"), "dry run without token: 401")
    st, r = d.json("POST", "/v1/policies/base/rollback?to=1",
                   headers={"Authorization": "Basic b3BzOm9wcw=="})
    t.eq((st, err(r)), (401, "unauthorized"), "basic auth is not accepted")
    st, r = d.json("PUT", "/v1/policies/a/b/c", policy_body(), auth())
    t.eq((st, err(r)), (400, "bad_request"), "invalid id: 400")


def versions(t, d, pdir, good):
    st, r = d.json("GET", "/v1/policies", headers=auth())
    t.eq((st, [p["id"] for p in r["policies"]]), (200, ["base"]),
         "list: the policy on disk")
    t.check(os.path.exists(os.path.join(pdir, ".versions/base/v1.json")),
            "startup archived the version on disk")
    st, hd, _ = d.request("GET", "/v1/policies/base", headers=auth())
    t.eq((st, hd.get("etag")), (200, '"1"'), "GET: ETag is the version")

    st, hd, body = d.request("PUT", "/v1/policies/pay",
                             json.dumps(policy_body()).encode(),
                             auth(**{"If-None-Match": "*"}),
                             "application/json")
    r = json.loads(body)
    t.eq((st, r.get("version"), r.get("active"), hd.get("etag")),
         (201, 1, True, '"1"'), "PUT new policy: 201, version 1, in force")
    t.check(any(c.get("claim") == "pcr0" and c.get("added")
                for c in r.get("changes", [])), "PUT: changes listed")
    t.eq(attest(d, good, "pay")[:2], (200, "affirming"), "new policy serves")

    # A bad policy is rejected with its JSON path; the old one stays.
    bad = policy_body(pcrs={0: "ab" * 47})
    st, r = d.json("PUT", "/v1/policies/pay", bad, auth())
    t.eq((st, err(r)), (400, "policy_invalid"), "bad policy: 400")
    t.eq(r["error"].get("path"), "evidence.aws-nitro.pcr0[0]",
         "bad policy: JSON path")
    t.check("96 hex digits" in r["error"].get("message", ""),
            "bad policy: reason")
    st, r = d.json("PUT", "/v1/policies/pay", b"{not json",
                   auth(), "application/json")
    t.eq((st, err(r)), (400, "policy_invalid"), "not JSON: 400")
    st, r = d.json("PUT", "/v1/policies/pay", dict(policy_body(), id="zz"),
                   auth())
    t.eq((st, err(r), r["error"].get("path")), (400, "policy_invalid", "id"),
         "id in the body must match the path")
    st, r = d.json("PUT", "/v1/policies/pay", b"{}", auth(), "text/plain")
    t.eq(st, 415, "PUT text/plain: 415")
    st, r = d.json("GET", "/v1/policies/pay", headers=auth())
    t.eq(r.get("version"), 1, "bad policy: version 1 still in force")
    t.eq(attest(d, good, "pay")[:2], (200, "affirming"),
         "bad policy: old one still serving")
    t.check(not os.path.exists(os.path.join(pdir, ".versions/pay/v2.json")),
            "bad policy: nothing stored")

    # If-Match: the current version, or 409 naming it.
    other = "11" * 48
    st, r = d.json("PUT", "/v1/policies/pay", policy_body(pcrs={0: other}),
                   auth(**{"If-Match": '"1"'}))
    t.eq((st, r.get("version")), (200, 2), "PUT If-Match current: version 2")
    st, status, r = attest(d, good, "pay")
    t.eq(status, "contraindicated", "version 2 in force at once")
    t.check("measurement_mismatch" in H.reason_codes(r),
            "version 2: measurement_mismatch")
    t.eq(r.get("policy"), "pay@2", "verdict names pay@2")
    st, r = d.json("PUT", "/v1/policies/pay", policy_body(),
                   auth(**{"If-Match": '"1"'}))
    t.eq((st, err(r), r["error"].get("current_version")),
         (409, "version_conflict", 2), "stale If-Match: 409 with current")
    st, r = d.json("PUT", "/v1/policies/pay", policy_body(),
                   auth(**{"If-None-Match": "*"}))
    t.eq((st, err(r)), (409, "version_conflict"), "If-None-Match on existing")
    st, r = d.json("PUT", "/v1/policies/pay", policy_body(),
                   auth(**{"If-Match": "soon"}))
    t.eq(st, 400, "malformed If-Match: 400")

    st, r = d.json("GET", "/v1/policies/pay?version=1", headers=auth())
    t.eq((st, r["policy"]["evidence"]["aws-nitro"]["pcr0"],
          r.get("versions"), r.get("active")),
         (200, [H.default_pcr(0)], [1, 2], False), "GET ?version=1")
    st, r = d.json("GET", "/v1/policies/pay?version=9", headers=auth())
    t.eq((st, err(r)), (404, "unknown_version"), "unknown version: 404")

    st, r = d.json("POST", "/v1/policies/pay/rollback?to=1", None,
                   auth(**{"If-Match": '"2"'}))
    t.eq((st, r.get("version"), r.get("rollback_to")), (200, 3, 1),
         "rollback to 1: version 3")
    t.eq(attest(d, good, "pay")[:2], (200, "affirming"),
         "rollback in force")
    st, r = d.json("POST", "/v1/policies/pay/rollback?to=42", None, auth())
    t.eq((st, err(r)), (404, "unknown_version"), "rollback to nothing: 404")
    st, r = d.json("POST", "/v1/policies/pay/rollback", None, auth())
    t.eq(st, 400, "rollback without ?to: 400")

    log = [e for e in audit(pdir) if e["policy"] == "pay"]
    t.eq([(e["action"], e["old_version"], e["new_version"], e["token"])
          for e in log],
         [("put", None, 1, "ops"), ("put", 1, 2, "ops"),
          ("rollback", 2, 3, "ops")], "audit: one line per change")
    t.eq(log[1]["changes"], [{"platform": "aws-nitro", "claim": "pcr0",
                              "added": [other],
                              "removed": [H.default_pcr(0)]}],
         "audit: the changed reference values")
    t.check(all(e.get("time", "").endswith("Z") for e in log),
            "audit: times")


def tenants(t, d, good):
    st, r = d.json("PUT", "/v1/policies/acme/pay", policy_body(),
                   auth("acme"))
    t.eq((st, r.get("id"), r.get("version")), (201, "acme/pay", 1),
         "tenant token writes its namespace")
    st, r = d.json("GET", "/v1/policies", headers=auth("acme"))
    t.eq([p["id"] for p in r["policies"]], ["acme/pay"],
         "tenant token lists only its namespace")
    st, r = d.json("GET", "/v1/policies", headers=auth("beta"))
    t.eq(r.get("policies"), [], "other tenant lists nothing")
    for name, method, path in (
            ("acme", "GET", "/v1/policies/pay"),
            ("acme", "PUT", "/v1/policies/pay"),
            ("acme", "GET", "/v1/policies/beta/x"),
            ("beta", "GET", "/v1/policies/acme/pay"),
            ("beta", "PUT", "/v1/policies/acme/pay"),
            ("beta", "DELETE", "/v1/policies/acme/pay"),
            ("beta", "POST", "/v1/policies/acme/pay/rollback?to=1"),
            ("beta", "POST", "/v1/policies/acme/pay/appraise"),
            ("acme", "POST", "/v1/admin/reload"),
            ("acme", "POST", "/v1/admin/rotate-key")):
        body = policy_body() if method in ("PUT", "POST") else None
        st, r = d.json(method, path, body, auth(name))
        t.eq((st, err(r)), (403, "forbidden"),
             "%s %s %s: 403" % (name, method, path))
    st, r = d.json("GET", "/v1/policies/acme/pay", headers=auth("ops"))
    t.eq((st, r.get("ref")), (200, "acme/pay@1"), "global token reads it")
    st, status, r = attest(d, good, "acme/pay")
    t.eq((st, status, r.get("policy")), (200, "affirming", "acme/pay@1"),
         "attest names a tenant policy")


def dry_run(t, d, good):
    body = H.attest_body(good)
    st, r = d.json("POST", "/v1/policies/pay/appraise", body, auth())
    t.eq((st, r.get("status"), r.get("dry_run"), r.get("verdict")),
         (200, "affirming", True, None), "dry run with the policy in force")
    t.eq(r.get("policy_source"), "in_force", "dry run: policy source")
    draft = policy_body(pcrs={2: "22" * 48})
    body["policy"] = draft
    st, r = d.json("POST", "/v1/policies/pay/appraise", body, auth())
    t.eq((st, r.get("status"), r.get("dry_run"), r.get("verdict")),
         (200, "contraindicated", True, None), "dry run with a draft")
    t.check("measurement_mismatch" in H.reason_codes(r) and
            any(x.get("claim") == "pcr2" for x in r["submods"]["cpu"]
                ["reasons"]), "dry run names the claim")
    t.check("eyJ" not in json.dumps(r), "dry run: nothing signed")
    body["policy"] = policy_body(pcrs={2: "zz"})
    st, r = d.json("POST", "/v1/policies/pay/appraise", body, auth())
    t.eq((st, err(r), r["error"].get("path")),
         (400, "policy_invalid", "evidence.aws-nitro.pcr2[0]"),
         "dry run: a bad draft is 400 with its path")
    body = H.attest_body(good)
    st, r = d.json("POST", "/v1/policies/nothing/appraise", body, auth())
    t.eq((st, err(r)), (404, "unknown_policy"), "dry run: unknown id")
    body["policy"] = policy_body()
    st, r = d.json("POST", "/v1/policies/nothing/appraise", body, auth())
    t.eq((st, r.get("status")), (200, "affirming"),
         "dry run: a draft for a new id")
    st, r = d.json("POST", "/v1/policies/acme/pay/appraise",
                   H.attest_body(good), auth("acme"))
    t.eq((st, r.get("policy")), (200, "acme/pay@1"), "tenant dry run")
    st, r = d.json("POST", "/v1/policies/pay/appraise",
                   {"evidence": "x"}, auth())
    t.eq((st, err(r)), (400, "bad_request"), "dry run: bad request body")
    # An expired leaf verifies at a time before its expiry with "at".
    st, r = d.json("POST", "/v1/policies/pay/appraise",
                   dict(H.attest_body(good), at="2000-01-01T00:00:00Z"),
                   auth())
    t.eq((st, r.get("status"), r.get("verified_at")),
         (200, "contraindicated", "2000-01-01T00:00:00Z"),
         "dry run at a given time")


def disk_edits(t, d, pdir, good):
    doc = H.nitro_policy("disk", version=4)
    H.write_policy(pdir, doc)
    t.check(wait_for(lambda: d.json("GET", "/v1/policies/disk",
                                    headers=auth())[0] == 200),
            "a policy added on disk is picked up")
    t.check(wait_for(lambda: any(e["policy"] == "disk" and
                                 e["source"] == "disk" for e in audit(pdir))),
            "the disk edit is audited")
    t.check(os.path.exists(os.path.join(pdir, ".versions/disk/v4.json")),
            "the disk edit is archived")
    # A broken edit: the set in force stays; API writes are kept aside.
    with open(os.path.join(pdir, "disk.json"), "w") as f:
        f.write('{"id": "disk", "version": 5, "evidence": {"aws-nitro": '
                '{"pcr0": "00"}}}')
    t.check(wait_for(lambda: "policy_dir_invalid" in d.log_text()),
            "a broken disk edit is logged")
    st, r = d.json("GET", "/v1/policies/disk", headers=auth())
    t.eq((st, r.get("version")), (200, 4), "broken edit: version 4 stays")
    t.eq(attest(d, good, "disk")[:2], (200, "affirming"),
         "broken edit: still serving")
    st, r = d.json("PUT", "/v1/policies/other", policy_body(), auth())
    t.eq((st, r.get("active")), (201, False),
         "PUT while the directory is broken: stored, not in force")
    H.write_policy(pdir, H.nitro_policy("disk", version=6))
    t.check(wait_for(lambda: d.json("GET", "/v1/policies/disk",
                                    headers=auth())[1].get("version") == 6),
            "the fixed edit is picked up")
    st, r = d.json("GET", "/v1/policies/other", headers=auth())
    t.eq(st, 200, "the stored policy is in force after the fix")
    os.unlink(os.path.join(pdir, "disk.json"))
    t.check(wait_for(lambda: d.json("GET", "/v1/policies/disk",
                                    headers=auth())[0] == 404),
            "a policy removed on disk is gone")
    t.check(wait_for(lambda: any(e["policy"] == "disk" and
                                 e["action"] == "delete"
                                 for e in audit(pdir))),
            "the removal is audited")


def delete(t, d, pdir, good):
    st, r = d.json("DELETE", "/v1/policies/pay", None,
                   auth(**{"If-Match": '"1"'}))
    t.eq((st, err(r)), (409, "version_conflict"), "DELETE stale: 409")
    st, r = d.json("DELETE", "/v1/policies/pay", None, auth())
    t.eq((st, r.get("deleted"), r.get("version")), (200, True, 3),
         "DELETE: 200")
    st, r = d.json("GET", "/v1/policies/pay", headers=auth())
    t.eq(st, 404, "deleted: GET 404")
    t.eq(attest(d, good, "pay")[0], 404, "deleted: attest 404")
    st, r = d.json("DELETE", "/v1/policies/pay", None, auth())
    t.eq(st, 404, "DELETE again: 404")
    st, r = d.json("POST", "/v1/policies/pay/rollback?to=3", None,
                   auth(**{"If-None-Match": "*"}))
    t.eq((st, r.get("version")), (200, 4), "rollback restores a deleted one")
    t.eq(attest(d, good, "pay")[:2], (200, "affirming"), "restored serves")


def policy_files_load(t, pdir, what):
    files = [f for f in glob.glob(os.path.join(pdir, "**", "*.json"),
                                  recursive=True)]
    files += glob.glob(os.path.join(pdir, ".versions", "*", "*.json"))
    files += glob.glob(os.path.join(pdir, "tenants", "*", ".versions", "*",
                                    "*.json"))
    files = sorted(set(files))
    p = subprocess.run([H.ATTESTCTL, "policy", "check"] + files,
                       capture_output=True, text=True)
    t.eq(p.returncode, 0, "%s: all %d policy files load" % (what, len(files)))
    if p.returncode != 0:
        print(p.stdout[-2000:], p.stderr[-2000:])
    for line in open(os.path.join(pdir, ".audit.jsonl")):
        json.loads(line)
    t.check(True, "%s: every audit line is complete JSON" % what)


def crash(t, tmp, nitro):
    pdir = os.path.join(tmp, "crash-policies")
    H.write_policy(pdir, H.nitro_policy("c0"))
    d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                       "--admin-tokens", token_file(tmp),
                       "--access-log=false"], name="crash").start()
    stop = threading.Event()
    counts = {"ok": 0}

    def burst(k):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                st, _ = d.json("PUT", "/v1/policies/c%d" % (i % 4),
                               policy_body(pcrs={3: "%02x" % k * 48}),
                               auth())
                if st in (200, 201):
                    counts["ok"] += 1
            except OSError:
                return

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    wait_for(lambda: counts["ok"] >= 40, timeout=60)
    os.kill(d.proc.pid, signal.SIGKILL)     # our own daemon, by pid
    d.proc.wait()
    d.log.close()
    d.proc = None
    stop.set()
    for th in threads:
        th.join()
    t.check(counts["ok"] >= 40, "crash: %d PUTs before kill -9" % counts["ok"])
    policy_files_load(t, pdir, "after kill -9")
    p = subprocess.run([H.ATTESTD, "--policies", pdir, "--state-dir",
                        os.path.join(tmp, "crash-state"), "--check-config"],
                       capture_output=True, text=True)
    t.eq(p.returncode, 0, "after kill -9: the directory loads as a set")
    # A restart serves, archives and keeps numbering.
    d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                       "--admin-tokens", token_file(tmp)],
                 name="crash2").start()
    try:
        st, r = d.json("GET", "/v1/policies/c1", headers=auth())
        v = r.get("version")
        st, r = d.json("PUT", "/v1/policies/c1", policy_body(),
                       auth(**{"If-Match": '"%d"' % v}))
        t.check(st == 200 and r.get("version", 0) > v,
                "after restart: the next version follows")
    finally:
        d.stop()


def main():
    H.require_tools()
    t = H.Failures()
    with H.tmpdir("av-e2e-policy-api-") as tmp:
        nitro = H.Nitro(tmp)
        pdir = os.path.join(tmp, "policies")
        H.write_policy(pdir, H.nitro_policy("base"))
        good = nitro.doc()
        # No admin tokens: the API is off.
        d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust],
                     name="noadmin").start()
        try:
            st, r = d.json("GET", "/v1/policies")
            t.eq((st, err(r)), (401, "unauthorized"), "no tokens: 401")
        finally:
            d.stop()
        d = H.Daemon(tmp, ["--policies", pdir, "--trust-dir", nitro.trust,
                           "--admin-tokens", token_file(tmp),
                           "--policy-poll-ms", "100"])
        try:
            d.start()
            auth_checks(t, d)
            versions(t, d, pdir, good)
            tenants(t, d, good)
            dry_run(t, d, good)
            disk_edits(t, d, pdir, good)
            delete(t, d, pdir, good)
        finally:
            d.stop()
        policy_files_load(t, pdir, "after the API run")
        crash(t, tmp, nitro)
    return t.done()


if __name__ == "__main__":
    raise SystemExit(main())
