/* Static TLS: the program's __thread variables, one copy per thread control block.
 *
 * The x86-64 TLS ABI (variant II) puts a static executable's TLS block just below the thread
 * pointer, at tp - round_up(memsz, align), and the compiler reaches each variable at a fixed
 * negative offset from %fs.  A block starts as the ELF's PT_TLS image: p_filesz bytes of
 * .tdata, then zeroes (.tbss). */
#ifndef PARLIB_TLS_H
#define PARLIB_TLS_H

#include "parlib.h"

struct vcore_tls;

/* True when the program has a PT_TLS segment (some __thread variable). */
bool tls_present(void);
/* A zeroed TCB (its self pointer set) with a fresh TLS image below it, or NULL when out of
 * memory.  from_start: the start-up's allocation, before malloc may run (mmap'd instead). */
struct vcore_tls *tls_block_new(bool from_start);
void tls_block_free(struct vcore_tls *tcb);
/* Copy the TLS data (not the TCB) of one block into another. */
void tls_block_copy(struct vcore_tls *to, const struct vcore_tls *from);

#endif
