/*
 * The published vectors, read in place (avt_manifest.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "avt_manifest.h"
#include "avt_pki.h"

json_t *
avt_manifest_load(const char *platform, char **dir)
{
	json_error_t	 je;
	json_t		*man;
	char		 path[4096];

	if ((*dir = avt_vectors_path(platform)) == NULL) {
		printf("skipped: ../shared/vectors/%s not present (set "
		    "AV_VECTORS)\n", platform);
		exit(77);
	}
	snprintf(path, sizeof(path), "%s/MANIFEST.json", *dir);
	if ((man = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		fprintf(stderr, "%s: %s\n", path, je.text);
		exit(1);
	}
	return man;
}

uint8_t *
avt_read_at(const char *dir, const char *rel, size_t *len)
{
	char path[4096];

	if (rel == NULL || (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    rel) >= sizeof(path))
		return NULL;
	return avt_read_file(path, len);
}
