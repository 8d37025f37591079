/* test_alloc.c -- the huge-page arena of dnsd/base/alloc.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dnsd/base/alloc.h"

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Many small blocks, past the end of a chunk: each aligned, zeroed, and
 * apart from the others (filling one leaves the next one intact). */
static void test_small_blocks(void **state)
{
    (void)state;
    harena_t a = { 0 };
    enum { N = 3000, SZ = 3000 };  /* 9 MB: more than two 4 MiB chunks */
    static uint8_t *blk[N];
    for (unsigned i = 0; i < N; i++) {
        size_t align = (size_t)1 << (i % 7); /* 1..64 */
        blk[i] = harena_alloc(&a, SZ, align);
        assert_non_null(blk[i]);
        assert_int_equal((uintptr_t)blk[i] % align, 0);
        assert_true(all_zero(blk[i], SZ));
        memset(blk[i], (int)(i % 251) + 1, SZ);
    }
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(blk[i][0], i % 251 + 1);
        assert_int_equal(blk[i][SZ - 1], i % 251 + 1);
    }
    harena_free(&a);
    assert_int_equal(a.n, 0);
    assert_null(a.chunks);
}

/* A block bigger than a chunk gets room of its own; the arena goes on
 * serving small ones; an arena freed twice or never used is fine. */
static void test_big_block(void **state)
{
    (void)state;
    harena_t a = { 0 };
    uint8_t *small = harena_alloc(&a, 100, 64);
    size_t big_n = (size_t)9 << 20;
    uint8_t *big = harena_alloc(&a, big_n, 64);
    uint8_t *after = harena_alloc(&a, 100, 8);
    assert_true(all_zero(big, big_n));
    memset(big, 0xab, big_n);
    memset(small, 1, 100);
    memset(after, 2, 100);
    assert_int_equal(big[0], 0xab);
    assert_int_equal(big[big_n - 1], 0xab);
    assert_int_equal(small[99], 1);
    assert_int_equal(after[0], 2);
    /* Zero bytes is a valid request. */
    assert_non_null(harena_alloc(&a, 0, 16));
    harena_free(&a);
    harena_free(&a);
    harena_t empty = { 0 };
    harena_free(&empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_blocks),
        cmocka_unit_test(test_big_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
