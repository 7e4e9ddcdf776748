/*
 * attestd - the only list of backends.  Adding a platform means one new
 * file in src/evidence/ and one line here.
 */
#include <string.h>
#include <strings.h>

#include "av/backend.h"

extern const struct av_backend av_backend_nitro;
extern const struct av_backend av_backend_nitrotpm;
extern const struct av_backend av_backend_tdx;
extern const struct av_backend av_backend_tpm;
extern const struct av_backend av_backend_snp;
extern const struct av_backend av_backend_nvgpu;
extern const struct av_backend av_backend_azure_snp_vtpm;
extern const struct av_backend av_backend_azure_tdx_vtpm;
extern const struct av_backend av_backend_gce_tpm;

static const struct av_backend *const av_backend_list[] = {
	&av_backend_nitro,
	&av_backend_nitrotpm,
	&av_backend_tdx,
	&av_backend_tpm,
	&av_backend_snp,
	&av_backend_nvgpu,
	&av_backend_azure_snp_vtpm,
	&av_backend_azure_tdx_vtpm,
	&av_backend_gce_tpm,
	NULL
};

const struct av_backend *const *
av_backends(void)
{
	return av_backend_list;
}

const struct av_backend *
av_backend_find(const char *name)
{
	for (size_t i = 0; av_backend_list[i] != NULL; i++)
		if (strcmp(av_backend_list[i]->name, name) == 0)
			return av_backend_list[i];
	return NULL;
}

const struct av_backend *
av_backend_by_media_type(const char *mt)
{
	size_t n = strcspn(mt, ";");

	while (n > 0 && (mt[n - 1] == ' ' || mt[n - 1] == '\t'))
		n--;
	for (size_t i = 0; av_backend_list[i] != NULL; i++) {
		const char *b = av_backend_list[i]->media_type;

		if (b != NULL && strlen(b) == n && strncasecmp(b, mt, n) == 0)
			return av_backend_list[i];
	}
	return NULL;
}

const struct av_backend *
av_backend_detect(const uint8_t *p, size_t n, struct av_err *e)
{
	const struct av_backend	*found = NULL;
	int			 nfound = 0;

	for (size_t i = 0; av_backend_list[i] != NULL; i++)
		if (av_backend_list[i]->detect != NULL &&
		    av_backend_list[i]->detect(p, n)) {
			found = av_backend_list[i];
			nfound++;
		}
	if (nfound == 0) {
		AV_FAIL(e, AV_E_UNKNOWN_TYPE,
		    "evidence type not recognised; declare its type");
		return NULL;
	}
	if (nfound > 1) {
		AV_FAIL(e, AV_E_UNKNOWN_TYPE,
		    "evidence type ambiguous; declare its type");
		return NULL;
	}
	return found;
}
