/* errs.c -- error list, see errs.h. */
#include "errs.h"
#include "alloc.h"

#include <stdarg.h>
#include <stdlib.h>

void errs_add(errs_t *e, const char *file, unsigned line, const char *fmt, ...)
{
    char msg[1024], text[1536];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (file && line)
        snprintf(text, sizeof text, "%s:%u: %s", file, line, msg);
    else if (file)
        snprintf(text, sizeof text, "%s: %s", file, msg);
    else
        snprintf(text, sizeof text, "%s", msg);
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = xrealloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++].text = xstrdup(text);
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
