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
char *xstrdup(const char *s) F_WUNUSED;
char *xstrndup(const char *s, size_t n) F_WUNUSED;

#endif
