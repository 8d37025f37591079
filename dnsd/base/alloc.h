/* alloc.h -- allocators that never return NULL (they abort on exhaustion).
 * For load and build time only: the query path allocates nothing. */
#ifndef POOLDNS_ALLOC_H
#define POOLDNS_ALLOC_H

#include <stddef.h>
#include "compiler.h"

void *xmalloc(size_t n) F_WUNUSED;
void *xcalloc(size_t n, size_t size) F_WUNUSED;
void *xrealloc(void *p, size_t n) F_WUNUSED;
/* Array growth with overflow check: realloc p to n elements of size. */
void *xreallocarray(void *p, size_t n, size_t size) F_WUNUSED;
/* Zeroed memory for large tables read at random on the query path: mapped
 * on its own, 2 MiB aligned and marked for transparent huge pages, so that
 * looking at it costs fewer TLB misses.  *mapped is what xhuge_free() must
 * be given. */
void *xhuge_alloc(size_t n, size_t *mapped) F_WUNUSED;
void xhuge_free(void *p, size_t mapped);
char *xstrdup(const char *s) F_WUNUSED;
char *xstrndup(const char *s, size_t n) F_WUNUSED;

#endif
