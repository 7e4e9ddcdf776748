#!/usr/bin/env bash
# swtpm-quote.sh - run a throw-away software TPM and take TPM 2.0 quotes
# for attestd's tests, with tpm2_checkquote as an independent oracle.
#
# usage: swtpm-quote.sh OUTDIR NONCE_HEX [EXTENDS_FILE]
#
#   OUTDIR        created if needed; files below are (over)written
#   NONCE_HEX     qualifying data for TPM2_Quote (1..64 bytes of hex)
#   EXTENDS_FILE  optional; one tpm2_pcrextend argument per line, e.g.
#                 "4:sha1=<hex>,sha256=<hex>,sha384=<hex>" (blank lines
#                 and lines starting with '#' are skipped)
#
# Output (binary files are exactly what the TPM produced):
#   selection.txt        the PCR selection quoted (tpm2-tools syntax)
#   pcrs.sha1.bin        PCR 0..23 of the bank, concatenated (also
#   pcrs.sha256.bin      .sha256 and .sha384), read after the extends
#   pcrs.sha384.bin      and before the quotes
#   pcrs.serialized      tpm2-tools "serialized" PCRs for tpm2_checkquote
#   ek.pub               EK (RSA-2048) TPM2B_PUBLIC
#   for AK in rsa rsapss ecc ecc384 (RSASSA-SHA256, RSAPSS-SHA256,
#   ECDSA-P256-SHA256, ECDSA-P384-SHA384):
#     AK.pub  TPM2B_PUBLIC      AK.pem   SubjectPublicKeyInfo
#     AK.msg  TPMS_ATTEST       AK.sig   TPMT_SIGNATURE
#     AK.oracle  "pass" when tpm2_checkquote accepted the quote
#     AK.oracle-wrong-nonce  "reject" when it refused another nonce
#   rsapss.oracle-openssl  "pass" when openssl dgst verifies the RSAPSS
#     signature (tpm2_checkquote 5.4 rejects every RSAPSS quote, so the
#     signature of that one is checked with OpenSSL's command line too)
#
# The swtpm listens on 127.0.0.1 (TCP: tpm2-tss 3.2 has no swtpm unix
# socket TCTI) with a private state directory.  Only the swtpm started
# here is stopped, by its pid.  Exit 77 when swtpm or tpm2-tools are
# missing (the test is then skipped).
set -euo pipefail

out=${1:?usage: swtpm-quote.sh OUTDIR NONCE_HEX [EXTENDS_FILE]}
nonce=${2:?usage: swtpm-quote.sh OUTDIR NONCE_HEX [EXTENDS_FILE]}
extends=${3:-}
sel="sha1:0,1,2,3,4,5,6,7+sha256:0,1,2,3,4,5,6,7,8,9,10,12,14,16,23+sha384:0,4,7"

for tool in swtpm tpm2_createek tpm2_createak tpm2_quote tpm2_checkquote \
    tpm2_pcrextend tpm2_pcrread tpm2_readpublic tpm2_getrandom; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skipped: $tool not installed" >&2
		exit 77
	fi
done
if ! [[ $nonce =~ ^([0-9a-fA-F]{2}){1,64}$ ]]; then
	echo "NONCE_HEX: 1 to 64 bytes of hex" >&2
	exit 64
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [[ -n $extends ]]; then
	extends=$(cd "$(dirname "$extends")" && pwd)/$(basename "$extends")
fi
state=$(mktemp -d "${TMPDIR:-/tmp}/attestd-swtpm.XXXXXX")
pid=""

stop_tpm() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=""
	fi
}
finish() {
	stop_tpm
	rm -rf "$state"
}
trap finish EXIT

# Start swtpm on a free loopback port pair; retry on a clash.
up=no
for attempt in 1 2 3 4 5 6 7 8 9 10; do
	port=$((30000 + (RANDOM % 15000) * 2))
	rm -rf "$state/tpm" && mkdir -p "$state/tpm"
	swtpm socket --tpm2 --tpmstate dir="$state/tpm" \
	    --server type=tcp,port="$port",bindaddr=127.0.0.1 \
	    --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
	    --flags not-need-init,startup-clear \
	    --log file="$state/swtpm.log" >/dev/null 2>&1 &
	pid=$!
	export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		if tpm2_getrandom 4 >/dev/null 2>&1; then
			up=yes
			break
		fi
		sleep 0.1
	done
	[[ $up == yes ]] && break
	stop_tpm
done
if [[ $up != yes ]]; then
	echo "swtpm did not start" >&2
	exit 1
fi

cd "$state"
flush() {
	tpm2_flushcontext -t >/dev/null 2>&1 || true
	tpm2_flushcontext -s >/dev/null 2>&1 || true
}

tpm2_createek -c ek.ctx -G rsa -u "$out/ek.pub" >/dev/null
flush
aks="rsa:rsa:sha256:rsassa rsapss:rsa:sha256:rsapss ecc:ecc256:sha256:ecdsa ecc384:ecc384:sha384:ecdsa"
for spec in $aks; do
	IFS=: read -r name alg hash scheme <<<"$spec"
	tpm2_createak -C ek.ctx -c "$name.ctx" -G "$alg" -g "$hash" \
	    -s "$scheme" -u "$out/$name.pub" -n "$name.name" >/dev/null
	flush
	tpm2_readpublic -c "$name.ctx" -f pem -o "$out/$name.pem" >/dev/null
	flush
done

if [[ -n $extends ]]; then
	while IFS= read -r line; do
		[[ -z $line || $line == \#* ]] && continue
		tpm2_pcrextend "$line"
	done <"$extends"
fi

echo "$sel" >"$out/selection.txt"
for bank in sha1 sha256 sha384; do
	tpm2_pcrread "$bank:all" -o "$out/pcrs.$bank.bin" >/dev/null
done

# A different nonce for the oracle's negative check: flip the first byte.
first=$((16#${nonce:0:2} ^ 0xff))
other=$(printf '%02x' "$first")${nonce:2}

for spec in $aks; do
	IFS=: read -r name alg hash scheme <<<"$spec"
	tpm2_quote -c "$name.ctx" -l "$sel" -q "$nonce" -g "$hash" \
	    --scheme "$scheme" -m "$out/$name.msg" -s "$out/$name.sig" \
	    -o "$out/pcrs.serialized" -F serialized >/dev/null
	flush
	if tpm2_checkquote -u "$out/$name.pub" -m "$out/$name.msg" \
	    -s "$out/$name.sig" -f "$out/pcrs.serialized" -g "$hash" \
	    -q "$nonce" >/dev/null 2>&1; then
		echo pass >"$out/$name.oracle"
	else
		echo fail >"$out/$name.oracle"
	fi
	if tpm2_checkquote -u "$out/$name.pub" -m "$out/$name.msg" \
	    -s "$out/$name.sig" -f "$out/pcrs.serialized" -g "$hash" \
	    -q "$other" >/dev/null 2>&1; then
		echo accept >"$out/$name.oracle-wrong-nonce"
	else
		echo reject >"$out/$name.oracle-wrong-nonce"
	fi
done
# TPMT_SIGNATURE for RSAPSS: sigAlg(2) hash(2) size(2) signature.
tail -c +7 "$out/rsapss.sig" >rsapss.raw
if openssl dgst -sha256 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:auto -verify "$out/rsapss.pem" \
    -signature rsapss.raw "$out/rsapss.msg" >/dev/null 2>&1; then
	echo pass >"$out/rsapss.oracle-openssl"
else
	echo fail >"$out/rsapss.oracle-openssl"
fi
echo "$nonce" >"$out/nonce.hex"
