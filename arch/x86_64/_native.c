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
#include <structmember.h>
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
    /* dispatch in C (kernkit_entry_dispatch): mode 0 hands every call to `handler` */
    int32_t mode;          /* 1: SyscallDispatcher's dispatch, 2: TracingDispatcher's */
    int32_t index;         /* the core's number */
    int32_t deterministic; /* time stamps from the instruction count */
    int32_t batch;         /* the tracer's batch: flushed when it holds this many */
    struct block_state *blocks;
    PyObject *core;       /* the X86Core: its thread, in_syscall, needs_tb_flush, run counts */
    uint64_t calls;       /* calls dispatched here, not yet added to the dispatcher's count */
    PyObject *kernel;     /* tracing, the time stamp's fields */
    PyObject *pending;    /* the tracer's batch */
    PyObject *flush;      /* flush() */
    PyObject *settle;     /* settle(thread, number, result) -> what goes to RAX */
    PyObject *failed;     /* failed(thread, number, call, args, error) -> what goes to RAX */
    PyObject *stamp;      /* stamp(core) -> the time of a call the C does not stamp */
    PyObject *read;       /* a read handler whose plain page-cache reads are done here, or NULL */
    PyObject *close;      /* the close handler whose plain closes are done here, or NULL */
    PyObject *files_types; /* (channel type, drivers' types, page cache type, the locks' key) */
};

static PyObject *entry_dispatch(struct syscall_state *s, PyObject *number);

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
    if (number == NULL)
        result = NULL;
    else if (s->mode)
        result = entry_dispatch(s, number);
    else
        result = PyObject_CallOneArg(s->handler, number);
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

/* The dispatch itself, as SyscallDispatcher.dispatch and TracingDispatcher.dispatch do it in
 * Python (core/syscalls.py; the two must give the same results and trace records): the current
 * thread's handler is looked up and called from here, and the traced call's record (time stamp
 * from the core's live instruction count) is built here. An unknown number, a thread-less core,
 * a handler that raised and a call after which the thread stops, has signals to take or the core
 * must flush its translations go back to Python (handler, failed, settle). Attribute names are
 * interned once, by kernkit_entry_init. */
enum {
    A_THREAD, A_PROCESS, A_SYSCALL_MAP, A_NARGS, A_HANDLER, A_NAME, A_STOP_REQUESTED,
    A_USER_WORK, A_NEEDS_TB_FLUSH, A_IN_SYSCALL, A_CORE, A_PID, A_TID, A_TRACING, A_CORE_USED,
    A_ROUND_START_NS, A_IPS, A_IN_RUN, A_RUN_BASE, A_SEGMENT_BASE, A_FILES, A_GET, A_ASPACE, A_LIMIT,
    A_PAGES_KNOWN, A_MEMORY, A_BYTES, A_IS_CODE, A_MODE, A_QID, A_TYPE, A_DRIVER, A_AUX, A_INODE, A_FIFO,
    A_ATIME, A_MTIME, A_CTIME, A_DATA, A_SIZE, A_PAGES, A_OFFSET, A_KERNEL, A_CLOEXEC, A_REFS, A_OPENS,
    A_LINKS, A_COUNT_OF_NAMES
};
static const char *const names[A_COUNT_OF_NAMES] = {
    "thread", "process", "syscall_map", "nargs", "handler", "name", "stop_requested",
    "user_work", "needs_tb_flush", "in_syscall", "core", "pid", "tid", "tracing", "_core_used",
    "round_start_ns", "ips", "in_run", "run_base", "segment_base", "files", "get", "aspace", "limit",
    "known_pages", "memory", "bytes", "is_code", "mode", "qid", "type", "driver", "aux", "inode", "fifo",
    "atime", "mtime", "ctime", "data", "size", "pages", "offset", "kernel", "cloexec", "refs", "opens",
    "links",
};
static PyObject *attr[A_COUNT_OF_NAMES];

/* Call with the GIL held. 0, or -1 with an exception set. */
int kernkit_entry_init(void)
{
    int i;

    for (i = 0; i < A_COUNT_OF_NAMES; i++)
        if (attr[i] == NULL && (attr[i] = PyUnicode_InternFromString(names[i])) == NULL)
            return -1;
    return 0;
}

/* A slot of an attrs class (threads, processes, system calls) read at its offset, as the
 * interpreter's specialised attribute loads do: PyObject_GetAttr's generic path costs as much
 * as the bytecodes this file saves (the core's hot attributes are slots for this, X86Core's
 * __slots__). Each site remembers the type it saw; another type (or a slot that is not a plain
 * object member) takes the generic path. */
struct site {
    PyTypeObject *type;
    Py_ssize_t offset;
};
static struct site sites[A_COUNT_OF_NAMES];
#define NOT_A_SLOT (&PyBaseObject_Type) /* object's attributes are never read here */

/* The site of obj.name, resolved with the first object seen there: a slot, or the generic path. */
static struct site *site_of(PyObject *obj, int name)
{
    struct site *site = &sites[name];
    PyObject *descr;
    PyMemberDef *member;

    if (site->type == NULL) {
        site->type = NOT_A_SLOT;
        descr = _PyType_Lookup(Py_TYPE(obj), attr[name]);
        member = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type) ? ((PyMemberDescrObject *)descr)->d_member
                                                                         : NULL;
        if (member != NULL && member->type == T_OBJECT_EX && !(member->flags & (READONLY | READ_RESTRICTED))) {
            Py_INCREF(Py_TYPE(obj)); /* kept: the offset belongs to it */
            site->type = Py_TYPE(obj);
            site->offset = member->offset;
        }
    }
    return site;
}

/* obj.name = value: 0, or -1 with an exception set. */
static int put(PyObject *obj, int name, PyObject *value)
{
    struct site *site = site_of(obj, name);
    PyObject **slot, *old;

    if (Py_TYPE(obj) != site->type)
        return PyObject_SetAttr(obj, attr[name], value);
    slot = (PyObject **)((char *)obj + site->offset);
    old = *slot;
    Py_INCREF(value);
    *slot = value;
    Py_XDECREF(old);
    return 0;
}

/* obj.name, a new reference, or NULL with an exception set. */
static PyObject *get(PyObject *obj, int name)
{
    struct site *site = site_of(obj, name);
    PyObject *value;

    if (Py_TYPE(obj) == site->type) {
        value = *(PyObject **)((char *)obj + site->offset);
        if (value != NULL) {
            Py_INCREF(value);
            return value;
        }
    }
    return PyObject_GetAttr(obj, attr[name]);
}

/* Truth of obj.name: 1, 0, or -1 with an exception set. */
static int flag(PyObject *obj, int name)
{
    PyObject *value = get(obj, name);
    int truth;

    if (value == NULL)
        return -1;
    truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* obj.name as a C integer; 0 with *ok cleared (and no exception) when it is not one that fits. */
static long long integer(PyObject *obj, int name, int *ok)
{
    PyObject *value = get(obj, name);
    long long n = 0;
    int overflow = 0;

    if (value != NULL && PyLong_Check(value))
        n = PyLong_AsLongLongAndOverflow(value, &overflow);
    else
        *ok = 0;
    if (overflow || PyErr_Occurred())
        *ok = 0;
    PyErr_Clear();
    Py_XDECREF(value);
    return n;
}

/* obj.name as a C integer, read from its slot without taking a reference when it is a plain int
 * (the time stamp reads four at each traced call); otherwise as integer() reads it. */
static inline long long slot_integer(PyObject *obj, int name, int *ok)
{
    struct site *site = &sites[name];
    PyObject *value;
    int overflow = 0;
    long long n;

    if (site->type != Py_TYPE(obj) || (value = *(PyObject **)((char *)obj + site->offset)) == NULL
        || !PyLong_CheckExact(value))
        return integer(obj, name, ok);
    n = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (n == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        *ok = 0;
    }
    return n;
}

/* Kernel.now(core) for the core running the call, from the block count; *ok cleared when the
 * C cannot tell it exactly (Python stamps it then). */
static long long stamp_here(struct syscall_state *s, PyObject *where, int *ok)
{
    PyObject *used_list;
    long long used = 0, start, ips, live = 0;
    int in_run;
    __int128 t;

    if (!s->deterministic || !PyLong_Check(where) || PyLong_AsLong(where) != s->index) {
        PyErr_Clear();
        *ok = 0;
        return 0;
    }
    used_list = get(s->kernel, A_CORE_USED);
    if (used_list != NULL && PyList_Check(used_list) && s->index < PyList_GET_SIZE(used_list)) {
        int overflow = 0;
        PyObject *item = PyList_GET_ITEM(used_list, s->index);
        used = PyLong_Check(item) ? PyLong_AsLongLongAndOverflow(item, &overflow) : (*ok = 0);
        if (overflow)
            *ok = 0;
    } else {
        *ok = 0;
    }
    Py_XDECREF(used_list);
    PyErr_Clear();
    start = slot_integer(s->kernel, A_ROUND_START_NS, ok);
    ips = slot_integer(s->kernel, A_IPS, ok);
    in_run = flag(s->core, A_IN_RUN);
    if (in_run < 0) {
        PyErr_Clear();
        *ok = 0;
    } else if (in_run) {
        live = slot_integer(s->core, A_RUN_BASE, ok) + (long long)s->blocks->counted
               - slot_integer(s->core, A_SEGMENT_BASE, ok);
    }
    if (!*ok || ips <= 0 || used + live < 0 || start < 0) {
        *ok = 0;
        return 0;
    }
    if (used + live <= INT64_MAX / 1000000000) /* in 64 bits (a 128-bit division is a call) */
        t = (__int128)start + (used + live) * 1000000000 / ips;
    else
        t = (__int128)start + (__int128)(used + live) * 1000000000 / ips;
    if (t > INT64_MAX) {
        *ok = 0;
        return 0;
    }
    return (long long)t;
}

/* --- the trace line, written at the call -------------------------------------------------------
 *
 * A traced call's line is written here, as core/tracer.py's syscall_line writes its record, and
 * waits in the tracer's batch as bytes: no record tuple to build, keep and take apart again, and
 * the argument registers written from where the entry read them. A call whose fields this does
 * not write exactly (a name needing escapes, a number outside 64 bits) waits as a record tuple,
 * as before, and the tracer writes it (core/_tracelines.c, or Python). */
#define LINE_NUMBER_MAX 21 /* 20 digits and a sign */

static const unsigned long long powers_of_ten[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull,
};

static char *line_u64(char *p, unsigned long long value, int negative)
{
    size_t digits = 1;
    char *end;

    while (digits < 20 && value >= powers_of_ten[digits])
        digits++;
    if (negative)
        *p++ = '-';
    end = p + digits;
    p = end;
    while (value >= 100) { /* two digits a division */
        unsigned pair = (unsigned)(value % 100);
        value /= 100;
        *--p = (char)('0' + pair % 10);
        *--p = (char)('0' + pair / 10);
    }
    if (value >= 10) {
        *--p = (char)('0' + value % 10);
        value /= 10;
    }
    *--p = (char)('0' + value);
    return end;
}

static char *line_i64(char *p, long long value)
{
    return value < 0 ? line_u64(p, 0ull - (unsigned long long)value, 1) : line_u64(p, (unsigned long long)value, 0);
}

#define LINE_LITERAL(p, text) (memcpy((p), (text), sizeof(text) - 1), (p) + sizeof(text) - 1)

/* A plain int within 64 signed bits: 1 and its value, or 0 (no exception left). */
static int plain_i64(PyObject *value, long long *out)
{
    int overflow = 0;

    if (!PyLong_CheckExact(value))
        return 0;
    *out = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* Whether json.dumps writes the name as it is (printable ASCII without quotes or backslashes);
 * the last name found so is remembered (held), so a loop of one call checks it once. */
static PyObject *plain_name_seen;

static int plain_name(PyObject *name)
{
    const char *text;
    Py_ssize_t n, i;

    if (name == plain_name_seen)
        return 1;
    if (!PyUnicode_CheckExact(name) || !PyUnicode_IS_ASCII(name))
        return 0;
    text = (const char *)PyUnicode_DATA(name);
    n = PyUnicode_GET_LENGTH(name);
    for (i = 0; i < n; i++)
        if (text[i] < 0x20 || text[i] == '"' || text[i] == '\\' || text[i] == 0x7f)
            return 0;
    Py_INCREF(name);
    Py_XSETREF(plain_name_seen, name);
    return 1;
}

/* The call's line as bytes (a new reference), Py_None when a field is not one written here
 * exactly, or NULL with an exception set. */
static PyObject *trace_line(struct syscall_state *s, long long t, PyObject *where, PyObject *pid, PyObject *tid,
                            PyObject *name, Py_ssize_t nargs, PyObject *result)
{
    long long core = 0, pid_value, tid_value, ret = 0;
    Py_ssize_t name_len, i;
    char text[128 + 8 * LINE_NUMBER_MAX + 6 * (LINE_NUMBER_MAX + 1)], *p = text;

    if ((where != Py_None && !plain_i64(where, &core)) || !plain_i64(pid, &pid_value) || !plain_i64(tid, &tid_value)
        || !plain_name(name) || s->values[0] > (unsigned long long)INT64_MAX)
        Py_RETURN_NONE;
    if (result != Py_None) {
        int overflow = 0;
        if (!PyLong_CheckExact(result))
            Py_RETURN_NONE;
        ret = PyLong_AsLongLongAndOverflow(result, &overflow);
        if (overflow > 0) { /* 2**63 .. 2**64-1, as the register holds it: written signed */
            unsigned long long u = PyLong_AsUnsignedLongLong(result);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                Py_RETURN_NONE;
            }
            ret = (long long)u;
        } else if (overflow < 0 || (ret == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            Py_RETURN_NONE;
        }
    }
    name_len = PyUnicode_GET_LENGTH(name);
    if (name_len > 64) /* room for the rest is fixed: a longer name takes the tuple */
        Py_RETURN_NONE;
    p = LINE_LITERAL(p, "{\"t\":");
    p = line_i64(p, t);
    p = LINE_LITERAL(p, ",\"ev\":\"syscall\"");
    if (where != Py_None) {
        p = LINE_LITERAL(p, ",\"core\":");
        p = line_i64(p, core);
    }
    p = LINE_LITERAL(p, ",\"pid\":");
    p = line_i64(p, pid_value);
    p = LINE_LITERAL(p, ",\"tid\":");
    p = line_i64(p, tid_value);
    p = LINE_LITERAL(p, ",\"name\":\"");
    memcpy(p, PyUnicode_DATA(name), (size_t)name_len);
    p += name_len;
    p = LINE_LITERAL(p, "\",\"nr\":");
    p = line_u64(p, s->values[0], 0);
    p = LINE_LITERAL(p, ",\"args\":[");
    for (i = 0; i < nargs; i++) {
        if (i > 0)
            *p++ = ',';
        p = line_u64(p, s->values[i + 1], 0);
    }
    p = LINE_LITERAL(p, "],\"ret\":");
    if (result == Py_None)
        p = LINE_LITERAL(p, "null");
    else
        p = line_i64(p, ret);
    *p++ = '}';
    return PyBytes_FromStringAndSize(text, p - text);
}

/* Append the call's line (or record) to the tracer's batch, as TracingDispatcher.dispatch does. 0 or -1. */
static int trace(struct syscall_state *s, PyObject *thread, PyObject *process, PyObject *call,
                 PyObject *number, PyObject *args, PyObject *result)
{
    PyObject *where, *t = NULL, *pid = NULL, *tid = NULL, *name = NULL, *record = NULL;
    int tracing = flag(s->kernel, A_TRACING), ok = 1, failed = -1;
    long long stamp = 0;

    if (tracing <= 0)
        return tracing;
    where = get(thread, A_CORE);
    if (where == NULL)
        return -1;
    stamp = stamp_here(s, where, &ok);
    if (!ok) {
        t = PyObject_CallOneArg(s->stamp, where);
        if (t == NULL)
            goto out;
        ok = plain_i64(t, &stamp);
    }
    pid = get(process, A_PID);
    tid = pid ? get(thread, A_TID) : NULL;
    name = tid ? get(call, A_NAME) : NULL;
    if (name == NULL)
        goto out;
    record = ok ? trace_line(s, stamp, where, pid, tid, name, PyTuple_GET_SIZE(args), result) : Py_NewRef(Py_None);
    if (record == NULL)
        goto out;
    if (record == Py_None) { /* a field the line above does not write: the record, for the tracer */
        Py_CLEAR(record); /* not released again at out: if the stamp's int cannot be made */
        if (t == NULL && (t = PyLong_FromLongLong(stamp)) == NULL)
            goto out;
        record = PyTuple_Pack(8, t, where, pid, tid, name, number, args, result);
        if (record == NULL)
            goto out;
        /* ints, a str, None and a tuple of ints: no cycle through them, so the collector need
         * not walk the batch's records (it would at every collection while they wait) */
        if (result == Py_None || PyLong_CheckExact(result)) {
            PyObject_GC_UnTrack(args);
            PyObject_GC_UnTrack(record);
        }
    }
    if (PyList_Append(s->pending, record) < 0)
        goto out;
    if (PyList_GET_SIZE(s->pending) >= s->batch) {
        PyObject *done = PyObject_CallNoArgs(s->flush);
        if (done == NULL)
            goto out;
        Py_DECREF(done);
    }
    failed = 0;
out:
    Py_DECREF(where);
    Py_XDECREF(t);
    Py_XDECREF(pid);
    Py_XDECREF(tid);
    Py_XDECREF(name);
    Py_XDECREF(record);
    return failed;
}

/* --- read() of a cached page -------------------------------------------------------------------
 *
 * A read handler registered for it (arch/x86_64/api.py, native_files: the Linux personality's
 * read) is done here in its most common case, as the handler, the driver's read and
 * PageCache.read would do it in Python: the descriptor's channel is a plain open file of one of
 * the registered drivers, the bytes lie inside one cached page of the file, the guest's buffer
 * inside one page the address space knows present and writable and not code, and the read
 * updates no access time. The bytes go from the file's frame to the guest's in one copy. In any
 * other case, and whenever a value is not what this expects, it returns NULL without an exception
 * and changes nothing: the Python handler then runs as if this were not here (the results, the
 * trace and the virtual times are the same either way). */
#define READ_MAX_IO (1ull << 24) /* keep in step with fileio.py's MAX_IO */
#define READ_PAGE 4096ull
#define READ_QTDIR 0x80
#define READ_ACCESS_WRONLY 1
#define READ_HELD 24

/* An exact int as a C integer; *ok cleared (no exception left) otherwise. Releases value. */
static long long own_integer(PyObject *value, int *ok)
{
    long long n = 0;
    int overflow = 0;

    if (value != NULL && PyLong_CheckExact(value))
        n = PyLong_AsLongLongAndOverflow(value, &overflow);
    else
        *ok = 0;
    if (overflow || PyErr_Occurred()) {
        PyErr_Clear();
        *ok = 0;
    }
    Py_XDECREF(value);
    return n;
}

/* Whether ``driver`` is exactly one of the drivers whose files the fast paths may serve. */
static int is_page_cache_driver(struct syscall_state *s, PyObject *driver)
{
    PyObject *drivers = PyTuple_GET_ITEM(s->files_types, 1);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(drivers); i++)
        if ((PyObject *)Py_TYPE(driver) == PyTuple_GET_ITEM(drivers, i))
            return 1;
    return 0;
}

/* The descriptor's read, or NULL (no exception) for the Python handler to do it. */
static PyObject *fast_read(struct syscall_state *s, PyObject *process, PyObject *args)
{
    PyObject *held[READ_HELD], *files, *getter, *table, *file, *aspace, *known, *entry, *qid, *driver;
    PyObject *node, *inode, *cache, *pages, *memory, *is_code, *view, *key, *result = NULL;
    unsigned long long buf = s->values[2], count = s->values[3], in_page = buf & (READ_PAGE - 1);
    long long limit, guest_frame, frame = 0, offset, size, end, length = 0, atime, mtime, ctime;
    Py_buffer *bytes;
    int n = 0, ok = 1, code;

#define HOLD(expr) (held[n] = (expr), held[n] == NULL ? NULL : held[n++])
    if (count > READ_MAX_IO)
        count = READ_MAX_IO;
    if (count == 0 || count > READ_PAGE - in_page) /* a buffer inside one page */
        goto out;
    if ((files = HOLD(get(process, A_FILES))) == NULL || (getter = HOLD(get(files, A_GET))) == NULL)
        goto out;
    if (!PyCFunction_Check(getter) || (table = PyCFunction_GET_SELF(getter)) == NULL || !PyDict_CheckExact(table))
        goto out; /* the table's get is its dict's own */
    file = PyDict_GetItemWithError(table, PyTuple_GET_ITEM(args, 0));
    if (file == NULL || Py_TYPE(file) != (PyTypeObject *)PyTuple_GET_ITEM(s->files_types, 0))
        goto out;
    if ((own_integer(get(file, A_MODE), &ok) & 3) == READ_ACCESS_WRONLY || !ok)
        goto out;
    if ((qid = HOLD(get(file, A_QID))) == NULL || own_integer(get(qid, A_TYPE), &ok) & READ_QTDIR || !ok)
        goto out;
    if ((driver = HOLD(get(file, A_DRIVER))) == NULL)
        goto out;
    if (!is_page_cache_driver(s, driver))
        goto out;
    /* the driver's read: a plain file's cache, no access time to set (relatime) */
    if ((node = HOLD(get(file, A_AUX))) == NULL || (inode = HOLD(get(node, A_INODE))) == NULL)
        goto out;
    if ((entry = HOLD(get(inode, A_FIFO))) == NULL || entry != Py_None)
        goto out;
    atime = own_integer(get(inode, A_ATIME), &ok);
    mtime = own_integer(get(inode, A_MTIME), &ok);
    ctime = own_integer(get(inode, A_CTIME), &ok);
    if (!ok || atime <= mtime || atime <= ctime)
        goto out;
    cache = HOLD(get(inode, A_DATA));
    if (cache == NULL || Py_TYPE(cache) != (PyTypeObject *)PyTuple_GET_ITEM(s->files_types, 2))
        goto out;
    offset = own_integer(get(file, A_OFFSET), &ok);
    size = own_integer(get(cache, A_SIZE), &ok);
    if (!ok || offset < 0)
        goto out;
    end = size - offset < (long long)count ? size : offset + (long long)count;
    if (offset < end) { /* otherwise the end of the file: 0 */
        if (offset >> 12 != (end - 1) >> 12 || (pages = HOLD(get(cache, A_PAGES))) == NULL || !PyDict_CheckExact(pages)
            || (key = HOLD(PyLong_FromLongLong(offset >> 12))) == NULL
            || (entry = PyDict_GetItemWithError(pages, key)) == NULL)
            goto out;
        frame = own_integer(Py_NewRef(entry), &ok) + (offset & (READ_PAGE - 1));
        length = end - offset;
    }
    /* the guest's page: known present and writable, not code (AddressSpace.allows and write) */
    if ((aspace = HOLD(get(process, A_ASPACE))) == NULL)
        goto out;
    limit = own_integer(get(aspace, A_LIMIT), &ok);
    if (!ok || buf >= (unsigned long long)limit || (known = HOLD(get(aspace, A_PAGES_KNOWN))) == NULL
        || !PyDict_CheckExact(known) || (key = HOLD(PyLong_FromUnsignedLongLong(buf - in_page))) == NULL
        || (entry = PyDict_GetItemWithError(known, key)) == NULL || !PyTuple_CheckExact(entry)
        || PyTuple_GET_SIZE(entry) < 2 || PyObject_IsTrue(PyTuple_GET_ITEM(entry, 1)) != 1)
        goto out;
    guest_frame = own_integer(Py_NewRef(PyTuple_GET_ITEM(entry, 0)), &ok);
    if ((memory = HOLD(get(aspace, A_MEMORY))) == NULL || (view = HOLD(get(cache, A_MEMORY))) != memory)
        goto out; /* the file's frames and the guest's in one memory */
    if ((is_code = HOLD(get(memory, A_IS_CODE))) == NULL || (view = HOLD(get(memory, A_BYTES))) == NULL
        || !PyMemoryView_Check(view))
        goto out;
    code = -1;
    if ((key = HOLD(PyObject_CallOneArg(is_code, PyTuple_GET_ITEM(entry, 0)))) != NULL)
        code = PyObject_IsTrue(key);
    bytes = PyMemoryView_GET_BUFFER(view);
    if (code != 0 || !ok || bytes->readonly || guest_frame < 0 || frame < 0
        || guest_frame + (long long)in_page + length > bytes->len || frame + length > bytes->len)
        goto out;
    if (length > 0) {
        if ((key = HOLD(PyLong_FromLongLong(offset + length))) == NULL || put(file, A_OFFSET, key) < 0)
            goto out;
        memmove((char *)bytes->buf + guest_frame + in_page, (char *)bytes->buf + frame, (size_t)length);
    }
    result = PyLong_FromLongLong(length);
out:
#undef HOLD
    while (n > 0)
        Py_DECREF(held[--n]);
    if (result == NULL)
        PyErr_Clear();
    return result;
}

/* --- close() of a plain open file ----------------------------------------------------------------
 *
 * The close handler registered with the read (native_files) is done here when nothing but
 * bookkeeping follows, as the handler, FileTable.close, Chan.close and the driver's close would
 * do it: the descriptor holds a channel of one of the registered drivers, no lock table exists
 * (the guard key is not in the kernel's data), and the channel either stays held elsewhere or is
 * a plain file that stays (no fifo, no ORCLOSE, not the last open of a removed file). Otherwise,
 * as for reads, NULL and nothing changed. */
#define CLOSE_CLOSED (-1)
#define CLOSE_ORCLOSE 0x40

static PyObject *fast_close(struct syscall_state *s, PyObject *process, PyObject *args)
{
    PyObject *held[READ_HELD], *files, *getter, *table, *file, *fd = PyTuple_GET_ITEM(args, 0), *kernel, *data;
    PyObject *driver, *cloexec, *node = NULL, *inode = NULL, *entry, *refs_value, *opens_value = NULL;
    PyObject *result = NULL, *closed_value = NULL;
    long long refs, mode = CLOSE_CLOSED, opens = 0, links;
    int n = 0, ok = 1, last, changing = 0;

#define HOLD(expr) (held[n] = (expr), held[n] == NULL ? NULL : held[n++])
    if ((files = HOLD(get(process, A_FILES))) == NULL || (getter = HOLD(get(files, A_GET))) == NULL)
        goto out;
    if (!PyCFunction_Check(getter) || (table = PyCFunction_GET_SELF(getter)) == NULL || !PyDict_CheckExact(table))
        goto out;
    file = PyDict_GetItemWithError(table, fd);
    if (file == NULL || Py_TYPE(file) != (PyTypeObject *)PyTuple_GET_ITEM(s->files_types, 0))
        goto out;
    if ((kernel = HOLD(get(process, A_KERNEL))) == NULL || (data = HOLD(get(kernel, A_DATA))) == NULL
        || !PyDict_CheckExact(data) || PyDict_Contains(data, PyTuple_GET_ITEM(s->files_types, 3)) != 0)
        goto out; /* record locks to drop: Python */
    if ((driver = HOLD(get(file, A_DRIVER))) == NULL)
        goto out;
    if (!is_page_cache_driver(s, driver))
        goto out;
    if ((cloexec = HOLD(get(files, A_CLOEXEC))) == NULL || !PyAnySet_CheckExact(cloexec))
        goto out;
    refs = own_integer(get(file, A_REFS), &ok) - 1;
    last = refs <= 0;
    if (last)
        mode = own_integer(get(file, A_MODE), &ok);
    if (!ok)
        goto out;
    if (last && mode != CLOSE_CLOSED) { /* the driver's close: a plain file that stays */
        if (mode & CLOSE_ORCLOSE || (node = HOLD(get(file, A_AUX))) == NULL || (inode = HOLD(get(node, A_INODE))) == NULL
            || (entry = HOLD(get(inode, A_FIFO))) == NULL || entry != Py_None)
            goto out;
        opens = own_integer(get(inode, A_OPENS), &ok) - 1;
        links = own_integer(get(inode, A_LINKS), &ok);
        if (!ok || (links == 0 && opens <= 0) || (opens_value = HOLD(PyLong_FromLongLong(opens))) == NULL
            || (closed_value = HOLD(PyLong_FromLong(CLOSE_CLOSED))) == NULL)
            goto out; /* the file goes with its last open: Python */
    }
    if ((refs_value = HOLD(PyLong_FromLongLong(refs))) == NULL || (result = PyLong_FromLong(0)) == NULL)
        goto out;
    /* every test passed: the changes, none of which can fail now but the first */
    changing = 1;
    Py_INCREF(file);
    if (PyDict_DelItem(table, fd) < 0 || PySet_Discard(cloexec, fd) < 0 || put(file, A_REFS, refs_value) < 0
        || (opens_value != NULL && (put(inode, A_OPENS, opens_value) < 0 || put(file, A_MODE, closed_value) < 0)))
        Py_CLEAR(result); /* out of memory in the middle: a kernel bug's report */
    Py_DECREF(file);
out:
#undef HOLD
    while (n > 0)
        Py_DECREF(held[--n]);
    if (result == NULL && !changing)
        PyErr_Clear();
    return result;
}

/* What goes to RAX (a new reference; None: nothing), or NULL with an exception set (a bug). */
static PyObject *entry_dispatch(struct syscall_state *s, PyObject *number)
{
    PyObject *thread, *process = NULL, *map = NULL, *call, *handler = NULL, *nargs_value = NULL;
    PyObject *argv[7], *args = NULL, *result = NULL, *error, *type, *tb, *settled;
    Py_ssize_t nargs = 0, i;
    int stop, work, flush;

    thread = get(s->core, A_THREAD);
    if (thread == NULL)
        return NULL;
    if (thread != Py_None)
        process = get(thread, A_PROCESS);
    if (process != NULL)
        map = get(process, A_SYSCALL_MAP);
    call = map != NULL && PyDict_CheckExact(map) ? PyDict_GetItemWithError(map, number) : NULL;
    if (call == NULL) { /* the Python entry says why (unknown number, no thread, ...) */
        PyErr_Clear();
        Py_XDECREF(map);
        Py_XDECREF(process);
        Py_DECREF(thread);
        return PyObject_CallOneArg(s->handler, number);
    }
    Py_INCREF(call);
    Py_DECREF(map);
    s->calls++;
    nargs_value = get(call, A_NARGS);
    if (nargs_value == NULL || (nargs = PyLong_AsSsize_t(nargs_value)) < 0 || nargs > 6) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "a system call has 0 to 6 arguments");
        goto out;
    }
    handler = get(call, A_HANDLER);
    if (handler == NULL)
        goto out;
    args = PyTuple_New(nargs);
    if (args == NULL)
        goto out;
    argv[0] = thread;
    for (i = 0; i < nargs; i++) {
        PyObject *value = PyLong_FromUnsignedLongLong(s->values[i + 1]);
        if (value == NULL)
            goto out;
        PyTuple_SET_ITEM(args, i, value);
        argv[i + 1] = value;
    }
    if (put(s->core, A_IN_SYSCALL, Py_True) < 0)
        goto out;
    if (s->read != NULL && handler == s->read && nargs == 3)
        result = fast_read(s, process, args);
    else if (s->close != NULL && handler == s->close && nargs == 1)
        result = fast_close(s, process, args);
    if (result == NULL && !PyErr_Occurred()) /* not done there: the handler does it */
        result = PyObject_Vectorcall(handler, argv, (size_t)nargs + 1, NULL);
    if (result == NULL) { /* the dispatcher's answer to it, and the rest of the entry, in Python */
        PyErr_Fetch(&type, &error, &tb);
        PyErr_NormalizeException(&type, &error, &tb);
        if (tb != NULL && error != NULL)
            PyException_SetTraceback(error, tb);
        if (error != NULL)
            result = PyObject_CallFunctionObjArgs(s->failed, thread, number, call, args, error, NULL);
        else
            PyErr_Restore(type, error, tb), type = tb = NULL;
        Py_XDECREF(type);
        Py_XDECREF(error);
        Py_XDECREF(tb);
        goto done;
    }
    if (s->mode == 2 && trace(s, thread, process, call, number, args, result) < 0)
        goto fail;
    stop = flag(thread, A_STOP_REQUESTED);
    work = stop ? stop : flag(thread, A_USER_WORK);
    flush = stop || work ? 1 : flag(s->core, A_NEEDS_TB_FLUSH);
    if (stop < 0 || work < 0 || flush < 0)
        goto fail;
    if (stop || work || flush) {
        settled = PyObject_CallFunctionObjArgs(s->settle, thread, number, result, NULL);
        Py_SETREF(result, settled);
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    PyErr_Fetch(&type, &error, &tb); /* a failure's exception outlives the flag's reset */
    if (put(s->core, A_IN_SYSCALL, Py_False) < 0) {
        Py_CLEAR(result);
        Py_XDECREF(type);
        Py_XDECREF(error);
        Py_XDECREF(tb);
    } else {
        PyErr_Restore(type, error, tb);
    }
out:
    Py_XDECREF(args);
    Py_XDECREF(handler);
    Py_XDECREF(nargs_value);
    Py_DECREF(call);
    Py_XDECREF(process);
    Py_DECREF(thread);
    return result;
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
