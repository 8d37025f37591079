/* rng.h -- a small, fast per-thread pseudo-random generator (wyrand).
 *
 * Not cryptographic: it decides which pool servers a client sees, nothing
 * secret.  Each worker seeds its own state once from getrandom(), so a draw
 * is a few arithmetic instructions and never a system call. */
#ifndef POOLDNS_RNG_H
#define POOLDNS_RNG_H

#include <stdint.h>

typedef struct { uint64_t s; } rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed) { r->s = seed; }

static inline uint64_t rng_next(rng_t *r)
{
    r->s += 0xa0761d6478bd642fULL;
    __uint128_t m = (__uint128_t)r->s * (r->s ^ 0xe7037ed1a0b428dbULL);
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift with rejection). */
static inline uint64_t rng_below(rng_t *r, uint64_t n)
{
    __uint128_t m = (__uint128_t)rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = -n % n;
        while (lo < t) {
            m = (__uint128_t)rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Seed from the kernel (getrandom); falls back to time and address bits. */
void rng_seed_random(rng_t *r);

#endif
