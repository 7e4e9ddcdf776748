/*
 * The mock vendor server for the collateral tests (avt_mock.h).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "avt_mock.h"

#define PYTHON	"/usr/bin/python3"
#define SCRIPT	"tests/tools/mock_vendor_server.py"

/* The source tree (see avt_mock.h).  Caller frees. */
char *
avt_source_dir(void)
{
	const char	*env = getenv("AV_SOURCE_DIR");
	char		*s, *p;

	if (env != NULL && *env != '\0')
		return strdup(env);
	s = strdup(__FILE__);	/* <src>/tests/lib/avt_mock.c */
	if (s != NULL && (p = strstr(s, "/tests/lib/")) != NULL) {
		*p = '\0';
		return s;
	}
	free(s);
	return NULL;
}

/* <src>/tests/tools/mock_vendor_server.py, or NULL.  Caller frees. */
static char *
script_path(void)
{
	char	*src, *path;
	size_t	 n;

	if ((src = avt_source_dir()) == NULL)
		return NULL;
	n = strlen(src) + sizeof(SCRIPT) + 1;
	if ((path = malloc(n)) != NULL)
		snprintf(path, n, "%s/%s", src, SCRIPT);
	free(src);
	return path;
}

/* Whether python3 and the script are there. */
bool
avt_mock_available(void)
{
	char	*s;
	bool	 ok;

	if (access(PYTHON, X_OK) != 0 || (s = script_path()) == NULL)
		return false;
	ok = access(s, R_OK) == 0;
	free(s);
	return ok;
}

/* Start the server; its port comes alone on the first line of stdout. */
int
avt_mock_start(struct avt_mock *m, const char *root, const char *routes)
{
	char		*script, line[32], base[64];
	int		 fds[2];
	struct pollfd	 pfd;
	size_t		 n = 0;

	memset(m, 0, sizeof(*m));
	m->pid = -1;
	if ((script = script_path()) == NULL)
		return -1;
	if (pipe(fds) != 0) {
		free(script);
		return -1;
	}
	if ((m->pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		free(script);
		return -1;
	}
	if (m->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (routes != NULL)
			execl(PYTHON, "python3", script, "--root", root,
			    "--routes", routes, "--max-lifetime", "600",
			    (char *)NULL);
		else
			execl(PYTHON, "python3", script, "--root", root,
			    "--max-lifetime", "600", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	free(script);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (n < sizeof(line) - 1 && poll(&pfd, 1, 15000) == 1 &&
	    read(fds[0], line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	close(fds[0]);
	m->port = atoi(line);
	if (m->port <= 0 || m->port > 65535) {
		fprintf(stderr, "mock vendor server did not start\n");
		avt_mock_stop(m);
		return -1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", m->port);
	if ((m->base = strdup(base)) == NULL) {
		avt_mock_stop(m);
		return -1;
	}
	return 0;
}

/* Stop our own server, by its pid. */
void
avt_mock_stop(struct avt_mock *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);	/* only the server we started */
		waitpid(m->pid, NULL, 0);
	}
	m->pid = -1;
	m->port = 0;
	free(m->base);
	m->base = NULL;
}

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	return fwrite(p, sz, nm, (FILE *)arg);
}

/* A path's JSON answer (new reference) or NULL. */
json_t *
avt_mock_json(const struct avt_mock *m, const char *path, const char *post)
{
	CURL	*h;
	char	*url, *buf = NULL;
	size_t	 len = 0, n;
	FILE	*f;
	json_t	*doc = NULL;
	CURLcode cc;

	if (m->base == NULL)
		return NULL;
	n = strlen(m->base) + strlen(path) + 1;
	if ((url = malloc(n)) == NULL)
		return NULL;
	snprintf(url, n, "%s%s", m->base, path);
	if ((h = curl_easy_init()) == NULL ||
	    (f = open_memstream(&buf, &len)) == NULL) {
		curl_easy_cleanup(h);
		free(url);
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	if (post != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	cc = curl_easy_perform(h);
	fclose(f);
	curl_easy_cleanup(h);
	if (cc == CURLE_OK)
		doc = json_loadb(buf, len, 0, NULL);
	free(buf);
	free(url);
	return doc;
}
