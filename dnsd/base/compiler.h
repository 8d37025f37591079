/* compiler.h -- attributes and branch hints shared by every module. */
#ifndef POOLDNS_COMPILER_H
#define POOLDNS_COMPILER_H

#define F_NONNULL       __attribute__((nonnull))
#define F_WUNUSED       __attribute__((warn_unused_result))
#define F_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#define F_HOT           __attribute__((hot))
/* A copy of the function for CPUs with the POPCNT instruction, chosen once
 * at start-up (GCC's target_clones; x86-64 only, where the baseline lacks
 * it and __builtin_popcount is a library call). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define F_POPCNT        __attribute__((target_clones("popcnt", "default")))
#else
#define F_POPCNT
#endif
#define F_COLD          __attribute__((cold))
/* Inlined even where gcc's size heuristics would not: query-path steps
 * with one hot caller, whose calls cost saved registers and arguments. */
#define F_INLINE        inline __attribute__((always_inline))
#define F_NORETURN      __attribute__((noreturn))
#define F_UNUSED        __attribute__((unused))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
