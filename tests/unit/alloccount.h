/* alloccount.h -- count every allocation in a test process (header-only;
 * include in one test file per binary).
 *
 * The query path and geo_lookup must not allocate.  Without ASan the test
 * binary interposes malloc/calloc/realloc over glibc's (the __libc_* entry
 * points stay exported for exactly this); under ASan, whose allocator
 * replaces glibc's, its malloc hook counts instead.  Either way every
 * allocation made by anything in the process between two reads of
 * alloc_count is seen.  Call alloc_counting_init() once first. */
#ifndef POOLDNS_ALLOCCOUNT_H
#define POOLDNS_ALLOCCOUNT_H

#include <stddef.h>

static volatile unsigned long alloc_count;
#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void *, size_t),
                                              void (*)(const volatile void *));
static void count_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    alloc_count++;
}
static void count_free(const volatile void *p) { (void)p; }
static void alloc_counting_init(void)
{
    __sanitizer_install_malloc_and_free_hooks(count_malloc, count_free);
}
#else
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n)
{
    alloc_count++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size)
{
    alloc_count++;
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n)
{
    alloc_count++;
    return __libc_realloc(p, n);
}
static void alloc_counting_init(void) {}
#endif

#endif
