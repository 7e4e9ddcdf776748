/*
 * attestd - trust anchors: vendor roots pinned by the SHA-256 of their
 * DER encoding (DESIGN.md s.3), plus operator anchors from a trust
 * directory DIR/<platform>/ *.pem.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/log.h"
#include "crypto/trust_int.h"

/*
 * Built-in pins.  Each is the SHA-256 of the vendor root's DER encoding
 * as the vendor publishes it; only fingerprints live here, the
 * certificates come with the evidence or the collateral.
 */
const struct av_pin av_builtin_pins[] = {
	/* AWS Nitro Enclaves User Guide, "Verifying the root of trust" */
	{ "aws-nitro", "AWS Nitro Enclaves Root-G1",
	  "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b" },
	/* AMD KDS /vcek/v1/<product>/cert_chain: ARK per product line */
	{ "sev-snp", "AMD ARK-Milan",
	  "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd" },
	{ "sev-snp", "AMD ARK-Genoa",
	  "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1" },
	{ "sev-snp", "AMD ARK-Turin",
	  "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a" },
	/* Intel PCS: Intel SGX Root CA (signs PCK, TCB signing, CRLs) */
	{ "tdx", "Intel SGX Root CA",
	  "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3" },
	/* NVIDIA attestation SDK: device identity root and RIM root */
	{ "nvidia-gpu", "NVIDIA Device Identity CA",
	  "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48" },
	{ "nvidia-rim", "NVIDIA CoRIM signing Root CA",
	  "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1" },
	/* Google Compute Engine vTPM EK/AK certificates (go-tpm-tools) */
	{ "tpm", "Google tpm_ek_v1_cloud_host_root",
	  "9bd5285f8fb18502a7947e621ffd470266f49fcd3b73e19a190f690ad32a7caf" },
	{ "tpm", "Google Cloud EK/AK CA Root",
	  "594759594b9b61524f6c8ef668f7177f7b9066bc0674f2f49fe9e052be78beb2" },
	{ NULL, NULL, NULL }
};

/* Trust files larger than this are refused (a CA bundle is ~250 KiB). */
#define AV_TRUST_MAX_FILE	(4u << 20)
/* At most this many operator anchors in a trust directory. */
#define AV_TRUST_MAX_ANCHORS	4096

/* The platform's entry in t (borrowed), or NULL when it has none. */
const struct av_trust_plat *
av_trust_plat_find(const struct av_trust *t, const char *platform)
{
	if (t == NULL || platform == NULL)
		return NULL;
	for (size_t i = 0; i < t->nplats; i++)
		if (strcmp(t->plats[i].name, platform) == 0)
			return &t->plats[i];
	return NULL;
}

/* Whether sha256 is pinned for pl (NULL: nothing is). */
bool
av_trust_plat_pinned(const struct av_trust_plat *pl, const uint8_t sha256[32])
{
	if (pl == NULL)
		return false;
	for (size_t i = 0; i < pl->npins; i++)
		if (memcmp(pl->pins[i], sha256, 32) == 0)
			return true;
	return false;
}

/* The platform's entry, created if missing.  NULL on allocation failure. */
static struct av_trust_plat *
plat_get(struct av_trust *t, const char *platform)
{
	struct av_trust_plat	*np, *pl;

	for (size_t i = 0; i < t->nplats; i++)
		if (strcmp(t->plats[i].name, platform) == 0)
			return &t->plats[i];
	if ((np = reallocarray(t->plats, t->nplats + 1, sizeof(*np))) == NULL)
		return NULL;
	t->plats = np;
	pl = &t->plats[t->nplats];
	memset(pl, 0, sizeof(*pl));
	if ((pl->name = strdup(platform)) == NULL)
		return NULL;
	if ((pl->anchors = sk_X509_new_null()) == NULL) {
		free(pl->name);
		return NULL;
	}
	t->nplats++;
	return pl;
}

static bool
platform_ok(const char *platform)
{
	return platform != NULL && *platform != '\0' &&
	    strlen(platform) < 64 && strchr(platform, '/') == NULL;
}

/*
 * Pin sha256 for platform (DESIGN.md s.3).  Duplicates are ignored.
 * Returns 0/-1.
 */
int
av_trust_add_pin(struct av_trust *t, const char *platform,
    const uint8_t sha256[32])
{
	struct av_trust_plat	*pl;
	uint8_t			(*np)[32];

	if (t == NULL || !platform_ok(platform) || sha256 == NULL)
		return -1;
	if ((pl = plat_get(t, platform)) == NULL)
		return -1;
	if (av_trust_plat_pinned(pl, sha256))
		return 0;
	if ((np = reallocarray(pl->pins, pl->npins + 1, sizeof(*np))) == NULL)
		return -1;
	pl->pins = np;
	memcpy(pl->pins[pl->npins++], sha256, 32);
	av_chain_cache_flush(t->cache);
	return 0;
}

/*
 * New trust set holding the built-in pins.  Returns a new set (caller:
 * av_trust_free) or NULL.
 */
struct av_trust *
av_trust_new(void)
{
	struct av_trust		*t;
	const struct av_pin	*p;
	uint8_t			 h[32];

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->empty = sk_X509_new_null()) == NULL ||
	    (t->cache = av_chain_cache_new()) == NULL)
		goto fail;
	for (p = av_builtin_pins; p->platform != NULL; p++) {
		if (strlen(p->sha256_hex) != 64 ||
		    av_hex_decode_fixed(p->sha256_hex, h, sizeof(h)) == -1 ||
		    av_trust_add_pin(t, p->platform, h) == -1)
			goto fail;
	}
	return t;
 fail:
	av_trust_free(t);
	return NULL;
}

/* Free a trust set (NULL-safe). */
void
av_trust_free(struct av_trust *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nplats; i++) {
		free(t->plats[i].name);
		sk_X509_pop_free(t->plats[i].anchors, X509_free);
		free(t->plats[i].pins);
	}
	free(t->plats);
	sk_X509_free(t->empty);
	av_chain_cache_free(t->cache);
	free(t);
}

/*
 * Add operator anchor x for platform; a reference is taken (x stays the
 * caller's).  An anchor already present is not added twice.  Returns 0/-1.
 */
int
av_trust_add_anchor(struct av_trust *t, const char *platform, X509 *x)
{
	struct av_trust_plat	*pl;

	if (t == NULL || !platform_ok(platform) || x == NULL)
		return -1;
	if ((pl = plat_get(t, platform)) == NULL)
		return -1;
	for (int i = 0; i < sk_X509_num(pl->anchors); i++)
		if (X509_cmp(sk_X509_value(pl->anchors, i), x) == 0)
			return 0;
	/*
	 * Fill OpenSSL's lazily computed extension cache now, while the set
	 * is built by one thread: afterwards request threads only read it.
	 */
	if (X509_check_purpose(x, -1, 0) != 1) {
		ERR_clear_error();
		return -1;
	}
	if (X509_up_ref(x) != 1)
		return -1;
	if (sk_X509_push(pl->anchors, x) <= 0) {
		X509_free(x);
		return -1;
	}
	av_chain_cache_flush(t->cache);
	return 0;
}

/* Number of pins (built-in and operator) plus operator anchors. */
size_t
av_trust_count(const struct av_trust *t, const char *platform)
{
	const struct av_trust_plat	*pl;

	if ((pl = av_trust_plat_find(t, platform)) == NULL)
		return 0;
	return pl->npins + (size_t)sk_X509_num(pl->anchors);
}

/*
 * Whether x (borrowed) is an anchor for platform: pinned by its DER
 * SHA-256, or equal to an operator anchor.
 */
bool
av_trust_is_anchor(const struct av_trust *t, const char *platform, X509 *x)
{
	const struct av_trust_plat	*pl;
	uint8_t				 h[32];

	if (x == NULL || (pl = av_trust_plat_find(t, platform)) == NULL)
		return false;
	if (av_x509_sha256(x, h) == 0 && av_trust_plat_pinned(pl, h))
		return true;
	for (int i = 0; i < sk_X509_num(pl->anchors); i++)
		if (X509_cmp(sk_X509_value(pl->anchors, i), x) == 0)
			return true;
	return false;
}

/* Operator anchors of platform: borrowed, possibly empty, never NULL. */
STACK_OF(X509) *
av_trust_anchors(const struct av_trust *t, const char *platform)
{
	const struct av_trust_plat	*pl;

	if ((pl = av_trust_plat_find(t, platform)) == NULL)
		return t->empty;
	return pl->anchors;
}

/* ---- trust directory ------------------------------------------------- */

/* Certificates read from the directory, applied only when all parsed. */
struct pending {
	char	*platform;	/* owned */
	X509	*x;		/* owned */
};

static char *
path_join(const char *a, const char *b)
{
	size_t	 n = strlen(a) + 1 + strlen(b) + 1;
	char	*p;

	if ((p = malloc(n)) == NULL)
		return NULL;
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* Read a whole regular file of at most AV_TRUST_MAX_FILE bytes. */
static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE		*f;
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || (uintmax_t)st.st_size > AV_TRUST_MAX_FILE)
		goto out;
	if ((buf = malloc((size_t)st.st_size)) == NULL)
		goto out;
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = n;
 out:
	fclose(f);
	return buf;
}

static int
filter_visible(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static bool
is_pem_name(const char *name)
{
	size_t	n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".pem") == 0;
}

static void
log_anchor(const char *platform, const char *file, X509 *x)
{
	char	 subj[256], *hex = NULL;
	uint8_t	 h[32];

	if (X509_NAME_oneline(X509_get_subject_name(x), subj,
	    sizeof(subj)) == NULL)
		snprintf(subj, sizeof(subj), "?");
	if (av_x509_sha256(x, h) == 0)
		hex = av_hex_encode(h, sizeof(h));
	av_log(AV_LOG_INFO, "trust_anchor_loaded", "platform", platform,
	    "file", file, "subject", subj, "sha256", hex, NULL);
	if (X509_self_signed(x, 0) != 1)
		av_log(AV_LOG_WARN, "trust_anchor_not_self_signed",
		    "platform", platform, "file", file, "subject", subj,
		    "note", "chains must end at a self-signed root", NULL);
	ERR_clear_error();
	free(hex);
}

/* Read every *.pem in dir (one platform) into *pend. Returns 0/-1. */
static int
load_platform(const char *platform, const char *dir, struct pending **pend,
    size_t *npend, struct av_err *e)
{
	struct dirent	**names = NULL;
	struct pending	 *np;
	STACK_OF(X509)	 *sk = NULL;
	uint8_t		 *buf = NULL;
	char		 *path = NULL;
	size_t		  len;
	int		  n, i, rc = -1;

	if ((n = scandir(dir, &names, filter_visible, alphasort)) == -1) {
		av_log(AV_LOG_ERROR, "trust_dir_unreadable", "dir", dir,
		    "error", strerror(errno), NULL);
		return AV_FAIL(e, AV_E_CONFIG, "trust directory not readable");
	}
	for (i = 0; i < n; i++) {
		if (!is_pem_name(names[i]->d_name))
			continue;
		if ((path = path_join(dir, names[i]->d_name)) == NULL) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		if ((buf = read_file(path, &len)) == NULL) {
			av_log(AV_LOG_ERROR, "trust_file_unreadable", "file",
			    path, NULL);
			AV_FAIL(e, AV_E_CONFIG, "trust file not readable");
			goto out;
		}
		if ((sk = av_x509_parse_any(buf, len)) == NULL) {
			av_log(AV_LOG_ERROR, "trust_file_invalid", "file",
			    path, NULL);
			AV_FAIL(e, AV_E_CONFIG,
			    "trust file holds no valid certificate");
			goto out;
		}
		while (sk_X509_num(sk) > 0) {
			if (*npend >= AV_TRUST_MAX_ANCHORS) {
				AV_FAIL(e, AV_E_CONFIG,
				    "too many trust anchors");
				goto out;
			}
			if ((np = reallocarray(*pend, *npend + 1,
			    sizeof(*np))) == NULL) {
				AV_FAIL(e, AV_E_NOMEM, "out of memory");
				goto out;
			}
			*pend = np;
			if ((np[*npend].platform = strdup(platform)) == NULL) {
				AV_FAIL(e, AV_E_NOMEM, "out of memory");
				goto out;
			}
			np[*npend].x = sk_X509_shift(sk);
			log_anchor(platform, path, np[*npend].x);
			(*npend)++;
		}
		sk_X509_free(sk);
		sk = NULL;
		free(buf);
		buf = NULL;
		free(path);
		path = NULL;
	}
	rc = 0;
 out:
	sk_X509_pop_free(sk, X509_free);
	free(buf);
	free(path);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/*
 * Add operator anchors from DIR/<platform>/ *.pem (every certificate of
 * every file; files not ending in .pem are ignored).  Everything is read
 * and parsed before anything is added: on failure t is unchanged
 * (short of running out of memory while adding).
 * Returns 0, or -1 with e set (AV_E_CONFIG, AV_E_NOMEM).
 */
int
av_trust_load_dir(struct av_trust *t, const char *dir, struct av_err *e)
{
	struct dirent	**names = NULL;
	struct pending	 *pend = NULL;
	struct stat	  st;
	size_t		  npend = 0, i;
	char		 *sub = NULL;
	int		  n, k, rc = -1;

	if (t == NULL || dir == NULL)
		return AV_FAIL(e, AV_E_CONFIG, "no trust directory");
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    (n = scandir(dir, &names, filter_visible, alphasort)) == -1) {
		av_log(AV_LOG_ERROR, "trust_dir_unreadable", "dir", dir, NULL);
		return AV_FAIL(e, AV_E_CONFIG, "trust directory not readable");
	}
	for (k = 0; k < n; k++) {
		if ((sub = path_join(dir, names[k]->d_name)) == NULL) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
		if (stat(sub, &st) == -1 || !S_ISDIR(st.st_mode) ||
		    !platform_ok(names[k]->d_name)) {
			free(sub);
			sub = NULL;
			continue;
		}
		if (load_platform(names[k]->d_name, sub, &pend, &npend,
		    e) == -1)
			goto out;
		free(sub);
		sub = NULL;
	}
	for (i = 0; i < npend; i++) {
		if (av_trust_add_anchor(t, pend[i].platform, pend[i].x) == -1) {
			AV_FAIL(e, AV_E_NOMEM, "out of memory");
			goto out;
		}
	}
	av_log(AV_LOG_INFO, "trust_dir_loaded", "dir", dir, NULL);
	rc = 0;
 out:
	free(sub);
	for (i = 0; i < npend; i++) {
		free(pend[i].platform);
		X509_free(pend[i].x);
	}
	free(pend);
	for (k = 0; k < n; k++)
		free(names[k]);
	free(names);
	return rc;
}
