/* x86-64 helpers for parlib: time stamp counter, FS base, atomics, barriers. */
#ifndef PARLIB_ARCH_H
#define PARLIB_ARCH_H

#include <stdbool.h>
#include <stdint.h>

/* Virtual cycles (procinfo.tsc_freq per second).  rdtsc is allowed in ring 3. */
static inline uint64_t read_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* A compiler barrier: cores run one at a time in kernkit, but a vcore can be interrupted at any
 * instruction, so the compiler must not cache shared state across these points. */
static inline void cmb(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void write_fsbase(uint64_t base)
{
	__asm__ volatile("wrfsbase %0" ::"r"(base) : "memory");
}

static inline uint64_t read_fsbase(void)
{
	uint64_t base;
	__asm__ volatile("rdfsbase %0" : "=r"(base));
	return base;
}

#define atomic_read(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define atomic_set(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_add(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_swap(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_or(p, v) __atomic_or_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_and(p, v) __atomic_and_fetch((p), (v), __ATOMIC_SEQ_CST)

static inline bool atomic_cas(volatile uint64_t *p, uint64_t old, uint64_t new)
{
	return __atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline bool atomic_cas_u32(volatile uint32_t *p, uint32_t old, uint32_t new)
{
	return __atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

#endif
