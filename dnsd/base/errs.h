/* errs.h -- a list of "file:line: message" errors filled by loaders.
 *
 * Library-style modules (config, zones, snapshot, geo) never print: they add
 * to an errs_t given by the caller and return failure.  The caller decides
 * where the text goes (stderr at start-up and in -t mode, the log on reload). */
#ifndef POOLDNS_ERRS_H
#define POOLDNS_ERRS_H

#include <stddef.h>
#include <stdio.h>
#include "compiler.h"

typedef struct {
    char *text;             /* "file:line: message", owned */
} err_t;

typedef struct {
    err_t *v;
    size_t n, cap;
} errs_t;

#define ERRS_INIT { NULL, 0, 0 }

/* Append "file:line: message" ("file: message" when line is 0, "message"
 * when file is NULL). */
void errs_add(errs_t *e, const char *file, unsigned line, const char *fmt, ...) F_PRINTF(4, 5);
/* Print every entry on its own line, each prefixed by prefix (may be ""). */
void errs_print(const errs_t *e, FILE *f, const char *prefix);
/* Drop every entry. */
void errs_clear(errs_t *e);

#endif
