/*
 * attestd - the daemon's private interface: options, the configuration
 * snapshot (STYLE.md s.6), the HTTP front end and its handlers.
 */
#ifndef ATTESTD_H
#define ATTESTD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "av/collateral.h"
#include "av/err.h"
#include "av/verdict.h"

struct MHD_Connection;
struct av_trust;
struct av_policy_set;
struct av_policy;
struct av_collateral;
struct av_request;

/* ---- options (config file keys = command-line flags) ------------------ */

/*
 * Every setting.  Strings are owned (NULL: unset).  A config file key is
 * the field name ("trust_dir"); the flag is the same with dashes
 * ("--trust-dir").  The command line overrides the file, which overrides
 * the built-in defaults.
 */
struct avd_opts {
	char		*config;		/* --config FILE */
	char		*listen;		/* "127.0.0.1:8080" */
	char		*policies;		/* policy directory */
	char		*trust_dir;		/* DIR/<platform>/ *.pem */
	char		*collateral_dir;	/* collateral files, any layout */
	char		*collateral_cache;	/* on-disk fetch cache */
	bool		 collateral_online;	/* fetch from vendor services */
	bool		 require_issued_nonce;	/* only nonces from /v1/challenge */
	char		*amd_kds_url;		/* vendor services */
	char		*intel_pcs_url;
	char		*nvidia_rim_url;
	char		*nvidia_ocsp_url;
	uint64_t	 collateral_timeout_s;
	char		*key;			/* verdict key (PEM) */
	char		*key_alg;		/* "ES256", "ES384", "EdDSA" */
	char		*state_dir;		/* generated key, retired keys */
	char		*port_file;		/* write the bound port here */
	char		*default_policy;	/* policy when a request names none */
	char		*tls_cert;		/* PEM certificate chain */
	char		*tls_key;		/* PEM private key */
	char		*admin_tokens;		/* NAME SHA256HEX [TENANT] lines */
	char		*log_level;		/* debug, info, warn, error */
	bool		 access_log;		/* a JSON line per request */
	uint64_t	 max_body;		/* bytes (413 beyond) */
	uint64_t	 max_header;		/* bytes of request head */
	uint64_t	 max_conns;		/* connections in total */
	uint64_t	 max_conns_per_ip;	/* connections per client address */
	uint64_t	 conn_timeout_s;	/* idle connection timeout */
	char		*thread_model;		/* "per-connection" or "pool" */
	uint64_t	 threads;		/* pool: HTTP threads; 0: cores */
	uint64_t	 workers;		/* verifications at once; 0: cores */
	uint64_t	 max_queue;		/* verifications waiting (503) */
	uint64_t	 verdict_ttl_s;		/* exp = iat + this */
	uint64_t	 nonce_ttl_s;		/* challenge lifetime */
	uint64_t	 max_nonces;		/* outstanding challenges */
	char		*nonce_store;		/* "memory" or redis://... */
	char		*nonce_store_prefix;	/* Redis key prefix */
	char		*nonce_store_password_file; /* Redis AUTH password */
	uint64_t	 nonce_store_timeout_ms; /* connect and command */
	uint64_t	 nonce_store_pool;	/* Redis connections at most */
	uint64_t	 key_grace_s;		/* retired keys stay in the JWKS */
	uint64_t	 drain_timeout_s;	/* SIGTERM: wait for requests */
	uint64_t	 rate_per_ip;		/* requests/s per address (0: off) */
	uint64_t	 policy_poll_ms;	/* policy dir watch (0: off) */
};

/*
 * Fill o from the built-in defaults, then the config file (--config, if
 * any), then the command line.  Handles --help and --version itself
 * (exit 0).  *check is set for --check-config.  Returns 0, or -1 after
 * printing a usage error to stderr.
 */
int	avd_opts_load(int argc, char **argv, struct avd_opts *o, bool *check);
void	avd_opts_cleanup(struct avd_opts *);
/* The options as JSON for --check-config (new reference). */
json_t	*avd_opts_json(const struct avd_opts *);

/* ---- the configuration snapshot ------------------------------------------ */

/* A public key that no longer signs but stays in the JWKS for a while. */
struct avd_retired {
	json_t		*jwk;		/* owned */
	int64_t		 retired_at;	/* unix s */
};

struct avd_tokens;

/*
 * Everything a request needs, immutable once installed.  Requests
 * acquire it once and release it in the completed callback; a reload
 * builds a new one aside and swaps it in only when it is complete.
 */
struct avd_cfg {
	atomic_uint		 refs;
	uint64_t		 generation;	/* 1, 2, ... per install */
	int64_t			 loaded_at;	/* unix s */
	const struct avd_opts	*opts;		/* borrowed: lives for the process */
	struct av_trust		*trust;		/* owned */
	struct av_policy_set	*policies;	/* owned; NULL: none loaded */
	struct av_collateral	*coll;		/* owned; may be NULL */
	struct av_coll_fetch_cfg fetch;		/* what coll was made with */
	struct av_signer	*signer;	/* owned: signs verdicts */
	struct avd_retired	*retired;	/* owned array */
	size_t			 nretired;
	struct avd_tokens	*tokens;	/* owned; NULL: no admin API */
	char			*jwks;		/* serialised JWKS (owned) */
	size_t			 jwks_len;
	char			*policies_dir;	/* resolved directory (owned) */
	char			*key_file;	/* resolved key file (owned) */
	char			*cache_dir;	/* collateral cache (owned) */
};

/*
 * Build a snapshot from o.  prev (may be NULL) carries retired keys and
 * is where a changed key is retired from.  Every failure is logged with
 * its detail.  Returns a snapshot with one reference, or NULL.
 */
struct avd_cfg *avd_cfg_build(const struct avd_opts *o,
	    const struct avd_cfg *prev);
/* Install c as current (its reference moves); release the old one. */
void	avd_cfg_install(struct avd_cfg *c);
/* Take a reference to the current snapshot (never NULL once installed). */
struct avd_cfg *avd_cfg_acquire(void);
void	avd_cfg_release(struct avd_cfg *);
/* Uninstall and release the current snapshot (at exit). */
void	avd_cfg_clear(void);
/*
 * Rebuild from o and install on success; on failure keep the current
 * one.  Serialised.  Returns 0 or -1.
 */
int	avd_reload(const struct avd_opts *o, const char *why);
/* Whether a snapshot with policies and a key is installed. */
bool	avd_ready(void);
/* Directory for runtime state (created 0700 if needed). Owned by caller. */
char	*avd_state_dir(const struct avd_opts *o);

/* ---- admin tokens (tokens.c) ------------------------------------------ */

/*
 * Load NAME SHA256HEX [TENANT] lines (# comments, blank lines).  Returns
 * a new set or NULL after logging the file, line and reason.
 */
struct avd_tokens *avd_tokens_load(const char *file);
void	avd_tokens_free(struct avd_tokens *);
/*
 * Check an Authorization header value ("Bearer <token>") in constant
 * time per entry.  Returns the token's name (borrowed) or NULL.
 */
const char *avd_tokens_check(const struct avd_tokens *, const char *authz,
	    const char **tenant);

/* ---- nonces (noncestore.c: memory or Redis) ----------------------------- */

enum avd_nonce_state { AVD_NONCE_OK, AVD_NONCE_UNKNOWN, AVD_NONCE_USED,
	AVD_NONCE_EXPIRED, AVD_NONCE_FULL, AVD_NONCE_UNAVAILABLE };

/*
 * Check and remember --nonce-store and its companions (no connection is
 * made; --check-config calls it too).  Returns 0, or -1 after printing
 * the reason to stderr.
 */
int	avd_nonce_configure(const struct avd_opts *o);
/* Start the configured store (Redis may still be down).  Returns 0/-1. */
int	avd_nonce_start(void);
void	avd_nonce_stop(void);
/* "memory" or "redis". */
const char *avd_nonce_store_kind(void);
/* The configured store for --check-config (new reference; no secrets). */
json_t	*avd_nonce_describe(void);
/*
 * Issue a fresh 32-byte nonce at time now: OK (out, *expires_at set),
 * FULL (memory store full, no randomness) or UNAVAILABLE (Redis down).
 * Thread safe.
 */
enum avd_nonce_state avd_nonce_issue(int64_t now, uint8_t out[32],
	    int64_t *expires_at);
/* Consume a nonce: single use; UNAVAILABLE when the store is down. */
enum avd_nonce_state avd_nonce_consume(const uint8_t *p, size_t n,
	    int64_t now);
/* Whether the store answers (Redis: a PING within the timeout). */
bool	avd_nonce_ready(void);

/* This process's nonce counters for /metrics. */
struct avd_nonce_stats {
	const char	*kind;		/* static */
	bool		 up;		/* last Redis call succeeded */
	bool		 has_outstanding; /* memory only: Redis cannot tell */
	size_t		 outstanding;
	unsigned long	 issued, ok, used, expired, unknown, unavailable;
};
void	avd_nonce_stats(int64_t now, struct avd_nonce_stats *);

/* ---- metrics (metrics.c) ----------------------------------------------- */

void	avd_metrics_request(const char *route, unsigned code);
void	avd_metrics_verdict(const char *platform, const char *status);
void	avd_metrics_latency(double seconds);
void	avd_metrics_reload(bool ok);
/* Prometheus text exposition (malloc'd). */
char	*avd_metrics_render(const struct avd_cfg *, size_t *len);

/* ---- HTTP (http.c) ------------------------------------------------------ */

struct avd_req;

/*
 * Start the HTTP server on o->listen.  Writes the bound port to
 * o->port_file when set and logs it.  Returns 0 or -1.
 */
int	avd_http_start(const struct avd_opts *o);
/* Stop accepting, wait up to timeout_s for in-flight requests, stop. */
void	avd_http_stop(int64_t timeout_s);
/*
 * Attest requests verifying now and waiting for a place, and open
 * connections (for /metrics).
 */
void	avd_http_load(size_t *running, size_t *waiting, size_t *conns);

/* Reply helpers for handlers: each queues a response (body stolen). */
int	avd_reply_json(struct avd_req *, unsigned status, json_t *body);
int	avd_reply_verdict(struct avd_req *, unsigned status, json_t *body,
	    const char *jwt);
int	avd_reply_error(struct avd_req *, unsigned status, const char *code,
	    const char *message);
/* avd_reply_json() with one further header (hname: hval), e.g. ETag. */
int	avd_reply_json_hdr(struct avd_req *, unsigned status, json_t *body,
	    const char *hname, const char *hval);

/* What a handler sees. */
struct avd_req {
	struct MHD_Connection	*conn;
	struct avd_cfg		*cfg;		/* acquired */
	const char		*method;	/* borrowed from MHD */
	const char		*url;		/* borrowed from MHD */
	char			*ctype;		/* media type, lower case, no
						   parameters (owned) or NULL */
	char			*body;		/* request body (owned) */
	size_t			 len;
	size_t			 cap;
	bool			 too_large;
	size_t			 discarded;	/* bytes dropped past the cap */
	int			(*handler)(struct avd_req *);
	/* Work done on a verification worker (connection suspended). */
	bool			 deferred;	/* replies are stored, not queued */
	bool			 worked;	/* the worker has run the handler */
	bool			 pend;		/* a stored reply is waiting */
	unsigned		 pend_status;
	char			*pend_body;	/* owned until queued */
	size_t			 pend_len;
	const char		*pend_ctype;	/* static */
	bool			 queued;	/* a response is queued */
	unsigned		 status;	/* HTTP status sent */
	const char		*route;		/* route label for metrics */
	const char		*verdict;	/* overall status, if any */
	char			*admin;		/* token name used (owned) */
	double			 t0;		/* monotonic seconds */
	size_t			 bytes_out;
	char			 remote[64];
};

/* A query parameter / request header (borrowed from MHD) or NULL. */
const char *avd_query(struct avd_req *, const char *name);
const char *avd_header(struct avd_req *, const char *name);

/* Per-address request rate limit (ratelimit.c): false means 429. */
bool	avd_rate_allow(const char *remote, double now);
/*
 * A CMW collection (draft-ietf-rats-msg-wrap, JSON) as a request: each
 * label is a submod, each record [media type, base64url, ind?] one
 * item.  nonce (base64url) and policy come from the query (may be NULL).
 * Returns 0 and *out, or -1 with e (AV_E_BAD_REQUEST).
 */
int	avd_cmw_request(const json_t *doc, const char *nonce,
	    const char *policy, struct av_request **out, struct av_err *e);
/* Whether POST /v1/attest accepts this media type (attest.c). */
bool	avd_attest_ctype_ok(const char *ctype);

/* Route handlers (attest.c, admin.c). */
int	avd_h_attest(struct avd_req *);
int	avd_h_challenge(struct avd_req *);
int	avd_h_jwks(struct avd_req *);
int	avd_h_healthz(struct avd_req *);
int	avd_h_readyz(struct avd_req *);
int	avd_h_metrics(struct avd_req *);
int	avd_h_reload(struct avd_req *);
int	avd_h_rotate_key(struct avd_req *);
/* Every /v1/policies route: list, get, put, delete, rollback, dry run. */
int	avd_h_policy_api(struct avd_req *);
/* Watch the policy directory for edits (policy_api.c). Returns 0/-1. */
int	avd_policy_watch_start(const struct avd_opts *o);
void	avd_policy_watch_stop(void);

/* The options in force (set once by main before the server starts). */
extern const struct avd_opts *avd_options;

/* Monotonic seconds. */
double	avd_mono(void);

#endif
