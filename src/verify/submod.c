/*
 * attestd - per-item results: reasons, status and the AR4SI trust
 * vector (draft-ietf-rats-ar4si), kept consistent from one table.
 */
#include <stdlib.h>
#include <string.h>

#include "av/codec.h"
#include "av/result.h"

const char *
av_status_str(enum av_status s)
{
	switch (s) {
	case AV_STATUS_AFFIRMING:
		return "affirming";
	case AV_STATUS_WARNING:
		return "warning";
	case AV_STATUS_CONTRAINDICATED:
		return "contraindicated";
	case AV_STATUS_NONE:
	default:
		return "none";
	}
}

const char *
av_tv_str(enum av_tv t)
{
	static const char *const names[AV_TV__COUNT] = {
		"instance-identity", "configuration", "executables",
		"file-system", "hardware", "runtime-opaque", "storage-opaque",
		"sourced-data",
	};

	return ((unsigned)t < AV_TV__COUNT) ? names[t] : "unknown";
}

/*
 * Which trust-vector category a reason speaks to, and the AR4SI value it
 * sets there when the reason is contraindicated (a warning sets 32).
 */
static const struct {
	enum av_code	code;
	enum av_tv	cat;
	int		value;
} tv_map[] = {
	{ AV_E_MALFORMED,		AV_TV_INSTANCE,		AV_AR_CRYPTO_FAILED },
	{ AV_E_UNKNOWN_TYPE,		AV_TV_INSTANCE,		AV_AR_UNRECOGNIZED },
	{ AV_E_UNSUPPORTED_ALG,		AV_TV_INSTANCE,		AV_AR_CRYPTO_FAILED },
	{ AV_E_UNTRUSTED_ROOT,		AV_TV_INSTANCE,		AV_AR_UNRECOGNIZED },
	{ AV_E_CHAIN,			AV_TV_INSTANCE,		AV_AR_CRYPTO_FAILED },
	{ AV_E_CERT_TIME,		AV_TV_INSTANCE,		AV_AR_CONTRA },
	{ AV_E_CERT_REVOKED,		AV_TV_HARDWARE,		AV_AR_CONTRA },
	{ AV_E_SIGNATURE,		AV_TV_INSTANCE,		AV_AR_CRYPTO_FAILED },
	{ AV_E_NONCE,			AV_TV_INSTANCE,		AV_AR_CONTRA },
	{ AV_E_BINDING,			AV_TV_INSTANCE,		AV_AR_CONTRA },
	{ AV_E_TOO_OLD,			AV_TV_INSTANCE,		AV_AR_CONTRA },
	{ AV_E_FROM_FUTURE,		AV_TV_INSTANCE,		AV_AR_CONTRA },
	{ AV_E_MEASUREMENT,		AV_TV_EXECUTABLES,	AV_AR_CONTRA },
	{ AV_E_DEBUG,			AV_TV_CONFIG,		AV_AR_CONTRA },
	{ AV_E_TCB_BELOW,		AV_TV_HARDWARE,		AV_AR_CONTRA },
	{ AV_E_VERSION_BELOW,		AV_TV_EXECUTABLES,	AV_AR_CONTRA },
	{ AV_E_POLICY_VIOLATION,	AV_TV_CONFIG,		AV_AR_CONTRA },
	{ AV_E_NO_POLICY,		AV_TV_EXECUTABLES,	AV_AR_UNRECOGNIZED_RT },
	{ AV_E_SUBMOD_MISSING,		AV_TV_INSTANCE,		AV_AR_CONTRA },
	{ AV_E_COLLATERAL_MISSING,	AV_TV_SOURCED_DATA,	AV_AR_CONTRA },
	{ AV_E_COLLATERAL_INVALID,	AV_TV_SOURCED_DATA,	AV_AR_CONTRA },
	{ AV_E_COLLATERAL_EXPIRED,	AV_TV_SOURCED_DATA,	AV_AR_CONTRA },
	{ AV_E_QE_REPORT,		AV_TV_INSTANCE,		AV_AR_CRYPTO_FAILED },
	{ AV_E_QE_IDENTITY,		AV_TV_HARDWARE,		AV_AR_CONTRA },
	{ AV_E_TCB_OUT_OF_DATE,		AV_TV_HARDWARE,		AV_AR_CONTRA },
	{ AV_E_TCB_REVOKED,		AV_TV_HARDWARE,		AV_AR_CONTRA },
	{ AV_E_TCB_UNSUPPORTED,		AV_TV_HARDWARE,		AV_AR_UNRECOGNIZED },
	{ AV_E_PCR_DIGEST,		AV_TV_INSTANCE,		AV_AR_CRYPTO_FAILED },
	{ AV_E_AK_UNTRUSTED,		AV_TV_INSTANCE,		AV_AR_UNRECOGNIZED },
	{ AV_E_EVENT_LOG,		AV_TV_EXECUTABLES,	AV_AR_CONTRA },
	{ AV_E_FWID,			AV_TV_HARDWARE,		AV_AR_CONTRA },
	{ AV_E_RIM_MISSING,		AV_TV_EXECUTABLES,	AV_AR_UNRECOGNIZED_RT },
	{ AV_E_RIM_INVALID,		AV_TV_SOURCED_DATA,	AV_AR_CONTRA },
	{ AV_E_OCSP,			AV_TV_SOURCED_DATA,	AV_AR_CONTRA },
};

int
av_submod_init(struct av_submod *sm, const char *name)
{
	memset(sm, 0, sizeof(*sm));
	sm->status = AV_STATUS_NONE;
	if ((sm->name = strdup(name)) == NULL ||
	    (sm->claims = json_object()) == NULL ||
	    (sm->reasons = json_array()) == NULL) {
		av_submod_cleanup(sm);
		return -1;
	}
	return 0;
}

void
av_submod_cleanup(struct av_submod *sm)
{
	if (sm == NULL)
		return;
	free(sm->name);
	json_decref(sm->claims);
	json_decref(sm->reasons);
	json_decref(sm->key_attestation);
	memset(sm, 0, sizeof(*sm));
}

void
av_submod_tv(struct av_submod *sm, enum av_tv cat, int value)
{
	int cur;

	if ((unsigned)cat >= AV_TV__COUNT)
		return;
	cur = sm->tv[cat];
	/* AR4SI tiers: 0/1 none, 2..31 affirming, 32..95 warning, 96+ contra */
	if (cur == AV_AR_NO_CLAIM || value > cur)
		sm->tv[cat] = value;
}

void
av_submod_reason(struct av_submod *sm, enum av_code code,
    enum av_status severity, const char *claim, json_t *expected,
    json_t *actual, const char *message)
{
	json_t	*r;
	size_t	 i;

	if (severity != AV_STATUS_WARNING)
		severity = AV_STATUS_CONTRAINDICATED;
	if ((r = json_object()) != NULL) {
		json_object_set_new(r, "code", json_string(av_code_str(code)));
		json_object_set_new(r, "severity",
		    json_string(av_status_str(severity)));
		if (claim != NULL)
			json_object_set_new(r, "claim", json_string(claim));
		if (expected != NULL)
			json_object_set(r, "expected", expected);
		if (actual != NULL)
			json_object_set(r, "actual", actual);
		if (message != NULL)
			json_object_set_new(r, "message", json_string(message));
		json_array_append_new(sm->reasons, r);
	}
	json_decref(expected);
	json_decref(actual);
	if (severity > sm->status)
		sm->status = severity;
	for (i = 0; i < sizeof(tv_map) / sizeof(tv_map[0]); i++)
		if (tv_map[i].code == code)
			break;
	if (i < sizeof(tv_map) / sizeof(tv_map[0]))
		/* a warning keeps a warning-tier value (33: unrecognized runtime) */
		av_submod_tv(sm, tv_map[i].cat, severity != AV_STATUS_WARNING ?
		    tv_map[i].value : (tv_map[i].value >= AV_AR_WARN &&
		    tv_map[i].value < AV_AR_CONTRA) ? tv_map[i].value : AV_AR_WARN);
	else
		av_submod_tv(sm, AV_TV_INSTANCE, severity ==
		    AV_STATUS_WARNING ? AV_AR_WARN : AV_AR_CONTRA);
}

void
av_submod_fail(struct av_submod *sm, const struct av_err *e)
{
	av_submod_reason(sm, e->code, AV_STATUS_CONTRAINDICATED, NULL, NULL,
	    NULL, e->reason != NULL ? e->reason : "verification failed");
}

bool
av_submod_failed(const struct av_submod *sm)
{
	return sm->status == AV_STATUS_CONTRAINDICATED;
}

/*
 * The attested key as {"akpub": base64url} (draft-fv-rats-ear
 * ear.veraison.key-attestation).  p is borrowed.  Returns 0, or -1 when
 * out of memory, leaving the submod as it was.
 */
int
av_submod_key_attestation(struct av_submod *sm, const uint8_t *p, size_t n)
{
	char	*b64;
	json_t	*ka;

	if ((b64 = av_b64url_encode(p, n)) == NULL)
		return -1;
	ka = json_pack("{s:s}", "akpub", b64);
	free(b64);
	if (ka == NULL)
		return -1;
	json_decref(sm->key_attestation);
	sm->key_attestation = ka;
	return 0;
}
