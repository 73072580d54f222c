/* The x86-64 cores' hot paths in C: instruction counting at translated-block boundaries, system
 * call entry, register images' moves, TLB fills.
 *
 * Unicorn's own count (emu_start with count=) calls a helper before every instruction; this
 * hook runs once per translated block instead. It adds the block's instruction count (asked of
 * Unicorn once per block and cached) and ends the run before a block when the run has used its
 * budget, or when another thread asked for a stop (fast mode's preemption: the stop is made
 * here, on the emulating thread, between two blocks, so no instruction is cut in half).
 *
 * The Python side (arch/x86_64/blocks.py) owns the state below through ctypes, and has a
 * pure-Python hook with the same behaviour for installs without this library. Unicorn's
 * functions are passed in as pointers, so nothing here links against Unicorn.
 *
 * The file is also a (trivial) Python extension module, which lets setuptools build it at
 * install time; Python loads it with ctypes, not import.
 */
#include <Python.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef int (*uc_stop_fn)(void *uc);
typedef int (*uc_ctl_fn)(void *uc, int control, ...);

/* Unicorn's uc_tb */
typedef struct {
    uint64_t pc;
    uint16_t icount;
    uint16_t size;
} uc_tb;

#define SLOTS 8192 /* a power of two */

struct slot {
    uint64_t pc;
    uint64_t space;
    uint64_t tag;
    uint32_t size;
    uint32_t icount;
};

/* Keep in step with BlockState in blocks.py. */
struct block_state {
    uint64_t counted;  /* instructions of the blocks entered in this run, plus charges */
    uint64_t limit;    /* a block entered with counted >= limit ends the run before it */
    uint64_t hard;     /* a block that would take counted past hard ends the run before it */
    uint64_t start;    /* the last block entered (or the one the run stopped before) */
    uint32_t size;     /* its size in bytes */
    uint32_t icount;   /* its instructions, 0 when the run stopped before it */
    volatile int32_t preempt; /* set by another thread: stop before the next block */
    int32_t stopped;   /* 1: this hook ended the run (budget), 2: for a preemption, 3: scan */
    uint64_t space;    /* the address space the core runs (translations are per space) */
    uint64_t tag;      /* bumped to forget every cached count */
    uint64_t misses;
    uc_stop_fn stop;
    uc_ctl_fn ctl;
    int32_t request_cache; /* UC_CTL_TB_REQUEST_CACHE, as uc_ctl wants it */
    int32_t counting;      /* 0: only preemption (fast mode) */
    /* when Unicorn's answer does not match the block (never seen): the count from Python */
    uint32_t (*resolve)(uint64_t pc, uint32_t size);
    struct slot *slots; /* SLOTS of them, zeroed (pages untouched until used) */
    /* if set, asked of each block not in the cache (in fast mode too) before it first runs:
     * nonzero ends the run before the block (a guest pcore's I/O instructions, guest.py) */
    uint32_t (*scan)(uint64_t pc, uint32_t size);
};

static inline struct slot *slot_of(struct block_state *s, uint64_t pc, uint64_t space)
{
    uint64_t h = (pc >> 1) ^ (pc >> 13) ^ (space * 0x9E3779B97F4A7C15ull);
    return &s->slots[h & (SLOTS - 1)];
}

static uint32_t block_icount(void *uc, struct block_state *s, uint64_t pc, uint32_t size)
{
    struct slot *slot = slot_of(s, pc, s->space);
    uc_tb tb;
    uint32_t n;

    if (slot->pc == pc && slot->size == size && slot->tag == s->tag && slot->space == s->space)
        return slot->icount;
    s->misses++;
    if (s->ctl(uc, s->request_cache, pc, &tb) == 0 && tb.pc == pc && tb.size == size)
        n = tb.icount;
    else
        n = s->resolve(pc, size);
    if (s->scan && s->scan(pc, size))
        s->stopped = 3;
    slot->pc = pc;
    slot->size = size;
    slot->tag = s->tag;
    slot->space = s->space;
    slot->icount = n;
    return n;
}

void kernkit_block_hook(void *uc, uint64_t pc, uint32_t size, struct block_state *s)
{
    uint32_t n = 0;

    if (s->preempt) {
        s->preempt = 0;
        s->stopped = 2;
    } else if (s->counting) {
        n = block_icount(uc, s, pc, size);
        if (s->counted >= s->limit || s->counted + n > s->hard)
            s->stopped = 1;
    } else if (s->scan) {
        block_icount(uc, s, pc, size);
    }
    s->start = pc;
    s->size = size;
    if (s->stopped) {
        s->icount = 0;
        s->stop(uc);
        return;
    }
    s->icount = n;
    s->counted += n;
}

/* A block Unicorn has just translated: its count is fresh (code rewritten in place included). */
void kernkit_block_translated(void *uc, uc_tb *cur, uc_tb *prev, struct block_state *s)
{
    struct slot *slot = slot_of(s, cur->pc, s->space);

    (void)uc;
    (void)prev;
    slot->pc = cur->pc;
    slot->size = cur->size;
    slot->tag = s->tag;
    slot->space = s->space;
    slot->icount = cur->icount;
}

/* The same for a core whose blocks are scanned (guest pcores): the block's entry is dropped
 * instead, so the block hook asks again and the scan sees the code as it now is. */
void kernkit_block_dropped(void *uc, uc_tb *cur, uc_tb *prev, struct block_state *s)
{
    struct slot *slot = slot_of(s, cur->pc, s->space);

    (void)uc;
    (void)prev;
    if (slot->pc == cur->pc)
        slot->tag = 0; /* tags start at 1 */
}

/* A code hook that does nothing: its presence puts a stop check before its instruction. */
void kernkit_stop_check(void *uc, uint64_t address, uint32_t size, void *data)
{
    (void)uc;
    (void)address;
    (void)size;
    (void)data;
}

/* --- system call entry --------------------------------------------------------------------
 *
 * A UC_HOOK_INSN hook for `syscall`: reads RAX and the six argument registers in one call, hands
 * the number to a Python callable (the core's dispatcher entry; it finds the arguments in
 * `values`), and writes what it returns to RAX (None: nothing to write). Through ctypes this
 * took two register calls and a callback conversion, each a few hundred nanoseconds.
 */
typedef int (*uc_reg_read_batch_fn)(void *uc, int *ids, void **values, int count);
typedef int (*uc_reg_write_fn)(void *uc, int id, const void *value);

/* Keep in step with SyscallState in blocks.py. */
struct syscall_state {
    uint64_t values[7]; /* RAX, then RDI, RSI, RDX, R10, R8, R9 */
    int32_t ids[7];
    int32_t rax;
    uc_reg_read_batch_fn read_batch;
    uc_reg_write_fn reg_write;
    PyObject *handler;
};

void kernkit_syscall_hook(void *uc, struct syscall_state *s)
{
    void *where[7];
    PyGILState_STATE gil;
    PyObject *number, *result;
    int i;

    for (i = 0; i < 7; i++)
        where[i] = &s->values[i];
    s->read_batch(uc, s->ids, where, 7);
    gil = PyGILState_Ensure();
    number = PyLong_FromUnsignedLongLong(s->values[0]);
    result = number ? PyObject_CallOneArg(s->handler, number) : NULL;
    Py_XDECREF(number);
    if (result == NULL) {
        PyErr_WriteUnraisable(s->handler); /* the handler catches everything: a bug here */
    } else {
        if (result != Py_None) {
            uint64_t value = PyLong_AsUnsignedLongLongMask(result);
            if (value == (uint64_t)-1 && PyErr_Occurred())
                PyErr_WriteUnraisable(s->handler);
            else
                s->reg_write(uc, s->rax, &value);
        }
        Py_DECREF(result);
    }
    PyGILState_Release(gil);
}

/* The argument reader a dispatcher is handed with the number (read_args(n): the first n argument
 * registers, as read at entry): a C function, so reading them costs no Python frame. */
static PyObject *read_args(PyObject *capsule, PyObject *arg)
{
    struct syscall_state *s = PyCapsule_GetPointer(capsule, NULL);
    Py_ssize_t n = PyLong_AsSsize_t(arg), i;
    PyObject *args, *value;

    if (s == NULL || (n == -1 && PyErr_Occurred()))
        return NULL;
    if (n < 0 || n > 6) {
        PyErr_SetString(PyExc_ValueError, "a system call has 0 to 6 arguments");
        return NULL;
    }
    args = PyTuple_New(n);
    if (args == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        value = PyLong_FromUnsignedLongLong(s->values[i + 1]);
        if (value == NULL) {
            Py_DECREF(args);
            return NULL;
        }
        PyTuple_SET_ITEM(args, i, value);
    }
    return args;
}

static PyMethodDef read_args_def = {"read_args", read_args, METH_O, NULL};

/* A new reference to read_args bound to ``s`` (call with the GIL held; ``s`` must outlive it). */
PyObject *kernkit_args_reader(struct syscall_state *s)
{
    PyObject *capsule = PyCapsule_New(s, NULL, NULL), *reader;

    if (capsule == NULL)
        return NULL;
    reader = PyCFunction_New(&read_args_def, capsule);
    Py_DECREF(capsule);
    return reader;
}

/* --- register images ----------------------------------------------------------------------
 *
 * RegisterImage's moves on a running core (arch/x86_64/context.py; its pure-Python path does
 * the same): the registers between the engine and fixed places of a byte image in one batch,
 * with the image's two conversions. Inside the syscall hook the engine's RIP is the syscall
 * instruction's address: the image holds where the thread resumes (2 bytes on), so RIP moves
 * through a scratch cell past the image. The x87 tag word also sits past the image (at `size`),
 * which holds it abridged (FXSAVE's byte: bit i set unless register i is empty, 11).
 */
typedef int (*uc_reg_write_batch_fn)(void *uc, int *ids, void *const *values, int count);

#define MXCSR_MASK 0xFFFFu /* keep in step with context.py */

/* Keep in step with ImageState in native.py. */
struct image_state {
    uint8_t *cells;      /* the image, then the tag word (at size), the syscall RIP (size + 8) */
    int32_t *ids;
    void **where;        /* each register's place */
    void **syscall_where; /* the same with RIP's place the scratch cell */
    int32_t count;
    int32_t size;
    int32_t fpu;         /* the FXSAVE image's offset, or -1 */
    int32_t rip;         /* RIP's offset, or -1 */
    uc_reg_read_batch_fn read_batch;
    uc_reg_write_batch_fn write_batch;
};

void kernkit_image_read(void *uc, struct image_state *s, int in_syscall)
{
    uint8_t *cells = s->cells;
    uint64_t rip;
    uint16_t tag;
    uint8_t abridged = 0;
    int i;

    if (in_syscall && s->rip >= 0) {
        s->read_batch(uc, s->ids, s->syscall_where, s->count);
        memcpy(&rip, cells + s->size + 8, 8);
        rip += 2;
        memcpy(cells + s->rip, &rip, 8);
    } else {
        s->read_batch(uc, s->ids, s->where, s->count);
    }
    if (s->fpu >= 0) {
        memcpy(&tag, cells + s->size, 2);
        for (i = 0; i < 8; i++)
            if (((tag >> (2 * i)) & 3) != 3)
                abridged |= (uint8_t)(1u << i);
        cells[s->fpu + 4] = abridged;
    }
}

/* 1 (nothing moved) for an FPU image with reserved MXCSR bits set, which FXRSTOR refuses. */
int kernkit_image_write(void *uc, struct image_state *s, int in_syscall)
{
    uint8_t *cells = s->cells;
    uint64_t rip;
    uint32_t mxcsr;
    uint16_t tag = 0;
    int i;

    if (s->fpu >= 0) {
        memcpy(&mxcsr, cells + s->fpu + 24, 4);
        if (mxcsr > MXCSR_MASK)
            return 1;
        for (i = 0; i < 8; i++)
            if (!((cells[s->fpu + 4] >> i) & 1))
                tag |= (uint16_t)(3u << (2 * i));
        memcpy(cells + s->size, &tag, 2);
    }
    if (in_syscall && s->rip >= 0) {
        memcpy(&rip, cells + s->rip, 8);
        rip -= 2;
        memcpy(cells + s->size + 8, &rip, 8);
        s->write_batch(uc, s->ids, s->syscall_where, s->count);
    } else {
        s->write_batch(uc, s->ids, s->where, s->count);
    }
    return 0;
}

/* --- TLB fill -----------------------------------------------------------------------------
 *
 * A UC_HOOK_TLB_FILL hook: on a TLB miss at a user address it walks the address space's
 * 4-level page tables (in the machine's physical memory) and fills the entry from a present
 * page-table entry that allows the access. Anything else (a page not there yet, a fault, the
 * boot) goes to a Python callable: slow(vaddr, access, pte) -> paddr | perms, or None to
 * refuse, or -1 when it made the page present for the access (the tables are walked again
 * here: cheaper than in Python) (pte: the entry the walk found, 0 when it found none).
 */
#define PTE_PRESENT 1ull
#define PTE_WRITABLE 2ull
#define PTE_NO_EXECUTE (1ull << 63)
#define PTE_ADDRESS 0x000FFFFFFFFFF000ull
#define MEM_WRITE 17
#define MEM_FETCH 18
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
/* What the Python side returns for "the page is in the tables now: fill from them" (-1). */
#define FILL_FROM_TABLES UINT64_MAX

typedef struct {
    uint64_t paddr;
    int perms;
} uc_tlb_entry;

/* Keep in step with FillState in native.py. */
struct fill_state {
    const uint64_t *words; /* physical memory as 64-bit words */
    uint64_t root;         /* the PML4's physical address; 0: ask Python */
    uint64_t user_limit;   /* pages at or above it: ask Python */
    PyObject *slow;
};

static inline uint64_t walk(const struct fill_state *s, uint64_t va)
{
    uint64_t table = s->root, entry;
    int shift;

    for (shift = 39; shift >= 21; shift -= 9) {
        entry = s->words[(table >> 3) + ((va >> shift) & 511)];
        if (!(entry & PTE_PRESENT))
            return 0;
        table = entry & PTE_ADDRESS;
    }
    return s->words[(table >> 3) + ((va >> 12) & 511)];
}

/* Fill from the page tables if they map the page at vaddr for this access. */
static bool fill_from_tables(const struct fill_state *s, uint64_t vaddr, int access, uc_tlb_entry *entry,
                             uint64_t *pte_out)
{
    uint64_t pte = 0;

    if (s->root && vaddr < s->user_limit) {
        pte = walk(s, vaddr & ~0xFFFull);
        if ((pte & PTE_PRESENT) && !(access == MEM_WRITE && !(pte & PTE_WRITABLE)) &&
            !(access == MEM_FETCH && (pte & PTE_NO_EXECUTE))) {
            entry->paddr = pte & PTE_ADDRESS;
            entry->perms = PROT_READ | ((pte & PTE_WRITABLE) ? PROT_WRITE : 0) |
                           ((pte & PTE_NO_EXECUTE) ? 0 : PROT_EXEC);
            return true;
        }
    }
    *pte_out = pte;
    return false;
}

bool kernkit_tlb_fill(void *uc, uint64_t vaddr, int access, uc_tlb_entry *entry, struct fill_state *s)
{
    PyGILState_STATE gil;
    PyObject *args[3], *result;
    uint64_t pte = 0, value;
    bool filled = false;

    (void)uc;
    if (fill_from_tables(s, vaddr, access, entry, &pte))
        return true;
    gil = PyGILState_Ensure();
    args[0] = PyLong_FromUnsignedLongLong(vaddr);
    args[1] = PyLong_FromLong(access);
    args[2] = PyLong_FromUnsignedLongLong(pte);
    result = args[0] && args[1] && args[2] ? PyObject_Vectorcall(s->slow, args, 3, NULL) : NULL;
    Py_XDECREF(args[0]);
    Py_XDECREF(args[1]);
    Py_XDECREF(args[2]);
    if (result == NULL) {
        PyErr_WriteUnraisable(s->slow); /* the callable catches everything: a bug here */
    } else {
        if (result != Py_None) {
            value = PyLong_AsUnsignedLongLongMask(result);
            if (PyErr_Occurred()) {
                PyErr_WriteUnraisable(s->slow);
            } else if (value == FILL_FROM_TABLES) { /* the kernel made the page present */
                filled = fill_from_tables(s, vaddr, access, entry, &pte);
            } else {
                entry->paddr = value & ~0xFFFull;
                entry->perms = (int)(value & 7);
                filled = true;
            }
        }
        Py_DECREF(result);
    }
    PyGILState_Release(gil);
    return filled;
}

size_t kernkit_fill_state_size(void)
{
    return sizeof(struct fill_state);
}

size_t kernkit_syscall_state_size(void)
{
    return sizeof(struct syscall_state);
}

size_t kernkit_block_state_size(void)
{
    return sizeof(struct block_state);
}

size_t kernkit_image_state_size(void)
{
    return sizeof(struct image_state);
}

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__native(void)
{
    return PyModule_Create(&module);
}
