/*
 * attestd - JSON reference-value policies (docs/policies.md), loaded
 * strictly and compiled into immutable structs.
 */
#ifndef AV_POLICY_H
#define AV_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/err.h"

struct av_backend;

/* Why a policy did not load: for operators, so it may carry detail. */
struct av_policy_err {
	char	file[512];	/* file name, or "" */
	char	path[256];	/* JSON path: "evidence.aws-nitro.pcr0[1]" */
	char	reason[512];	/* "expected 96 hex digits, got 95" */
};
/* Set perr (path and printf-style reason). Always returns -1. */
int	av_policy_errf(struct av_policy_err *, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A set of accepted byte strings of one length ("any-of" lists). */
struct av_hexlist {
	size_t		  len;		/* bytes per value */
	size_t		  n;
	uint8_t		**v;		/* n values of len bytes (owned) */
};
void	av_hexlist_cleanup(struct av_hexlist *);
bool	av_hexlist_contains(const struct av_hexlist *, const uint8_t *p,
	    size_t n);
/* The list as a JSON array of hex strings (new reference). */
json_t	*av_hexlist_json(const struct av_hexlist *);

/*
 * Helpers for backends compiling their section.
 * av_pol_keys: every key of obj must be in the NULL-terminated allowed[].
 * av_pol_hexlist: v is a hex string or an array of them, each exactly
 *   len bytes (len 0: any length, all equal); duplicates rejected.
 * av_pol_bool / av_pol_uint: typed scalars.
 * All return 0, or -1 with perr set (path = path + "." + key).
 */
AV_MUST_USE int av_pol_keys(const json_t *obj, const char *path,
    const char *const allowed[], struct av_policy_err *);
AV_MUST_USE int av_pol_hexlist(const json_t *v, const char *path, size_t len,
    struct av_hexlist *out, struct av_policy_err *);
AV_MUST_USE int av_pol_bool(const json_t *v, const char *path, bool *out,
    struct av_policy_err *);
AV_MUST_USE int av_pol_uint(const json_t *v, const char *path, uint64_t max,
    uint64_t *out, struct av_policy_err *);

enum av_nonce_rule { AV_NONCE_OPTIONAL, AV_NONCE_REQUIRED };

struct av_policy_section {
	const struct av_backend	*backend;	/* borrowed */
	void			*compiled;	/* owned by backend->policy_free */
};

/* One compiled policy.  Immutable after load; refcounted. */
struct av_policy {
	char			*id;
	int64_t			 version;
	char			*description;
	enum av_nonce_rule	 nonce;
	int64_t			 max_age_s;	/* -1: no limit */
	size_t			 nrequired;	/* submods that must be present */
	char			**required;	/* owned names */
	size_t			 nsections;
	struct av_policy_section *sections;
	json_t			*source;	/* the document as loaded */
	char			*ref;		/* "<id>@<version>" */
	char			*tenant;	/* owned; NULL: global.  A tenant's
						   policy has id "<tenant>/<id>" */
};

/*
 * Compile a policy document.  The caller keeps its reference to doc.
 * Returns 0 and *out (av_policy_free), or -1 with perr set.
 */
AV_MUST_USE int av_policy_compile(const json_t *doc, struct av_policy **out,
    struct av_policy_err *);
/* Load and compile one file (JSON_REJECT_DUPLICATES). */
AV_MUST_USE int av_policy_load_file(const char *file, struct av_policy **out,
    struct av_policy_err *);
void	av_policy_free(struct av_policy *);
/*
 * Put a compiled policy into a tenant's namespace: id becomes
 * "<tenant>/<id>" and ref "<tenant>/<id>@<version>" (source keeps the
 * document's own "id").  Returns 0 or -1 (out of memory).
 */
AV_MUST_USE int av_policy_scope(struct av_policy *, const char *tenant);
/* The compiled section for a backend, or NULL when the policy has none. */
const void *av_policy_section(const struct av_policy *,
    const struct av_backend *);

/* A set of policies by id (a directory). Immutable after load. */
struct av_policy_set;
/*
 * Load every *.json in dir (names starting with '.' and "schema.json"
 * excepted), and every *.json in dir/tenants/<tenant>/ as that tenant's
 * policies (docs/policies.md).  All must load: on the first failure
 * returns -1 with perr naming the file (parse first, swap only on
 * success).
 */
AV_MUST_USE int av_policy_set_load_dir(const char *dir,
    struct av_policy_set **out, struct av_policy_err *);
void	av_policy_set_free(struct av_policy_set *);
const struct av_policy *av_policy_set_find(const struct av_policy_set *,
    const char *id);
size_t	av_policy_set_count(const struct av_policy_set *);
const struct av_policy *av_policy_set_at(const struct av_policy_set *,
    size_t i);

#endif
