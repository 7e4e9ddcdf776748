#!/usr/bin/env bash
# End to end: quotes from a private swtpm (tests/tools/swtpm-quote.sh,
# tpm2_checkquote as the oracle) verified by the real attestctl binary,
# in request bodies carrying the quote as a request item (TPMS_ATTEST +
# companions) and as our "tpm" JSON document in "data", and as the JSON
# document file itself (attestctl verify --type tpm quote.json; a JSON
# object without "evidence" is the evidence): affirming under a policy
# that enrols the AK; a wrong nonce, a PCR the policy does not allow and
# a missing policy are contraindicated with their reasons.  Skipped (77)
# without swtpm, tpm2-tools or the binaries.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${AV_SOURCE_DIR:-$here/../..}
ctl=${ATTESTCTL:-}
py=/usr/bin/python3

for t in swtpm tpm2_quote tpm2_checkquote openssl; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "skipped: $t not installed"
		exit 77
	fi
done
if [ -z "$ctl" ] || [ ! -x "$ctl" ]; then
	echo "skipped: ATTESTCTL not set (run under ctest)"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/attestd-e2e-tpm.XXXXXX")
trap 'rm -rf "$work"' EXIT

nonce=$(od -An -tx1 -N32 -v /dev/urandom | tr -d ' \n')
bash "$src/tests/tools/swtpm-quote.sh" "$work/q" "$nonce" >"$work/script.log" 2>&1 || {
	cat "$work/script.log" >&2
	exit 1
}
for k in rsa ecc; do
	[ "$(cat "$work/q/$k.oracle")" = pass ] || { echo "oracle rejected $k"; exit 1; }
	openssl pkey -pubin -in "$work/q/$k.pem" -outform DER -out "$work/q/$k.spki"
done

$py - "$work" "$nonce" <<'EOF'
import base64, hashlib, json, os, sys
w, nonce = sys.argv[1], sys.argv[2]
q = os.path.join(w, "q")
rd = lambda n: open(os.path.join(q, n), "rb").read()
b64 = lambda b: base64.b64encode(b).decode()
sizes = {"sha1": 20, "sha256": 32, "sha384": 48}
pcrs = {}
for bank, n in sizes.items():
    v = rd("pcrs.%s.bin" % bank)
    pcrs[bank] = {str(i): v[i * n:(i + 1) * n].hex() for i in range(24)}
for k in ("rsa", "ecc"):
    doc = {"quote": b64(rd(k + ".msg")), "signature": b64(rd(k + ".sig")),
           "ak_pub": b64(rd(k + ".pub")), "pcrs": pcrs}
    # the document itself, as a file
    json.dump(doc, open(os.path.join(w, k + ".doc.json"), "w"))
    # the document, untyped (detected), in "data"
    json.dump({"evidence": [{"data": b64(json.dumps(doc).encode())}]},
              open(os.path.join(w, k + ".json"), "w"))
    # the request item form, with the nonce in the body
    item = dict(doc, type="tpm", data=doc["quote"])
    del item["quote"]
    json.dump({"nonce": base64.urlsafe_b64encode(bytes.fromhex(nonce))
               .decode().rstrip("="), "evidence": [item]},
              open(os.path.join(w, k + ".body.json"), "w"))
aks = [hashlib.sha256(rd(k + ".spki")).hexdigest() for k in ("rsa", "ecc")]
json.dump({"id": "e2e-tpm", "version": 1, "freshness": {"nonce": "required"},
           "evidence": {"tpm": {"enrolled_aks": aks, "ak_trust": "enrolled",
                                "pcrs": {"sha256": {"0": pcrs["sha256"]["0"]}}}}},
          open(os.path.join(w, "policy.json"), "w"))
json.dump({"id": "e2e-tpm-bad", "version": 1,
           "evidence": {"tpm": {"enrolled_aks": aks,
                                "pcrs": {"sha1": {"5": "11" * 20}}}}},
          open(os.path.join(w, "bad-policy.json"), "w"))
EOF

fail=0
check() {	# name, expected exit, expected substring, attestctl args...
	local name=$1 want=$2 grep=$3 rc=0
	shift 3
	"$ctl" verify --compact "$@" >"$work/out.json" 2>"$work/err.txt" || rc=$?
	if [ "$rc" -ne "$want" ] || ! grep -q -- "$grep" "$work/out.json"; then
		echo "FAIL $name: exit $rc (want $want), output:"
		cat "$work/out.json" "$work/err.txt"
		fail=1
	else
		echo "ok   $name"
	fi
}

other=$(printf '%02x' $((16#${nonce:0:2} ^ 0xff)))${nonce:2}
for k in rsa ecc; do
	check "$k document" 0 '"status":"affirming"' --type tpm \
	    --nonce "$nonce" --policy "$work/policy.json" "$work/$k.json"
	check "$k detected" 0 '"platform":"tpm"' \
	    --nonce "$nonce" --policy "$work/policy.json" "$work/$k.json"
	check "$k document file" 0 '"status":"affirming"' --type tpm \
	    --nonce "$nonce" --policy "$work/policy.json" "$work/$k.doc.json"
	check "$k document file detected" 0 '"platform":"tpm"' \
	    --nonce "$nonce" --policy "$work/policy.json" "$work/$k.doc.json"
	check "$k document file, wrong nonce" 2 '"code":"nonce_mismatch"' \
	    --type tpm --nonce "$other" --policy "$work/policy.json" \
	    "$work/$k.doc.json"
	check "$k request body" 0 '"status":"affirming"' \
	    --policy "$work/policy.json" "$work/$k.body.json"
	check "$k wrong nonce" 2 '"code":"nonce_mismatch"' --type tpm \
	    --nonce "$other" --policy "$work/policy.json" "$work/$k.json"
	check "$k pcr not allowed" 2 '"claim":"pcrs.sha1.5"' --type tpm \
	    --nonce "$nonce" --policy "$work/bad-policy.json" "$work/$k.json"
	check "$k no policy" 2 '"code":"ak_untrusted"' --type tpm \
	    --nonce "$nonce" "$work/$k.json"
done
exit $fail
