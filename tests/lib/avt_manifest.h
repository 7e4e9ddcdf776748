/*
 * The published vectors (../shared/vectors/<platform>/MANIFEST.json),
 * read in place for the vector tests.
 */
#ifndef AVT_MANIFEST_H
#define AVT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * $AV_VECTORS/<platform> and its MANIFEST.json (duplicate keys
 * rejected).  Returns the manifest (new reference) and *dir (caller
 * frees).  When the folder is absent, prints "skipped: ..." and exits 77
 * (ctest: skipped); when the manifest does not load, says why and exits 1.
 */
json_t	*avt_manifest_load(const char *platform, char **dir);
/* Read dir/rel whole (malloc'd, NUL appended); NULL on failure. */
uint8_t	*avt_read_at(const char *dir, const char *rel, size_t *len);

#endif
