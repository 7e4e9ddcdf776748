/*
 * attestd - logging: one line per event on stderr, as JSON.
 */
#ifndef AV_LOG_H
#define AV_LOG_H

#include "av/err.h"

enum av_log_level { AV_LOG_DEBUG, AV_LOG_INFO, AV_LOG_WARN, AV_LOG_ERROR };

void	av_log_set_level(enum av_log_level);
/*
 * Log an event.  The varargs are key, value pairs of C strings ending
 * with NULL: av_log(AV_LOG_INFO, "listening", "addr", a, NULL).
 */
void	av_log(enum av_log_level, const char *event, ...)
	    __attribute__((sentinel));
/* Log an av_err with its location and OpenSSL error (logs only). */
void	av_log_err(enum av_log_level, const char *event, const struct av_err *);

#endif
