/* log.c -- the logger behind log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level max_level = LOG_LVL_INFO;
static const char ident[] = "dnsd";

void log_set_level(enum log_level lvl) { max_level = lvl; }

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
    static const char *names[] = { "error", "warning", "info", "debug" };
    char msg[2048];
    char stamp[32];
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* One fprintf per line: stdio locks the stream, so lines from several
     * threads never interleave. */
    fprintf(stderr, "%s.%03ldZ %s[%ld]: %s: %s\n", stamp, ts.tv_nsec / 1000000,
            ident, (long)getpid(), names[lvl], msg);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    if (lvl > max_level)
        return;
    va_start(ap, fmt);
    vlog(lvl, fmt, ap);
    va_end(ap);
}

void log_ratelimited(log_limit_t *lim, const char *fmt, ...)
{
    struct timespec ts;
    va_list ap;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    if (lim->last_sec == (long long)ts.tv_sec) {
        lim->suppressed++;
        return;
    }
    lim->last_sec = ts.tv_sec;
    if (lim->suppressed) {
        log_msg(LOG_LVL_WARN, "(%u similar messages suppressed)", lim->suppressed);
        lim->suppressed = 0;
    }
    va_start(ap, fmt);
    vlog(LOG_LVL_WARN, fmt, ap);
    va_end(ap);
}
