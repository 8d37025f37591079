/* log.h -- one thread-safe logger writing lines to stderr.
 *
 * Every line is "<UTC time> dnsd[<pid>]: <level>: <message>".  The query path
 * never logs (it counts); log_net_ratelimited() exists for socket errors that
 * must be visible without flooding. */
#ifndef POOLDNS_LOG_H
#define POOLDNS_LOG_H

#include <stdbool.h>
#include "compiler.h"

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Messages above this level are dropped; default LOG_LVL_INFO. */
void log_set_level(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...) F_PRINTF(2, 3);

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* At most one line per second per call site's "last" slot; the rest are
 * counted and the count is reported with the next line that gets through. */
typedef struct { long long last_sec; unsigned suppressed; } log_limit_t;
void log_ratelimited(log_limit_t *lim, const char *fmt, ...) F_PRINTF(2, 3);

#endif
