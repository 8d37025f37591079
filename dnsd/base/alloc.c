/* alloc.c -- see alloc.h. */
#include "alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void F_NORETURN oom(size_t n)
{
    fprintf(stderr, "dnsd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        oom(SIZE_MAX);
    return xrealloc(p, n * size);
}

#define HUGE_PAGE ((size_t)2 << 20)

void *xhuge_alloc(size_t n, size_t *mapped)
{
    size_t sz = (n + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (!sz)
        sz = HUGE_PAGE;
    /* Map one huge page more than needed and trim to a 2 MiB boundary, so
     * that the whole range can be backed by huge pages. */
    uint8_t *p = mmap(NULL, sz + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        oom(sz + HUGE_PAGE);
    uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uint8_t *q = (uint8_t *)a;
    /* q - p < HUGE_PAGE, so there is always a tail to give back. */
    if (q > p)
        munmap(p, (size_t)(q - p));
    munmap(q + sz, HUGE_PAGE - (size_t)(q - p));
#ifdef MADV_HUGEPAGE
    /* Only a request: without transparent huge pages this is a plain
     * mapping, which works the same, with more TLB misses. */
    madvise(q, sz, MADV_HUGEPAGE);
#endif
    *mapped = sz;
    return q;
}

void xhuge_free(void *p, size_t mapped)
{
    if (p)
        munmap(p, mapped);
}

/* Chunks hold at least two huge pages, so the unused end of one wastes
 * little of the whole. */
#define HARENA_CHUNK ((size_t)4 << 20)

/* Under AddressSanitizer each allocation is a heap block of its own, so
 * that the tests still catch a read past the end of any of them. */
#if defined(__SANITIZE_ADDRESS__)
#define HARENA_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HARENA_HEAP 1
#endif
#endif

void *harena_alloc(harena_t *a, size_t n, size_t align)
{
#ifdef HARENA_HEAP
    void *p;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n ? n : 1))
        oom(n);
    memset(p, 0, n);
    a->chunks = xreallocarray(a->chunks, a->n + 1, sizeof *a->chunks);
    a->mapped = xreallocarray(a->mapped, a->n + 1, sizeof *a->mapped);
    a->chunks[a->n] = p;
    a->mapped[a->n++] = 0;
    return p;
#else
    size_t off = (a->used + align - 1) & ~(align - 1);
    if (!a->cur || off + n > a->cap || off + n < off) {
        size_t want = n > HARENA_CHUNK ? n : HARENA_CHUNK, mapped;
        uint8_t *c = xhuge_alloc(want, &mapped);
        a->chunks = xreallocarray(a->chunks, a->n + 1, sizeof *a->chunks);
        a->mapped = xreallocarray(a->mapped, a->n + 1, sizeof *a->mapped);
        a->chunks[a->n] = c;
        a->mapped[a->n++] = mapped;
        a->cur = c;
        a->cap = mapped;
        off = 0;
    }
    a->used = off + n;
    return a->cur + off;
#endif
}

void harena_free(harena_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->mapped[i])
            xhuge_free(a->chunks[i], a->mapped[i]);
        else
            free(a->chunks[i]);
    }
    free(a->chunks);
    free(a->mapped);
    *a = (harena_t){ 0 };
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
