/*
 * Fuzz target: attestd's --nonce-store parser (avd_nstore_parse in
 * src/attestd/noncestore.c).  On success the result must be
 * well-formed (memory, or Redis with a host, a port 1-65535, a database
 * up to 65535 and a user without ':'); on failure a reason is given and
 * the output is untouched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attestd/noncestore.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct avd_nstore_spec	 sp, before;
	const char		*why = NULL;
	char			*s;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&sp, 0x5a, sizeof(sp));
	before = sp;
	if (avd_nstore_parse(s, &sp, &why) == 0) {
		if (sp.kind == AVD_NSTORE_REDIS) {
			if (memchr(sp.host, '\0', sizeof(sp.host)) == NULL ||
			    sp.host[0] == '\0' ||
			    memchr(sp.user, '\0', sizeof(sp.user)) == NULL ||
			    strchr(sp.user, ':') != NULL ||
			    sp.port == 0 || sp.port > 65535 || sp.db > 65535 ||
			    strncmp(s, "redis://", 8) != 0)
				abort();
		} else if (sp.kind != AVD_NSTORE_MEMORY ||
		    strcmp(s, "memory") != 0)
			abort();
	} else if (why == NULL || memcmp(&sp, &before, sizeof(sp)) != 0)
		abort();
	free(s);
	return 0;
}
