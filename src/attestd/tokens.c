/*
 * attestd - admin bearer tokens: a file of "NAME SHA256_HEX [TENANT]"
 * lines.  Only the SHA-256 of each token is stored; a request's token is
 * hashed and compared in constant time with every entry.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "av/codec.h"
#include "av/crypto.h"
#include "av/log.h"

#include "attestd.h"

#define MAX_TOKENS	1024
#define MAX_TOKEN_LEN	4096

struct token {
	char	*name;		/* owned */
	char	*tenant;	/* owned or NULL: all tenants */
	uint8_t	 hash[32];
};

struct avd_tokens {
	size_t		 n;
	struct token	 v[MAX_TOKENS];
};

/* Free a token set (NULL-safe). */
void
avd_tokens_free(struct avd_tokens *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].tenant);
	}
	free(t);
}

static bool
valid_word(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-@", *s) == NULL)
			return false;
	return true;
}

/*
 * Load the token file.  Returns a new set (avd_tokens_free) or NULL
 * after logging the file, line and reason.
 */
struct avd_tokens *
avd_tokens_load(const char *file)
{
	struct avd_tokens	*t;
	struct stat		 st;
	FILE			*f;
	char			 line[1024], lbuf[16], *w[4], *sp;
	int			 lineno = 0, nw;

	if ((f = fopen(file, "re")) == NULL) {
		av_log(AV_LOG_ERROR, "admin_tokens_unreadable", "file", file,
		    NULL);
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		av_log(AV_LOG_WARN, "admin_tokens_permissions", "file", file,
		    "advice", "chmod 0600", NULL);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *why = NULL;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f))
			why = "line too long";
		line[strcspn(line, "#\r\n")] = '\0';
		nw = 0;
		for (char *p = strtok_r(line, " \t", &sp); p != NULL;
		    p = strtok_r(NULL, " \t", &sp))
			w[nw < 4 ? nw++ : 3] = p;
		if (why == NULL && nw == 0)
			continue;
		if (why == NULL && (nw < 2 || nw > 3))
			why = "expected NAME SHA256_HEX [TENANT]";
		else if (why == NULL && !valid_word(w[0]))
			why = "bad token name";
		else if (why == NULL && (strlen(w[1]) != 64 ||
		    av_hex_decode_fixed(w[1], t->v[t->n].hash, 32) == -1))
			why = "expected 64 hex digits (the SHA-256 of the "
			    "token)";
		else if (why == NULL && nw == 3 && !valid_word(w[2]))
			why = "bad tenant name";
		else if (why == NULL && t->n == MAX_TOKENS)
			why = "too many tokens";
		if (why != NULL) {
			snprintf(lbuf, sizeof(lbuf), "%d", lineno);
			av_log(AV_LOG_ERROR, "admin_tokens_invalid", "file",
			    file, "line", lbuf, "reason", why, NULL);
			fclose(f);
			avd_tokens_free(t);
			return NULL;
		}
		if ((t->v[t->n].name = strdup(w[0])) == NULL ||
		    (nw == 3 && (t->v[t->n].tenant = strdup(w[2])) == NULL)) {
			free(t->v[t->n].name);
			fclose(f);
			avd_tokens_free(t);
			return NULL;
		}
		t->n++;
	}
	fclose(f);
	return t;
}

/*
 * Check "Authorization: Bearer <token>".  Returns the entry's name
 * (borrowed from t) and its tenant in *tenant (NULL: every tenant), or
 * NULL when absent or wrong.
 */
const char *
avd_tokens_check(const struct avd_tokens *t, const char *authz,
    const char **tenant)
{
	uint8_t		 h[32];
	const char	*tok, *found = NULL;
	size_t		 n;

	if (t == NULL || authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0)
		return NULL;
	tok = authz + 7;
	while (*tok == ' ')
		tok++;
	n = strlen(tok);
	while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		n--;
	if (n == 0 || n > MAX_TOKEN_LEN)
		return NULL;
	av_sha256((const uint8_t *)tok, n, h);
	/* Compare with every entry so timing does not depend on which. */
	for (size_t i = 0; i < t->n; i++)
		if (av_memeq_ct(h, t->v[i].hash, 32) && found == NULL) {
			found = t->v[i].name;
			if (tenant != NULL)
				*tenant = t->v[i].tenant;
		}
	return found;
}
