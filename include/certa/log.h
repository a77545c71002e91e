/* One-line logging for libcerta and the programs on it. Lines go to stderr
 * (or a sink the program installs, e.g. certad's structured log). Private
 * keys, passwords and secrets are never passed to these functions. */
#ifndef CERTA_LOG_H
#define CERTA_LOG_H

#include "certa/error.h"

enum certa_log_level { CERTA_LOG_ERROR, CERTA_LOG_WARN, CERTA_LOG_INFO, CERTA_LOG_DEBUG };

typedef void (*certa_log_sink)(int level, const char *line, void *arg);

CERTA_API void certa_log_set_level(int level);
CERTA_API int certa_log_get_level(void);
/* Replaces the sink; NULL restores the default (stderr with a timestamp). */
CERTA_API void certa_log_set_sink(certa_log_sink sink, void *arg);
CERTA_API void certa_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
