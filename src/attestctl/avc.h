/*
 * attestctl - the operator and CI commands (docs/cli.md, docs/ci.md):
 * policy check|diff|test (policy_cmd.c) and refvals add|import
 * (refvals.c), and the inputs every command shares (load.c).
 */
#ifndef AVC_H
#define AVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/verify.h"

#define AVC_EX_OK	0
#define AVC_EX_FAIL	1	/* a check failed / differences */
#define AVC_EX_CONTRA	2
#define AVC_EX_USAGE	64
#define AVC_EX_NOINPUT	66
#define AVC_EX_SOFTWARE	70

struct av_trust;
struct av_collateral;

/* attestctl policy check|diff|test ...: returns the exit status. */
int	avc_policy(int argc, char **argv);
/* attestctl refvals add|import ...: returns the exit status. */
int	avc_refvals(int argc, char **argv);

/* A whole file ("-": stdin), at most 16 MiB, NUL-terminated; NULL+errno. */
uint8_t	*avc_read_file(const char *path, size_t *len);
/*
 * A JSON file, strictly (duplicate keys rejected).  NULL with why set
 * ("line L column C: text", or the errno text).
 */
json_t	*avc_load_json(const char *path, char *why, size_t whylen);
/*
 * An evidence file ("-": stdin) as a request (load.c): a JSON request
 * body as POST /v1/attest takes it (an object with "evidence", or
 * NVIDIA's SDK evidence list), or one raw item of the given type
 * (detected when type is NULL): a JSON document that is itself the
 * evidence (tpm, Trustee's and Azure's JSON forms), or binary, base64 or
 * hex text of it.  A JSON object without "evidence" that no backend
 * recognises, with no type given, is read as a request (and fails as
 * one).  On success *out is the caller's (av_request_free()) and, if
 * form != NULL, *form names the input form ("json-request",
 * "json-evidence", "binary", "base64", "hex").  Returns 0, or -1 with why
 * set and *ex the exit status (66 unreadable or unusable, 64 unknown
 * type).
 */
int	avc_load_request(const char *path, const char *type,
	    struct av_request **out, const char **form, char *why,
	    size_t whylen, int *ex);
/*
 * Trust anchors (built-in pins + trust_dir) and collateral (load.c):
 * from coll_dir (may be NULL) and, as fetch says (NULL: offline, no
 * cache), an on-disk cache and the vendor services; none when there is
 * neither.  The caller owns *trust and *coll.  Returns 0, or -1 after
 * printing why.
 */
struct av_coll_fetch_cfg;
int	avc_env(const char *trust_dir, const char *coll_dir,
	    const struct av_coll_fetch_cfg *fetch, struct av_trust **trust,
	    struct av_collateral **coll);

#endif
