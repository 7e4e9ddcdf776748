/*
 * attestd - Google Compute Engine vTPM attestations, type "gce-tpm"
 * (docs/platforms/tpm.md): the go-tpm-tools Attestation protobuf that
 * `gotpm attest` prints on a GCE VM.  Decoded by protobuf-c (schema
 * subset in gce_attest.proto); every TPM structure inside it goes
 * through tpm.c (Tss2_MU), the event log through tpm_eventlog.c.
 *
 *   1 ak_pub              TPMT_PUBLIC of the AK (no size prefix)
 *   2 quotes              {1 TPMS_ATTEST, 2 TPMT_SIGNATURE,
 *                          3 PCRs {1 hash alg, 2 map<index, value>}}
 *   3 event_log           TCG PC Client event log
 *   6 ak_cert             DER AK certificate (Google's EK/AK CA)
 *   7 intermediate_certs  DER
 *   8 sev_snp_attestation go-sev-guest sevsnp.Attestation (gce_tee.c)
 *   9 tdx_attestation     go-tdx-guest tdx.QuoteV4 (gce_tee.c)
 *
 * Trust: the AK certificate chains to a "tpm" anchor (Google's roots are
 * pinned built-ins and may also be operator anchors); intermediates come
 * from the attestation, the collateral store or the trust directory.
 * The hardware attestation of a confidential VM is verified by the
 * sev-snp or tdx backend and bound by its REPORT_DATA (gce_tee.c); the
 * policy may require it ("hardware": "required") and nest a "sev-snp"
 * and a "tdx" section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "av/backend.h"
#include "av/crypto.h"
#include "av/policy.h"
#include "av/result.h"
#include "evidence/gce_tee.h"
#include "evidence/tpm.h"
#include "gce_attest.pb-c.h"

#define GCE_MAX		(1u << 20)	/* attestation bytes */
#define GCE_MAX_CERTS	8

/* One quote of the attestation: TPMS_ATTEST, TPMT_SIGNATURE, PCRs. */
static int
gce_quote(struct tpm_ev *ev, const AttestdGce__Quote *q, struct av_err *e)
{
	struct tpm_quote	*tq = &ev->q[ev->nquotes];
	int			 b;

	ev->nquotes++;
	if (tpm_attest_parse(q->quote.data, q->quote.len, tq, e) != 0 ||
	    tpm_sig_parse(q->raw_sig.data, q->raw_sig.len, tq, e) != 0)
		return -1;
	if (q->pcrs == NULL)
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: quote without PCRs");
	if (q->pcrs->hash > 0xffff ||
	    (b = tpm_bank_from_alg((uint16_t)q->pcrs->hash)) < 0)
		return AV_FAIL(e, AV_E_UNSUPPORTED_ALG,
		    "gce-tpm: PCR bank is not SHA-1, SHA-256, SHA-384 or "
		    "SHA-512");
	if (q->pcrs->n_pcrs > TPM_NPCR)
		return AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: too many PCRs");
	for (size_t i = 0; i < q->pcrs->n_pcrs; i++) {
		const AttestdGce__PCRs__PcrsEntry *pe = q->pcrs->pcrs[i];

		if (pe->key >= TPM_NPCR)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "gce-tpm: PCR index out of range");
		if (ev->pcrs.b[b].present & (1u << pe->key))
			return AV_FAIL(e, AV_E_MALFORMED,
			    "gce-tpm: PCR given twice");
		if (tpm_pcr_set(&ev->pcrs, b, pe->key, pe->value.data,
		    pe->value.len, e) != 0)
			return -1;
	}
	return 0;
}

/* ak_cert (leaf) then intermediate_certs, as the AK chain. */
static int
gce_certs(struct tpm_ev *ev, const AttestdGce__Attestation *m,
    struct av_err *e)
{
	X509 *x;

	if (m->ak_cert.len == 0)
		return 0;
	if (m->n_intermediate_certs > GCE_MAX_CERTS)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: too many intermediate certificates");
	if ((ev->ak_chain = sk_X509_new_null()) == NULL)
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	for (size_t i = 0; i <= m->n_intermediate_certs; i++) {
		const ProtobufCBinaryData *d = i == 0 ? &m->ak_cert :
		    &m->intermediate_certs[i - 1];

		if ((x = av_x509_from_der_cached(d->data, d->len)) == NULL)
			return AV_FAIL(e, AV_E_MALFORMED,
			    "gce-tpm: certificate is not DER X.509");
		if (sk_X509_push(ev->ak_chain, x) <= 0) {
			X509_free(x);
			return AV_FAIL(e, AV_E_NOMEM, "out of memory");
		}
	}
	return 0;
}

static void
gce_free(void *v)
{
	struct gce_ev *g = v;

	if (g == NULL)
		return;
	tpm_ev_free(g->t);
	free(g->hw);
	free(g);
}

static int
gce_parse(const struct av_evidence *in, void **out, struct av_err *e)
{
	AttestdGce__Attestation	*m;
	struct gce_ev		*g;
	struct tpm_ev		*ev;
	int			 rc = -1;

	if (in->data == NULL || in->len == 0 || in->len > GCE_MAX)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: empty or oversized attestation");
	if ((m = attestd_gce__attestation__unpack(NULL, in->len,
	    in->data)) == NULL)
		return AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: not a go-tpm-tools Attestation protobuf");
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->t = tpm_ev_new("gce-tpm")) == NULL) {
		free(g);
		attestd_gce__attestation__free_unpacked(m, NULL);
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	ev = g->t;
	if (m->ak_pub.len == 0) {
		AV_FAIL(e, AV_E_MALFORMED, "gce-tpm: no AK public key");
		goto out;
	}
	if (tpm_ak_parse(ev, m->ak_pub.data, m->ak_pub.len, e) != 0)
		goto out;
	if (m->n_quotes == 0 || m->n_quotes > TPM_MAX_QUOTES) {
		AV_FAIL(e, AV_E_MALFORMED,
		    "gce-tpm: expected 1 to 4 quotes");
		goto out;
	}
	for (size_t i = 0; i < m->n_quotes; i++)
		if (gce_quote(ev, m->quotes[i], e) != 0)
			goto out;
	if (gce_certs(ev, m, e) != 0)
		goto out;
	if (m->event_log.len > 0) {
		if (m->event_log.len > TPM_MAX_EVLOG) {
			AV_FAIL(e, AV_E_MALFORMED,
			    "gce-tpm: event log too large");
			goto out;
		}
		if ((ev->evlog = malloc(m->event_log.len)) == NULL) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(ev->evlog, m->event_log.data, m->event_log.len);
		ev->evlog_len = m->event_log.len;
		if (tpm_evlog_parse(ev->evlog, ev->evlog_len, &ev->log, e) != 0)
			goto out;
	}
	if (gce_tee_parse(g, m, in, e) != 0)
		goto out;
	*out = g;
	g = NULL;
	rc = 0;
 out:
	attestd_gce__attestation__free_unpacked(m, NULL);
	gce_free(g);
	return rc;
}

/* Read a protobuf varint at p[*i..n); false if it runs off the end. */
static bool
varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
	*v = 0;
	for (unsigned s = 0; *i < n && s < 64; s += 7) {
		uint8_t b = p[(*i)++];

		*v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * Sniff: field 1 (ak_pub, length-delimited) first, holding a TPMT_PUBLIC
 * of an RSA (0x0001) or ECC (0x0023) key.
 */
static bool
gce_detect(const uint8_t *p, size_t n)
{
	size_t		i = 1;
	uint64_t	len;

	if (n < 8 || p[0] != 0x0a || !varint(p, n, &i, &len) ||
	    len > n - i || len < 4)
		return false;
	return p[i] == 0x00 && (p[i + 1] == 0x01 || p[i + 1] == 0x23);
}

/*
 * The TPM part (quotes, AK trust, nonce, event log), then the hardware
 * attestation when there is one.
 */
static int
gce_verify(void *parsed, const struct av_ctx *ctx, const void *policy,
    struct av_submod *sm, struct av_err *e)
{
	struct gce_ev		*g = parsed;
	const struct gce_pol	*pol = policy;

	if (tpm_ev_verify(g->t, ctx, pol != NULL ? pol->tpm : NULL, sm,
	    e) != 0)
		return -1;
	return gce_tee_verify(g, ctx, pol, sm, e);
}

static int
gce_claims(const void *parsed, json_t **out, struct av_err *e)
{
	const struct gce_ev	*g = parsed;
	json_t			*tee;

	if ((*out = tpm_claims_json(g->t)) == NULL ||
	    (tee = gce_tee_claims(g)) == NULL) {
		json_decref(*out);
		*out = NULL;
		return AV_FAIL(e, AV_E_NOMEM, "out of memory");
	}
	json_object_set_new(*out, "tee", tee);
	return 0;
}

static void
gce_policy_free(void *p)
{
	struct gce_pol *g = p;

	if (g == NULL)
		return;
	tpm_pol_free(g->tpm);
	if (g->snp != NULL && g->snp->policy_free != NULL)
		g->snp->policy_free(g->snp_pol);
	if (g->tdx != NULL && g->tdx->policy_free != NULL)
		g->tdx->policy_free(g->tdx_pol);
	free(g);
}

/*
 * A nested hardware section (name: "sev-snp" or "tdx") compiled by its
 * backend into *b, *out.  Returns 0 or -1 with perr set.
 */
static int
compile_hw(const json_t *v, const char *path, const char *name,
    const struct av_backend **b, void **out, struct av_policy_err *perr)
{
	char sub[256];

	snprintf(sub, sizeof(sub), "%s.%s", path, name);
	if (!json_is_object(v))
		return av_policy_errf(perr, sub, "expected an object");
	*b = av_backend_find(name);
	if (*b == NULL || (*b)->policy_compile == NULL) {
		*b = NULL;
		return av_policy_errf(perr, sub, "platform \"%s\" is not "
		    "available in this build", name);
	}
	if ((*b)->policy_compile(v, sub, out, perr) != 0) {
		*b = NULL;
		return -1;
	}
	return 0;
}

/*
 * The "tpm" keys (tpm_pol_compile), "hardware": "required" | "optional"
 * and the nested "sev-snp" and "tdx" sections compiled by their backends.
 */
static int
gce_policy_compile(const json_t *sec, const char *path, void **out,
    struct av_policy_err *perr)
{
	struct gce_pol	*p;
	json_t		*rest = NULL;
	const json_t	*v;
	const char	*s;
	char		 sub[256];
	int		 rc = -1;

	if (!json_is_object(sec))
		return av_policy_errf(perr, path, "expected an object");
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (rest = json_copy((json_t *)sec)) == NULL) {
		free(p);
		return av_policy_errf(perr, path, "out of memory");
	}
	if ((v = json_object_get(sec, "hardware")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.hardware", path);
		s = json_string_value(v);
		if (s != NULL && strcmp(s, "required") == 0)
			p->hw = GCE_HW_REQUIRED;
		else if (s != NULL && strcmp(s, "optional") == 0)
			p->hw = GCE_HW_OPTIONAL;
		else {
			av_policy_errf(perr, sub,
			    "expected \"required\" or \"optional\"");
			goto out;
		}
		json_object_del(rest, "hardware");
	}
	if ((v = json_object_get(sec, "sev-snp")) != NULL) {
		if (compile_hw(v, path, "sev-snp", &p->snp, &p->snp_pol,
		    perr) != 0)
			goto out;
		json_object_del(rest, "sev-snp");
	}
	if ((v = json_object_get(sec, "tdx")) != NULL) {
		if (compile_hw(v, path, "tdx", &p->tdx, &p->tdx_pol,
		    perr) != 0)
			goto out;
		json_object_del(rest, "tdx");
	}
	if (tpm_pol_compile(rest, path, NULL, &p->tpm, perr) != 0)
		goto out;
	*out = p;
	p = NULL;
	rc = 0;
 out:
	json_decref(rest);
	gce_policy_free(p);
	return rc;
}

/* The TPM rules, the hardware rule, the nested hardware section. */
static void
gce_appraise(const void *parsed, const void *policy, const struct av_ctx *ctx,
    struct av_submod *sm)
{
	const struct gce_ev	*g = parsed;
	const struct gce_pol	*pol = policy;

	tpm_appraise_ev(g->t, pol->tpm, ctx, sm);
	gce_tee_appraise(g, pol, ctx, sm);
}

/*
 * Google Compute Engine vTPM: go-tpm-tools Attestation, type "gce-tpm".
 */
const struct av_backend av_backend_gce_tpm = {
	.name = "gce-tpm",
	.media_type = "application/vnd.attestd.gce-tpm",
	.detect = gce_detect,
	.parse = gce_parse,
	.verify = gce_verify,
	.claims = gce_claims,
	.policy_compile = gce_policy_compile,
	.policy_free = gce_policy_free,
	.appraise = gce_appraise,
	.free = gce_free,
};
