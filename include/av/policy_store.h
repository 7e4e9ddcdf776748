/*
 * attestd - versioned policy storage on disk (docs/policies.md, "Storage
 * and versions"): the policy directory stays the source of truth.
 *
 *   DIR/<id>.json                       current version of a policy
 *   DIR/.versions/<id>/v<N>.json        every version ever stored
 *   DIR/tenants/<tenant>/<id>.json      a tenant's policy ("<tenant>/<id>")
 *   DIR/tenants/<tenant>/.versions/...  its versions
 *   DIR/.audit.jsonl                    append-only audit log
 *
 * Every write is atomic (temp file, fsync, rename, fsync of the
 * directory), so a crash leaves each file either old or new, never torn.
 * Names starting with '.' are never loaded as policies.
 */
#ifndef AV_POLICY_STORE_H
#define AV_POLICY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "av/err.h"
#include "av/policy.h"

/* Why a store operation failed; maps onto HTTP statuses. */
enum av_pstore_kind {
	AV_PS_OK = 0,
	AV_PS_BAD_ID,		/* 400: not a valid [tenant/]id */
	AV_PS_INVALID,		/* 400: the document does not compile */
	AV_PS_NOT_FOUND,	/* 404: no such policy or version */
	AV_PS_CONFLICT,		/* 409: If-Match failed, or a name clash */
	AV_PS_IO,		/* 500: the file system failed */
};

struct av_pstore_err {
	enum av_pstore_kind	kind;
	int64_t			current;	/* CONFLICT: version on disk
						   (0: none) */
	struct av_policy_err	perr;		/* path + reason (file: logs
						   only) */
};

/* Who makes a change: recorded in the audit log. */
struct av_pstore_actor {
	const char	*token;		/* admin token name, or NULL */
	const char	*tenant;	/* the token's tenant, or NULL */
	const char	*source;	/* "api", "disk", "attestctl" */
};

struct av_pstore;

/*
 * Open the store rooted at dir (the policy directory; it must exist).
 * Removes temp files that a crash left behind (older than a minute).
 * Returns 0 and *out (av_pstore_free), or -1 with *pe set.
 */
AV_MUST_USE int av_pstore_open(const char *dir, struct av_pstore **out,
    struct av_pstore_err *pe);
void	av_pstore_free(struct av_pstore *);

/*
 * Split a full policy id ("payments" or "acme/payments") into its tenant
 * (NULL when global; copied into tenant[], at most 64 characters) and
 * local id.  Returns false when either part is invalid.
 */
bool	av_pstore_split_id(const char *full, char tenant[65],
	    const char **local);
/* Whether s is a valid tenant name: 1-64 of [A-Za-z0-9._@-], no leading '.'. */
bool	av_pstore_valid_tenant(const char *s);

/*
 * The document of version `version` (0: the current one) of policy id.
 * Returns 0 and *doc (new reference), or -1 with *pe (NOT_FOUND, ...).
 */
AV_MUST_USE int av_pstore_get(struct av_pstore *, const char *id,
    int64_t version, json_t **doc, struct av_pstore_err *pe);
/*
 * The versions kept for id, ascending, as a JSON array of integers (new
 * reference), plus the current version in *current (0: deleted).
 * Returns 0, or -1 with *pe (NOT_FOUND when nothing was ever stored).
 */
AV_MUST_USE int av_pstore_versions(struct av_pstore *, const char *id,
    json_t **list, int64_t *current, struct av_pstore_err *pe);

/*
 * Store doc as the new current version of id.  The document is copied;
 * its "id" must be absent or equal to the local id and its "version" is
 * set to one more than any version ever stored.  It must compile
 * completely (INVALID with perr otherwise: nothing is written).
 * if_match: -1 no check; 0 the policy must not exist; N the current
 * version must be N (CONFLICT otherwise).  On success *version is the
 * new version and *change (may be NULL) the audit entry written (new
 * reference).  Returns 0 or -1 with *pe.
 */
AV_MUST_USE int av_pstore_put(struct av_pstore *, const char *id,
    const json_t *doc, int64_t if_match, const struct av_pstore_actor *,
    int64_t *version, json_t **change, struct av_pstore_err *pe);
/*
 * Make the content of version `to` current again, as a new version (the
 * history stays linear).  if_match as for av_pstore_put.
 */
AV_MUST_USE int av_pstore_rollback(struct av_pstore *, const char *id,
    int64_t to, int64_t if_match, const struct av_pstore_actor *,
    int64_t *version, json_t **change, struct av_pstore_err *pe);
/*
 * Remove the current file of id; its versions stay (a rollback brings
 * it back).  if_match as for av_pstore_put.
 */
AV_MUST_USE int av_pstore_delete(struct av_pstore *, const char *id,
    int64_t if_match, const struct av_pstore_actor *, json_t **change,
    struct av_pstore_err *pe);
/*
 * Archive every current document whose version has no archived copy
 * yet (edits made on disk, e.g. by Git) and audit each as a change by
 * actor.  A version number reused with other content is audited as
 * "version_reused" and the archived copy is kept.  *changes (may be
 * NULL) receives the audit entries (new reference).  Returns 0, or -1
 * with *pe when something could not be written.
 */
AV_MUST_USE int av_pstore_sync(struct av_pstore *,
    const struct av_pstore_actor *, json_t **changes,
    struct av_pstore_err *pe);
/*
 * Append one entry (an object; "time" is added) as a line to the audit
 * log: O_APPEND, one write, fsync.  Returns 0 or -1.
 */
AV_MUST_USE int av_pstore_audit(struct av_pstore *, json_t *entry);
/* The audit log's path (borrowed). */
const char *av_pstore_audit_path(const struct av_pstore *);

/*
 * A digest of the names, sizes, inodes and modification times of every
 * policy file under dir (root and tenant namespaces): changes when a
 * file is added, removed, replaced or edited.  Returns 0 or -1.
 */
AV_MUST_USE int av_pstore_fingerprint(const char *dir, uint8_t out[32]);

/*
 * Write a file atomically: a temp file beside it (".<name>.tmp.<pid>.<n>"),
 * fsync, rename over path, fsync of the directory.  Returns 0, or -1 with
 * errno set (the temp file is removed).
 */
AV_MUST_USE int av_file_write_atomic(const char *path, const void *p,
    size_t n, mode_t mode);
/* A policy document as stored: 2-space indent, key order kept, newline. */
char	*av_policy_dump(const json_t *doc);

/*
 * Reference values added and removed between two policy documents (either
 * may be NULL: everything added or removed), per platform and claim:
 *   [{"platform": "aws-nitro", "claim": "pcr0", "added": [...],
 *     "removed": [...]},
 *    {"platform": "aws-nitro", "claim": "debug", "old": false, "new": true},
 *    {"platform": null, "claim": "freshness.max_age_s", "old": .., "new": ..}]
 * Lists (and hex strings) compare as sets, hex without regard to case;
 * other values as old -> new.  "id", "version" and "$schema" are not
 * compared.  Sorted by platform, then claim.  New reference or NULL.
 */
json_t	*av_policy_diff(const json_t *old, const json_t *new);
/*
 * The diff as text, one line per value (malloc'd, "" when no change):
 *   aws-nitro pcr0: + <hex>
 *   aws-nitro debug: false -> true
 */
char	*av_policy_diff_text(const json_t *diff);

#endif
