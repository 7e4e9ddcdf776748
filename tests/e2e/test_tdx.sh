#!/bin/bash
# End-to-end: attestctl verifies real TDX quotes from ../shared/vectors/tdx
# (read in place, never copied) with collateral from a --collateral folder
# indexed by content, and with collateral in a JSON request body; checks
# exit codes, statuses, TCB status, collateral sources and reasons.
# Skipped (77) when the vectors are absent.
set -u

V="${AV_VECTORS:-}/tdx"
if [ ! -f "$V/MANIFEST.json" ]; then
	echo "skipped: ../shared/vectors not present"
	exit 77
fi
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

# check NAME EXPECTED_RC OUTPUT_FILE PYTHON_ASSERTIONS (d = response)
check() {
	local name=$1 want=$2 rc=$3 out=$4 expr=$5
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit $rc, expected $want"
		cat "$out"
		fails=$((fails + 1))
		return
	fi
	if ! "$PY" -c "
import json, sys
d = json.load(open(sys.argv[1]))
s = d['submods']['cpu']
codes = [r['code'] for r in s['reasons']]
$expr
" "$out"; then
		echo "FAIL $name"
		cat "$out"
		fails=$((fails + 1))
		return
	fi
	echo "ok   $name"
}

# 1. raw quote, collateral found by content in the vector folder
"$ATTESTCTL" verify --type tdx --at 2023-07-01T00:00:00Z --collateral "$V" \
    "$V/trustee/tdx_quote_4.dat" >"$T/1.json" 2>/dev/null
check "raw quote + --collateral, no policy" 1 $? "$T/1.json" "
assert d['status'] == 'warning', d['status']
assert codes == ['no_reference_values'], codes
assert s['claims']['tcb']['status'] == 'UpToDate'
assert s['claims']['debug'] is True
for k in ('tcb_info', 'qe_identity', 'pck_crl', 'root_ca_crl'):
    assert s['claims']['collateral'][k]['source'] == 'store', k
"

# 2. a policy pinning MRTD and allowing the debug TD: affirming
MRTD=$("$PY" -c "
import json, sys
m = json.load(open(sys.argv[1]))
v = [x for x in m['vectors'] if x['id'] == 'tdx-v4-debug-trustee-q4'][0]
print(v['expected']['mrtd'])" "$V/MANIFEST.json")
cat >"$T/allow.json" <<EOF
{"id": "tdx-e2e", "version": 1,
 "evidence": {"tdx": {"mrtd": ["$MRTD"], "td_attributes": {"debug": true}}}}
EOF
"$ATTESTCTL" verify --type tdx --at 2023-07-01T00:00:00Z --collateral "$V" \
    --policy "$T/allow.json" "$V/trustee/tdx_quote_4.dat" >"$T/2.json" \
    2>/dev/null
check "policy allowing debug" 0 $? "$T/2.json" "
assert d['status'] == 'affirming', d['status']
assert codes == [], codes
"

# 3. the same policy without the debug allowance: debug_enabled
cat >"$T/deny.json" <<EOF
{"id": "tdx-e2e", "version": 1, "evidence": {"tdx": {"mrtd": ["$MRTD"]}}}
EOF
"$ATTESTCTL" verify --type tdx --at 2023-07-01T00:00:00Z --collateral "$V" \
    --policy "$T/deny.json" "$V/trustee/tdx_quote_4.dat" >"$T/3.json" \
    2>/dev/null
check "policy forbidding debug" 2 $? "$T/3.json" "
assert d['status'] == 'contraindicated'
assert codes == ['debug_enabled'], codes
"

# 4. a JSON request carrying its collateral (v5 quote, TD 1.5)
"$PY" - "$V" >"$T/req.json" <<'EOF'
import base64, json, sys
v = sys.argv[1]
rd = lambda p: open(v + '/' + p, 'rb').read()
print(json.dumps({"evidence": [{
    "type": "tdx",
    "data": base64.b64encode(rd('go-tdx-guest/quote_v5_sample.dat')).decode(),
    "collateral": {
        "tcb_info": rd('go-tdx-guest/sample_tcbinfo_response_v5').decode(),
        "tcb_info_issuer_chain":
            rd('certs/intel/tcb-info-issuer-chain-2025.pem').decode(),
        "root_ca_crl":
            base64.b64encode(rd('certs/intel/root-ca-crl-2025.der')).decode(),
    }}]}))
EOF
"$ATTESTCTL" verify --at 2026-03-01T00:00:00Z "$T/req.json" >"$T/4.json" \
    2>/dev/null
check "JSON request with collateral" 1 $? "$T/4.json" "
c = s['claims']
assert c['quote_version'] == 5 and c['body_type'] == 3
assert c['tcb']['status'] == 'UpToDate'
assert c['tcb']['tdx_module_identity'] == 'TDX_01'
assert c['collateral']['tcb_info']['source'] == 'request'
assert sorted(codes) == ['collateral_missing', 'collateral_missing',
                         'no_reference_values'], codes
assert all(r['severity'] == 'warning' for r in s['reasons'])
"

# 5. the tampered TCB info in the request: collateral_invalid
"$PY" - "$V" >"$T/req5.json" <<'EOF'
import base64, json, sys
v = sys.argv[1]
rd = lambda p: open(v + '/' + p, 'rb').read()
print(json.dumps({"evidence": [{
    "type": "tdx",
    "data": base64.b64encode(rd('go-tdx-guest/tdx_prod_quote_SPR_E4.dat')).decode(),
    "collateral": {
        "tcb_info": rd('negative/sample_tcbInfo_response.tampered').decode(),
        "tcb_info_issuer_chain":
            rd('certs/intel/tcb-info-issuer-chain-2018.pem').decode()}}]}))
EOF
"$ATTESTCTL" verify --at 2023-07-01T00:00:00Z "$T/req5.json" >"$T/5.json" \
    2>/dev/null
check "tampered TCB info" 2 $? "$T/5.json" "
bad = [r for r in s['reasons'] if r['code'] == 'collateral_invalid']
assert bad and bad[0]['claim'] == 'collateral.tcb_info', s['reasons']
assert s['claims']['tcb']['status'] == 'Unknown'
"

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
exit 0
