/*
 * attestd - freshness binding of the request nonce and runtime data in a
 * field of the evidence (include/av/binding.h), shared by the backends:
 * aws-nitro user_data / nonce, sev-snp REPORT_DATA, tpm extraData,
 * nvidia-gpu's SPDM nonce (and tdx report_data).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "av/binding.h"
#include "av/codec.h"

/* Whether runtime data takes part, as the rule's flags say. */
static bool
has_rt(const struct av_ctx *ctx, unsigned flags)
{
	if (flags & AV_BIND_F_IGNORE_RT)
		return false;
	if (flags & AV_BIND_F_EMPTY_RT)
		return ctx->runtime_data != NULL && ctx->runtime_data_len > 0;
	return ctx->runtime_data != NULL;
}

/* out = md(nonce || runtime_data if rt).  Returns 0/-1. */
static int
nonce_hash(const EVP_MD *md, const struct av_ctx *ctx, bool rt, uint8_t *out)
{
	EVP_MD_CTX	*m;
	bool		 ok;

	if ((m = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(m, md, NULL) == 1 &&
	    EVP_DigestUpdate(m, ctx->nonce, ctx->nonce_len) == 1 &&
	    (!rt || EVP_DigestUpdate(m, ctx->runtime_data,
	    ctx->runtime_data_len) == 1) &&
	    EVP_DigestFinal_ex(m, out, NULL) == 1;
	EVP_MD_CTX_free(m);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

/* field == nonce followed by zero bytes up to fieldlen. */
static bool
padded_nonce(const struct av_ctx *ctx, const uint8_t *field, size_t fieldlen)
{
	uint8_t acc = 0;

	if (ctx->nonce_len > fieldlen)
		return false;
	for (size_t i = ctx->nonce_len; i < fieldlen; i++)
		acc |= field[i];
	return av_memeq_ct(field, ctx->nonce, ctx->nonce_len) && acc == 0;
}

/* Sets res->matched for the forms asked; res->rt is already set. */
static int
match(const struct av_ctx *ctx, const uint8_t *field, size_t fieldlen,
    unsigned forms, struct av_binding *res)
{
	uint8_t	h[32];

	if (forms & AV_BIND_SHA512) {
		if (nonce_hash(EVP_sha512(), ctx, res->rt, res->sha512) != 0)
			return -1;
		res->have_sha512 = true;
		if (field != NULL && fieldlen == 64 &&
		    av_memeq_ct(field, res->sha512, 64))
			res->matched |= AV_BIND_SHA512;
	}
	if (forms & AV_BIND_SHA256) {
		if (nonce_hash(EVP_sha256(), ctx, res->rt, h) != 0)
			return -1;
		if (field != NULL && fieldlen == 32 && av_memeq_ct(field, h, 32))
			res->matched |= AV_BIND_SHA256;
	}
	if (field == NULL)
		return 0;
	if ((forms & AV_BIND_PADDED) && padded_nonce(ctx, field, fieldlen))
		res->matched |= AV_BIND_PADDED;
	if ((forms & AV_BIND_EQUAL) && ctx->nonce_len == fieldlen &&
	    av_memeq_ct(field, ctx->nonce, fieldlen))
		res->matched |= AV_BIND_EQUAL;
	if ((forms & AV_BIND_PREFIX) && ctx->nonce_len >= fieldlen &&
	    av_memeq_ct(field, ctx->nonce, fieldlen))
		res->matched |= AV_BIND_PREFIX;
	return 0;
}

/*
 * Whether the request has a nonce; records nonce_mismatch when the policy
 * requires one and there is none.  Returns true when there is one.
 */
bool
av_binding_has_nonce(const struct av_ctx *ctx,
    const struct av_binding_rule *rule, struct av_submod *sm)
{
	if (ctx->nonce != NULL && (ctx->nonce_len > 0 ||
	    !(rule->flags & AV_BIND_F_EMPTY_NONCE)))
		return true;
	if (ctx->nonce_required)
		av_submod_reason(sm, AV_E_NONCE, AV_STATUS_CONTRAINDICATED,
		    rule->claim, NULL, NULL, rule->no_nonce_msg != NULL ?
		    rule->no_nonce_msg : "the policy requires a nonce and the "
		    "request has none");
	return false;
}

/*
 * Compare a field with the forms asked (see binding.h).  field is
 * borrowed, NULL when absent.  Returns 0 with *res filled, or -1 when a
 * digest fails.
 */
int
av_binding_match(const struct av_ctx *ctx, const uint8_t *field,
    size_t fieldlen, unsigned forms, unsigned flags, struct av_binding *res)
{
	memset(res, 0, sizeof(*res));
	res->nonce = true;
	res->rt = has_rt(ctx, flags);
	return match(ctx, field, fieldlen, forms, res);
}

/* The first of the forms in order of preference (hashes first). */
static unsigned
first_form(unsigned forms)
{
	static const unsigned order[] = { AV_BIND_SHA512, AV_BIND_SHA256,
	    AV_BIND_PADDED, AV_BIND_EQUAL, AV_BIND_PREFIX };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (forms & order[i])
			return order[i];
	return 0;
}

/* The "expected" value of a mismatch reason (new reference or NULL). */
static int
expected_json(const struct av_ctx *ctx, size_t fieldlen, unsigned expect,
    enum av_code code, struct av_binding *res, json_t **out)
{
	uint8_t	*pad;

	*out = NULL;
	if (expect == 0) {
		if (code == AV_E_NONCE)
			*out = av_json_hex(ctx->nonce, ctx->nonce_len);
		return 0;
	}
	if (expect == AV_BIND_PADDED && ctx->nonce_len <= fieldlen) {
		if ((pad = calloc(1, fieldlen > 0 ? fieldlen : 1)) == NULL)
			return -1;
		memcpy(pad, ctx->nonce, ctx->nonce_len);
		*out = av_json_hex(pad, fieldlen);
		free(pad);
		return 0;
	}
	if (!res->have_sha512) {
		if (nonce_hash(EVP_sha512(), ctx, res->rt, res->sha512) != 0)
			return -1;
		res->have_sha512 = true;
	}
	*out = av_json_hex(res->sha512, 64);
	return 0;
}

/*
 * Check one field against rule and record the mismatch, if any (see
 * binding.h).  field is borrowed, NULL when absent.  Returns res->ok.
 */
bool
av_binding_check(const struct av_ctx *ctx, const uint8_t *field,
    size_t fieldlen, const struct av_binding_rule *rule,
    struct av_submod *sm, struct av_binding *res)
{
	unsigned	 forms, ask, expect;
	json_t		*exp;

	memset(res, 0, sizeof(*res));
	if (!av_binding_has_nonce(ctx, rule, sm))
		return false;
	res->nonce = true;
	res->rt = has_rt(ctx, rule->flags);
	forms = res->rt ? rule->forms_rt : rule->forms;
	expect = res->rt ? rule->expect_rt : rule->expect;
	ask = forms;
	if (res->rt && (rule->flags & AV_BIND_F_RT_NONCE))
		ask |= AV_BIND_PADDED;
	if (field != NULL && match(ctx, field, fieldlen, ask, res) != 0)
		goto internal;
	if ((res->form = first_form(res->matched & forms)) != 0) {
		res->ok = true;
		res->key = res->rt && (res->form & AV_BIND_HASHES) != 0;
		return true;
	}
	res->code = AV_E_NONCE;
	if (res->rt && (!(rule->flags & AV_BIND_F_RT_NONCE) ||
	    (res->matched & AV_BIND_PADDED)))
		res->code = AV_E_BINDING;
	if (expected_json(ctx, fieldlen, expect, res->code, res, &exp) != 0)
		goto internal;
	av_submod_reason(sm, res->code, AV_STATUS_CONTRAINDICATED, rule->claim,
	    exp, field != NULL ? av_json_hex(field, fieldlen) : json_null(),
	    res->code == AV_E_NONCE ? rule->nonce_msg : rule->binding_msg);
	return false;
 internal:
	res->code = AV_E_INTERNAL;
	av_submod_reason(sm, AV_E_INTERNAL, AV_STATUS_CONTRAINDICATED,
	    rule->claim, NULL, NULL, "internal error");
	return false;
}
