/*
 * attestd - one JSON line per event on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>

#include "av/log.h"

static enum av_log_level av_log_min = AV_LOG_INFO;

static const char *const lvl_names[] = { "debug", "info", "warn", "error" };

void
av_log_set_level(enum av_log_level l)
{
	av_log_min = l;
}

static void
emit(enum av_log_level lvl, json_t *o)
{
	struct timespec	 ts;
	char		 tbuf[64];
	struct tm	 tm;
	size_t		 n;
	char		*line;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tbuf + n, sizeof(tbuf) - n, ".%03dZ",
	    (int)(ts.tv_nsec / 1000000) % 1000);
	json_object_set_new(o, "ts", json_string(tbuf));
	json_object_set_new(o, "level", json_string(lvl_names[lvl]));
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line != NULL) {
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	json_decref(o);
}

void
av_log(enum av_log_level lvl, const char *event, ...)
{
	va_list		 ap;
	json_t		*o;
	const char	*k, *v;

	if (lvl < av_log_min)
		return;
	if ((o = json_object()) == NULL)
		return;
	json_object_set_new(o, "event", json_string(event));
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		json_object_set_new(o, k, v ? json_string(v) : json_null());
	}
	va_end(ap);
	emit(lvl, o);
}

void
av_log_err(enum av_log_level lvl, const char *event, const struct av_err *e)
{
	json_t	*o;
	char	 buf[256];

	if (lvl < av_log_min)
		return;
	if ((o = json_object()) == NULL)
		return;
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "code", json_string(av_code_str(e->code)));
	if (e->reason)
		json_object_set_new(o, "reason", json_string(e->reason));
	if (e->file)
		json_object_set_new(o, "at", json_sprintf("%s:%d", e->file,
		    e->line));
	if (e->ossl != 0) {
		ERR_error_string_n(e->ossl, buf, sizeof(buf));
		json_object_set_new(o, "openssl", json_string(buf));
	}
	emit(lvl, o);
}
