/*
 * attestd - verdict signing keys: loading and first-start generation of
 * the PEM key file, public JWKs (RFC 7517, RFC 7518 s.6.2, RFC 8037 s.2)
 * and the key id, an RFC 7638 JWK thumbprint.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "av/codec.h"
#include "av/log.h"
#include "av/verdict.h"

/* A PEM private key is a few hundred bytes; anything this big is wrong. */
#define KEY_FILE_MAX	(64 * 1024)

const char *
av_sig_alg_str(enum av_sig_alg a)
{
	switch (a) {
	case AV_ALG_ES256:
		return "ES256";
	case AV_ALG_ES384:
		return "ES384";
	case AV_ALG_EDDSA:
		return "EdDSA";
	default:
		return "unknown";
	}
}

/*
 * Parse a JWS algorithm name (RFC 7518 s.3.1, RFC 8037 s.3.1); exact,
 * case-sensitive match as JOSE requires.  Returns 0 and *out, or -1.
 */
int
av_sig_alg_parse(const char *s, enum av_sig_alg *out)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "ES256") == 0)
		*out = AV_ALG_ES256;
	else if (strcmp(s, "ES384") == 0)
		*out = AV_ALG_ES384;
	else if (strcmp(s, "EdDSA") == 0)
		*out = AV_ALG_EDDSA;
	else
		return -1;
	return 0;
}

/*
 * The JWS algorithm a key is used with: P-256 -> ES256, P-384 -> ES384,
 * Ed25519 -> EdDSA.  Anything else (RSA, P-521, Ed448, explicit curve
 * parameters, SM2) is refused.  Returns 0 and *alg, or -1.
 */
static int
key_alg(const EVP_PKEY *pk, enum av_sig_alg *alg)
{
	char	name[64];
	size_t	len = 0;
	int	nid;

	if (EVP_PKEY_is_a(pk, "ED25519")) {
		*alg = AV_ALG_EDDSA;
		return 0;
	}
	if (!EVP_PKEY_is_a(pk, "EC"))
		return -1;
	if (!EVP_PKEY_get_group_name(pk, name, sizeof(name), &len))
		return -1;	/* explicit parameters: no named curve */
	if ((nid = OBJ_txt2nid(name)) == NID_undef)
		nid = EC_curve_nist2nid(name);
	if (nid == NID_X9_62_prime256v1)
		*alg = AV_ALG_ES256;
	else if (nid == NID_secp384r1)
		*alg = AV_ALG_ES384;
	else
		return -1;
	return 0;
}

/* base64url of one affine coordinate, fixed length big-endian (RFC 7518 s.6.2.1.2). */
static char *
ec_coord_b64(const EVP_PKEY *pk, const char *param, size_t n)
{
	BIGNUM	*bn = NULL;
	uint8_t	 buf[48];
	char	*s = NULL;

	if (n > sizeof(buf))
		return NULL;
	if (!EVP_PKEY_get_bn_param(pk, param, &bn))
		return NULL;
	if (BN_bn2binpad(bn, buf, (int)n) == (int)n)
		s = av_b64url_encode(buf, n);
	BN_free(bn);
	return s;
}

/*
 * The required public members of the JWK of pk, and nothing else:
 * EC {"crv", "kty", "x", "y"}, OKP {"crv", "kty", "x"} (RFC 7638 s.3.2).
 * New reference or NULL.
 */
static json_t *
jwk_required(const EVP_PKEY *pk, enum av_sig_alg alg)
{
	json_t	*o = NULL;
	char	*x = NULL, *y = NULL;
	uint8_t	 raw[32];
	size_t	 rawlen = sizeof(raw);

	switch (alg) {
	case AV_ALG_ES256:
	case AV_ALG_ES384: {
		size_t n = alg == AV_ALG_ES256 ? 32 : 48;

		if ((x = ec_coord_b64(pk, OSSL_PKEY_PARAM_EC_PUB_X, n)) == NULL ||
		    (y = ec_coord_b64(pk, OSSL_PKEY_PARAM_EC_PUB_Y, n)) == NULL)
			goto out;
		o = json_pack("{s:s, s:s, s:s, s:s}",
		    "crv", alg == AV_ALG_ES256 ? "P-256" : "P-384",
		    "kty", "EC", "x", x, "y", y);
		break;
	}
	case AV_ALG_EDDSA:
		if (!EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) ||
		    rawlen != sizeof(raw))
			goto out;
		if ((x = av_b64url_encode(raw, rawlen)) == NULL)
			goto out;
		o = json_pack("{s:s, s:s, s:s}", "crv", "Ed25519", "kty", "OKP",
		    "x", x);
		break;
	default:
		break;
	}
 out:
	free(x);
	free(y);
	return o;
}

/*
 * RFC 7638 s.3: SHA-256 over the required members serialised with no
 * whitespace and the member names in lexicographic order (jansson's
 * JSON_COMPACT | JSON_SORT_KEYS is exactly that for these ASCII values),
 * base64url-encoded into kid (43 characters + NUL).  Returns 0/-1.
 */
static int
jwk_thumbprint(const json_t *req, char kid[44])
{
	char		*canon, *b64 = NULL;
	uint8_t		 md[32];
	unsigned int	 mdlen = 0;
	int		 rc = -1;

	if ((canon = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return -1;
	if (!EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != sizeof(md))
		goto out;
	if ((b64 = av_b64url_encode(md, sizeof(md))) == NULL ||
	    strlen(b64) != 43)
		goto out;
	memcpy(kid, b64, 44);
	rc = 0;
 out:
	free(canon);
	free(b64);
	return rc;
}

/*
 * A signer for an existing key; its algorithm is the key's own (P-256:
 * ES256, P-384: ES384, Ed25519: EdDSA).  A public key alone is enough
 * to verify (av_jwt_verify) but not to sign.  A reference to pk is
 * taken; the caller keeps its own.  Returns a new signer
 * (av_signer_free) or NULL with e set (AV_E_CONFIG: unsupported key).
 */
struct av_signer *
av_signer_from_pkey(EVP_PKEY *pk, struct av_err *e)
{
	struct av_signer	*s = NULL;
	json_t			*req = NULL;
	enum av_sig_alg		 alg;

	if (pk == NULL || key_alg(pk, &alg) == -1) {
		AV_FAIL(e, AV_E_CONFIG,
		    "verdict key must be P-256, P-384 or Ed25519");
		return NULL;
	}
	if ((req = jwk_required(pk, alg)) == NULL) {
		AV_FAIL(e, AV_E_CONFIG, "cannot read the verdict public key");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if (jwk_thumbprint(req, s->kid) == -1) {
		AV_FAIL(e, AV_E_INTERNAL, "cannot compute the key id");
		free(s);
		s = NULL;
		goto out;
	}
	if (!EVP_PKEY_up_ref(pk)) {
		AV_FAIL(e, AV_E_INTERNAL, "cannot reference the verdict key");
		free(s);
		s = NULL;
		goto out;
	}
	s->pkey = pk;
	s->alg = alg;
 out:
	json_decref(req);
	return s;
}

void
av_signer_free(struct av_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->pkey);
	free(s);
}

/*
 * The public JWK of s: the required members plus "kid", "alg" and
 * "use": "sig" (RFC 7517 s.4).  New reference, or NULL.
 */
json_t *
av_signer_jwk(const struct av_signer *s)
{
	json_t *o;

	if (s == NULL || (o = jwk_required(s->pkey, s->alg)) == NULL)
		return NULL;
	if (json_object_set_new(o, "kid", json_string(s->kid)) == -1 ||
	    json_object_set_new(o, "alg",
	    json_string(av_sig_alg_str(s->alg))) == -1 ||
	    json_object_set_new(o, "use", json_string("sig")) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * A JWK Set (RFC 7517 s.5) {"keys": [...]} of the signers given (NULL
 * entries skipped, order kept: the current key first by convention).
 * New reference, or NULL.
 */
json_t *
av_jwks(const struct av_signer *const *signers, size_t n)
{
	json_t	*keys, *o;
	size_t	 i;

	if ((keys = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		json_t *k;

		if (signers[i] == NULL)
			continue;
		if ((k = av_signer_jwk(signers[i])) == NULL ||
		    json_array_append_new(keys, k) == -1) {
			json_decref(keys);
			return NULL;
		}
	}
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "keys", keys) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Never prompt on a terminal for the passphrase of an encrypted key. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Read the PEM private key from the open fd.  Returns a new key or NULL
 * with e set.
 */
static EVP_PKEY *
read_key_fd(int fd, const char *file, struct av_err *e)
{
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 n = 0;
	ssize_t		 got;
	BIO		*bio = NULL;
	EVP_PKEY	*pk = NULL;

	if (fstat(fd, &st) == -1) {
		AV_FAIL(e, AV_E_IO, "cannot stat the verdict key file");
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		AV_FAIL(e, AV_E_CONFIG, "verdict key is not a regular file");
		return NULL;
	}
	if (st.st_size > KEY_FILE_MAX) {
		AV_FAIL(e, AV_E_CONFIG, "verdict key file is too large");
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		av_log(AV_LOG_WARN, "verdict_key_mode",
		    "file", file, "message",
		    "verdict key is readable by group or others; chmod 600",
		    NULL);
	if ((buf = malloc(KEY_FILE_MAX + 1)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		return NULL;
	}
	for (;;) {
		got = read(fd, buf + n, KEY_FILE_MAX + 1 - n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			AV_FAIL(e, AV_E_IO, "cannot read the verdict key file");
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > KEY_FILE_MAX) {
			AV_FAIL(e, AV_E_CONFIG, "verdict key file is too large");
			goto out;
		}
	}
	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(buf, (int)n)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase,
	    NULL)) == NULL)
		AV_FAIL(e, AV_E_CONFIG,
		    "verdict key file is not an unencrypted PEM private key");
 out:
	BIO_free(bio);
	OPENSSL_cleanse(buf, KEY_FILE_MAX + 1);
	free(buf);
	return pk;
}

/* fsync the directory holding file, so a new name survives a crash. */
static void
sync_dir_of(const char *file)
{
	const char	*slash = strrchr(file, '/');
	char		*dir;
	int		 fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == file)
		dir = strdup("/");
	else
		dir = strndup(file, (size_t)(slash - file));
	if (dir == NULL)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Generate a key for alg and publish it at file without ever exposing a
 * partial or world-readable file: mkstemp (O_CREAT | O_EXCL, mode 0600)
 * beside it, write, fsync, close, then link() to the final name, which
 * (unlike rename) never replaces a key another process made meanwhile.
 * Where the file system has no hard links, rename() is used instead.
 * Returns 0 (file now exists, ours or a concurrent creator's) or -1.
 */
static int
create_key_file(const char *file, enum av_sig_alg alg, struct av_err *e)
{
	EVP_PKEY	*pk = NULL;
	BIO		*bio = NULL;
	char		*tmp = NULL;
	BUF_MEM		*mem = NULL;
	size_t		 tlen;
	int		 fd = -1, rc = -1;

	switch (alg) {
	case AV_ALG_ES256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case AV_ALG_ES384:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case AV_ALG_EDDSA:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		break;
	}
	if (pk == NULL) {
		AV_FAIL(e, AV_E_INTERNAL, "cannot generate the verdict key");
		goto out;
	}
	/* secure memory BIO: cleansed when freed */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) ||
	    BIO_get_mem_ptr(bio, &mem) <= 0 || mem == NULL) {
		AV_FAIL(e, AV_E_INTERNAL, "cannot encode the verdict key");
		goto out;
	}
	tlen = strlen(file) + sizeof(".tmp.XXXXXX");
	if ((tmp = malloc(tlen)) == NULL) {
		AV_FAIL(e, AV_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(tmp, tlen, "%s.tmp.XXXXXX", file);
	if ((fd = mkstemp(tmp)) == -1) {
		AV_FAIL(e, AV_E_IO, "cannot create the verdict key file");
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, S_IRUSR | S_IWUSR) == -1 ||
	    write_all(fd, (const uint8_t *)mem->data, mem->length) == -1 ||
	    fsync(fd) == -1) {
		AV_FAIL(e, AV_E_IO, "cannot write the verdict key file");
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		AV_FAIL(e, AV_E_IO, "cannot write the verdict key file");
		goto out;
	}
	fd = -1;
	if (link(tmp, file) == -1) {
		if (errno == EEXIST) {
			rc = 0;		/* a concurrent creator won: use its key */
			goto out;
		}
		if (rename(tmp, file) == -1) {
			AV_FAIL(e, AV_E_IO,
			    "cannot install the verdict key file");
			goto out;
		}
	}
	sync_dir_of(file);
	av_log(AV_LOG_INFO, "verdict_key_created", "file", file,
	    "alg", av_sig_alg_str(alg), NULL);
	rc = 0;
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);	/* after link (or a failure); no-op after rename */
		free(tmp);
	}
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return rc;
}

/*
 * Load the verdict key from a PEM file (PKCS#8 or traditional,
 * unencrypted).  An existing key decides the algorithm: a P-384 key
 * signs ES384 even when alg says ES256 (a notice is logged), so an
 * operator's key is never silently replaced or refused for a default;
 * a key of any other type (RSA, P-521, Ed448) is AV_E_CONFIG.  When the
 * file does not exist and create is true, a new key for alg is written
 * there with mode 0600 (see create_key_file()); the directory must
 * exist.  Returns a new signer (av_signer_free) or NULL with e set:
 * AV_E_CONFIG (missing file without create, not a usable key), AV_E_IO.
 */
struct av_signer *
av_signer_load(const char *file, enum av_sig_alg alg, bool create,
    struct av_err *e)
{
	struct av_signer	*s = NULL;
	EVP_PKEY		*pk = NULL;
	int			 fd, tries;

	if (file == NULL || *file == '\0') {
		AV_FAIL(e, AV_E_CONFIG, "no verdict key file given");
		return NULL;
	}
	for (tries = 0;; tries++) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) != -1)
			break;
		if (errno != ENOENT) {
			AV_FAIL(e, AV_E_IO, "cannot open the verdict key file");
			return NULL;
		}
		if (!create) {
			AV_FAIL(e, AV_E_CONFIG, "verdict key file not found");
			return NULL;
		}
		if (tries > 0) {
			AV_FAIL(e, AV_E_IO, "verdict key file vanished");
			return NULL;
		}
		if (create_key_file(file, alg, e) == -1)
			return NULL;
	}
	pk = read_key_fd(fd, file, e);
	close(fd);
	if (pk == NULL)
		return NULL;
	if ((s = av_signer_from_pkey(pk, e)) != NULL && s->alg != alg)
		av_log(AV_LOG_WARN, "verdict_key_alg", "file", file,
		    "configured", av_sig_alg_str(alg),
		    "used", av_sig_alg_str(s->alg), NULL);
	EVP_PKEY_free(pk);
	return s;
}
