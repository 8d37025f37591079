/* rng.c -- seeding for rng.h. */
#include "rng.h"

#include <sys/random.h>
#include <time.h>

void rng_seed_random(rng_t *r)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)r;
    }
    rng_seed(r, seed);
}
