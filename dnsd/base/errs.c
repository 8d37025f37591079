/* errs.c -- error list, see errs.h. */
#include "errs.h"
#include "alloc.h"

#include <stdarg.h>
#include <stdlib.h>

void errs_add(errs_t *e, const char *file, unsigned line, const char *fmt, ...)
{
    char msg[1024];
    char *text;
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (file && line)
        n = snprintf(NULL, 0, "%s:%u: %s", file, line, msg);
    else if (file)
        n = snprintf(NULL, 0, "%s: %s", file, msg);
    else
        n = snprintf(NULL, 0, "%s", msg);
    text = xmalloc((size_t)n + 1);
    if (file && line)
        snprintf(text, (size_t)n + 1, "%s:%u: %s", file, line, msg);
    else if (file)
        snprintf(text, (size_t)n + 1, "%s: %s", file, msg);
    else
        snprintf(text, (size_t)n + 1, "%s", msg);
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = xrealloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++].text = text;
}

void errs_print(const errs_t *e, FILE *f, const char *prefix)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(f, "%s%s\n", prefix, e->v[i].text);
}

void errs_clear(errs_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].text);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}
