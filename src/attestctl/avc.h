/*
 * attestctl - the operator and CI commands (docs/cli.md, docs/ci.md):
 * policy check|diff|test (policy_cmd.c) and refvals add|import
 * (refvals.c), and the helpers they share.
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
 * An evidence file as a request: a JSON request body (POST /v1/attest),
 * or one raw item (binary, base64 or hex text; type detected unless
 * given).  Returns 0 and *out, or -1 with why set and *ex the exit
 * status (66 unreadable, 64 unusable).
 */
int	avc_load_request(const char *path, const char *type,
	    struct av_request **out, char *why, size_t whylen, int *ex);
/*
 * Trust anchors (built-in pins + trust_dir) and collateral (coll_dir,
 * may be NULL).  Returns 0, or -1 after printing why.
 */
int	avc_env(const char *trust_dir, const char *coll_dir,
	    struct av_trust **trust, struct av_collateral **coll);

#endif
