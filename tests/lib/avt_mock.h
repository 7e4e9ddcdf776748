/*
 * The mock vendor server (tests/tools/mock_vendor_server.py: AMD KDS,
 * Intel PCS, NVIDIA RIM service and OCSP stand-ins) on a free loopback
 * port, for the collateral tests.  Only the process started here is ever
 * signalled, by its own pid.
 */
#ifndef AVT_MOCK_H
#define AVT_MOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

struct avt_mock {
	pid_t	 pid;		/* the server's, or -1: not running */
	int	 port;
	char	*base;		/* "http://127.0.0.1:<port>" (owned) */
};

/*
 * The source tree: $AV_SOURCE_DIR, else the folder above tests/ in this
 * file's path.  Caller frees; NULL if neither is known.
 */
char	*avt_source_dir(void);
/* Whether the mock can run here (/usr/bin/python3, the source tree). */
bool	 avt_mock_available(void);
/*
 * Start the server on root with the routes file (both paths borrowed;
 * routes may be NULL: files and their sidecars only; --max-lifetime 600)
 * and wait up to 15 s for its port.  Returns 0, or -1 (m->pid -1) after
 * saying why on stderr.
 */
int	 avt_mock_start(struct avt_mock *m, const char *root,
	    const char *routes);
/* Stop the server started by avt_mock_start and free m->base; idempotent. */
void	 avt_mock_stop(struct avt_mock *m);
/*
 * GET (post NULL) or POST one of the server's paths, typically a control
 * endpoint ("/__stats", "/__routes"): the JSON answer (new reference), or
 * NULL when the request or the JSON fails.
 */
json_t	*avt_mock_json(const struct avt_mock *m, const char *path,
	    const char *post);

#endif
