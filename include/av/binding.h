/*
 * attestd - freshness binding: how a field of the evidence carries the
 * request's nonce (and runtime data).  One implementation of the rules
 * the backends share (docs/platforms/<platform>.md "Binding"):
 *
 *   SHA-512(nonce || runtime_data) or SHA-256(...)   (the field is the hash)
 *   the nonce, zero-padded to the field's size
 *   the nonce itself, or its first bytes
 *
 * A backend describes which forms it accepts with and without runtime
 * data in a struct av_binding_rule, and where platforms deliberately
 * differ (which reason, which expected value) the rule says so.
 */
#ifndef AV_BINDING_H
#define AV_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "av/backend.h"
#include "av/err.h"
#include "av/result.h"

/* Forms in which a field can carry the nonce (bits). */
#define AV_BIND_SHA512	0x01u	/* SHA-512(nonce || runtime_data); 64 bytes */
#define AV_BIND_SHA256	0x02u	/* SHA-256(nonce || runtime_data); 32 bytes */
#define AV_BIND_PADDED	0x04u	/* the nonce, then zero bytes to the end */
#define AV_BIND_EQUAL	0x08u	/* the nonce, same length */
#define AV_BIND_PREFIX	0x10u	/* the nonce's first fieldlen bytes */
#define AV_BIND_HASHES	(AV_BIND_SHA512 | AV_BIND_SHA256)

/* Rule flags (bits): the deliberate differences between platforms. */
#define AV_BIND_F_EMPTY_NONCE	0x01u	/* an empty nonce is no nonce */
#define AV_BIND_F_EMPTY_RT	0x02u	/* empty runtime data is none */
#define AV_BIND_F_IGNORE_RT	0x04u	/* runtime data takes no part: the
					   forms without it apply, hashes
					   cover the nonce alone */
#define AV_BIND_F_RT_NONCE	0x08u	/* with runtime data, a mismatch is
					   binding_mismatch only if the field
					   holds the (padded) nonce, else
					   nonce_mismatch */

struct av_binding_rule {
	const char	*claim;		/* the claim reasons name */
	unsigned	 forms;		/* accepted without runtime data */
	unsigned	 forms_rt;	/* accepted with runtime data */
	/*
	 * What a mismatch reason shows as "expected", without / with
	 * runtime data: 0, the nonce for nonce_mismatch and nothing for
	 * binding_mismatch; AV_BIND_SHA512, SHA-512(nonce || runtime_data);
	 * AV_BIND_PADDED, the padded nonce (the SHA-512 when the nonce is
	 * longer than the field).
	 */
	unsigned	 expect, expect_rt;
	unsigned	 flags;		/* AV_BIND_F_* */
	/* Client-safe literals for the reasons; no_nonce NULL: generic. */
	const char	*no_nonce_msg;
	const char	*nonce_msg;	/* nonce_mismatch */
	const char	*binding_msg;	/* binding_mismatch */
};

/* What a check found. */
struct av_binding {
	bool		 nonce;		/* the request has a nonce; if not,
					   nothing else was checked */
	bool		 rt;		/* runtime data took part */
	bool		 ok;		/* an accepted form matched */
	unsigned	 form;		/* that form: the first matching of
					   SHA512, SHA256, PADDED, EQUAL,
					   PREFIX; 0 if none */
	unsigned	 matched;	/* every form checked that matched */
	bool		 key;		/* bound by a hash over runtime data:
					   the runtime data is attested */
	enum av_code	 code;		/* reason recorded, AV_OK if none */
	uint8_t		 sha512[64];	/* SHA-512(nonce || runtime_data) */
	bool		 have_sha512;	/* ... when computed */
};

/*
 * Whether the request has a nonce (with AV_BIND_F_EMPTY_NONCE in
 * rule->flags, a non-empty one).  When it has none and the policy
 * requires one, records nonce_mismatch under rule->claim.
 */
bool	av_binding_has_nonce(const struct av_ctx *,
	    const struct av_binding_rule *rule, struct av_submod *sm);

/*
 * Compare field[0..fieldlen) with each of the forms asked (no reasons,
 * no acceptance); flags are AV_BIND_F_* (runtime data).  field NULL:
 * the field is absent and matches nothing.  The digest of each hash
 * form asked is computed even then (res->sha512 for SHA512).  The
 * request must have a nonce.  Returns 0 and fills *res (matched, rt,
 * sha512), or -1 when a digest fails.
 */
AV_MUST_USE int av_binding_match(const struct av_ctx *, const uint8_t *field,
    size_t fieldlen, unsigned forms, unsigned flags, struct av_binding *res);

/*
 * The whole check of one field against rule: the request's nonce (see
 * av_binding_has_nonce()), the forms the rule accepts with or without
 * runtime data, and on a mismatch one reason under rule->claim:
 * nonce_mismatch or binding_mismatch (internal_error if a digest fails),
 * "actual" the field's hex (null when field is NULL: absent).  The key
 * attestation is left to the caller (res->key).  Returns res->ok.
 */
bool	av_binding_check(const struct av_ctx *, const uint8_t *field,
	    size_t fieldlen, const struct av_binding_rule *rule,
	    struct av_submod *sm, struct av_binding *res);

#endif
