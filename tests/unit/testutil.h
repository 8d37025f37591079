/* testutil.h -- small helpers shared by the unit tests (header-only). */
#ifndef POOLDNS_TESTUTIL_H
#define POOLDNS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dnsd/base/errs.h"

/* A fresh temporary folder for one test binary; removed by tu_cleanup(). */
static char tu_dir[64];

static inline const char *tu_tmpdir(void)
{
    if (!tu_dir[0]) {
        snprintf(tu_dir, sizeof tu_dir, "/tmp/pooldns-unit-XXXXXX");
        if (!mkdtemp(tu_dir))
            abort();
    }
    return tu_dir;
}

static inline void tu_cleanup(void)
{
    if (tu_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tu_dir);
    }
}

/* Write text to <tmpdir>/name; returns the path (static buffer per call
 * site is not needed: the caller copies if it keeps several). */
static inline char *tu_write(const char *name, const char *text)
{
    static char path[8][256];
    static unsigned next;
    char *p = path[next++ % 8];
    snprintf(p, 256, "%s/%s", tu_tmpdir(), name);
    FILE *f = fopen(p, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    return p;
}

/* True when some error text contains needle; prints all errors otherwise. */
static inline int tu_errs_have(const errs_t *e, const char *needle)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->v[i].text, needle))
            return 1;
    fprintf(stderr, "no error contains \"%s\"; errors were:\n", needle);
    errs_print(e, stderr, "  ");
    return 0;
}

#endif
