/*
 * attestd - ASN.1 times and X.509 names as the rest of the verifier wants
 * them: unix seconds, RFC 3339 JSON strings, RFC 2253 JSON strings.
 */
#include <stdio.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "av/codec.h"
#include "av/crypto.h"

/*
 * Unix seconds of an ASN.1 UTCTime/GeneralizedTime (RFC 5280 s.4.1.2.5).
 * Returns 0 with *out set, or -1 when t is NULL or not a valid time.
 */
int
av_asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = av_days_from_civil((int64_t)tm.tm_year + 1900,
	    (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) * 86400 +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

/*
 * An ASN.1 time as an RFC 3339 UTC JSON string ("2025-07-01T00:00:00Z"),
 * or JSON null when t is NULL or invalid.  Returns a new reference (NULL
 * only when out of memory).
 */
json_t *
av_json_asn1_time(const ASN1_TIME *t)
{
	struct tm	tm;
	char		buf[32];

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

/*
 * An X.509 name as an RFC 2253 JSON string ("CN=...,O=...").  Returns a
 * new reference, or NULL when out of memory.
 */
json_t *
av_json_x509_name(const X509_NAME *n)
{
	BIO	*b;
	char	*p;
	long	 l;
	json_t	*j = NULL;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    (l = BIO_get_mem_data(b, &p)) >= 0)
		j = json_stringn(p, (size_t)l);
	BIO_free(b);
	return j;
}
