/* Default logging: one timestamped line per event on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "certa/log.h"

static int log_level = CERTA_LOG_WARN;
static certa_log_sink log_sink;
static void *log_sink_arg;

void certa_log_set_level(int level) { log_level = level; }
int certa_log_get_level(void) { return log_level; }

void certa_log_set_sink(certa_log_sink sink, void *arg)
{
    log_sink = sink;
    log_sink_arg = arg;
}

void certa_log(int level, const char *fmt, ...)
{
    static const char *names[] = { "error", "warn", "info", "debug" };
    if (level > log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (log_sink != NULL) {
        log_sink(level, line, log_sink_arg);
        return;
    }
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s %s %s\n", ts, names[level < 0 ? 0 : level > 3 ? 3 : level], line);
}
