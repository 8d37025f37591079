/* alloc.h -- allocators that never return NULL (they abort on exhaustion).
 * For load and build time only: the query path allocates nothing. */
#ifndef POOLDNS_ALLOC_H
#define POOLDNS_ALLOC_H

#include <stddef.h>
#include <stdint.h>
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

/* Many small tables built one by one and freed together, in huge pages
 * (xhuge_alloc chunks), so that a query that reads a few of them at random
 * does not also pay a TLB miss for each.  Memory comes zeroed. */
typedef struct {
    uint8_t *cur;           /* the chunk being filled */
    size_t used, cap;
    void **chunks;          /* every chunk, for harena_free() */
    size_t *mapped;
    size_t n;
} harena_t;
void *harena_alloc(harena_t *a, size_t n, size_t align) F_WUNUSED;
void harena_free(harena_t *a);
char *xstrdup(const char *s) F_WUNUSED;
char *xstrndup(const char *s, size_t n) F_WUNUSED;

#endif
