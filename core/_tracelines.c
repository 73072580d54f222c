/* Trace lines in C: a batch of trace events written out as JSON lines in one buffer.
 *
 * core/tracer.py keeps a traced system call as a tuple until its batch is written, and asks
 * encode() for the batch's bytes. Each item is either a str (an event already written as one
 * JSON object) or a system call's tuple (t, core, pid, tid, name, nr, args, ret); the bytes are
 * what tracer.py's pure-Python encoder gives for the same items, to the byte. Anything this
 * does not handle exactly (an int that is not a plain int, a name needing escapes, a result
 * outside 64 bits) raises, and the caller encodes the batch in Python instead.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buffer;

static int reserve(buffer *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

/* The writers below append without checking room: a record reserves its largest size first. */
static void put(buffer *b, const char *text, size_t n)
{
    memcpy(b->data + b->len, text, n);
    b->len += n;
}

#define PUT_LITERAL(b, s) put((b), (s), sizeof(s) - 1)

/* at most 20 digits and a sign */
#define NUMBER_MAX 21

static void put_u64(buffer *b, unsigned long long value, int negative)
{
    char digits[24];
    char *end = digits + sizeof digits, *p = end;
    do {
        *--p = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    if (negative)
        *--p = '-';
    put(b, p, (size_t)(end - p));
}

static void put_i64(buffer *b, long long value)
{
    if (value < 0)
        put_u64(b, 0ull - (unsigned long long)value, 1);
    else
        put_u64(b, (unsigned long long)value, 0);
}

static int not_plain(void)
{
    PyErr_SetString(PyExc_TypeError, "not a plain int");
    return -1;
}

/* A plain int that fits in 64 signed bits, as str() writes it. */
static int put_int(buffer *b, PyObject *value)
{
    if (!PyLong_CheckExact(value))
        return not_plain();
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow) {
        PyErr_SetString(PyExc_OverflowError, "outside 64 signed bits");
        return -1;
    }
    if (v == -1 && PyErr_Occurred())
        return -1;
    put_i64(b, v);
    return 0;
}

/* An argument register: 0 .. 2**64-1 as str() writes it (a negative plain int too). */
static int put_arg(buffer *b, PyObject *value)
{
    if (!PyLong_CheckExact(value))
        return not_plain();
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (!overflow) {
        if (v == -1 && PyErr_Occurred())
            return -1;
        put_i64(b, v);
        return 0;
    }
    unsigned long long u = PyLong_AsUnsignedLongLong(value);
    if (u == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    put_u64(b, u, 0);
    return 0;
}

/* A result register as a signed 64-bit number (2**63 .. 2**64-1 are negative), or null. */
static int put_result(buffer *b, PyObject *value)
{
    if (value == Py_None) {
        PUT_LITERAL(b, "null");
        return 0;
    }
    if (!PyLong_CheckExact(value))
        return not_plain();
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(value);
        if (u == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        v = (long long)u;
    } else if (overflow < 0) {
        PyErr_SetString(PyExc_OverflowError, "outside 64 signed bits");
        return -1;
    } else if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    put_i64(b, v);
    return 0;
}

/* A name json.dumps writes as it is (printable ASCII without quotes or backslashes). */
static const char *plain_name(PyObject *name, Py_ssize_t *n)
{
    if (!PyUnicode_CheckExact(name) || !PyUnicode_IS_ASCII(name)) {
        PyErr_SetString(PyExc_TypeError, "not an ASCII str");
        return NULL;
    }
    const char *text = PyUnicode_AsUTF8AndSize(name, n);
    if (text == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < *n; i++) {
        if (text[i] < 0x20 || text[i] == '"' || text[i] == '\\' || text[i] == 0x7f) {
            PyErr_SetString(PyExc_ValueError, "a name that needs escapes");
            return NULL;
        }
    }
    return text;
}

static int put_syscall(buffer *b, PyObject *item)
{
    if (PyTuple_GET_SIZE(item) != 8) {
        PyErr_SetString(PyExc_ValueError, "a system call record has 8 fields");
        return -1;
    }
    Py_ssize_t name_len;
    const char *name = plain_name(PyTuple_GET_ITEM(item, 4), &name_len);
    if (name == NULL)
        return -1;
    PyObject *fast = PySequence_Fast(PyTuple_GET_ITEM(item, 6), "arguments are a sequence");
    if (fast == NULL)
        return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    /* the fixed text, five numbers, the name, the arguments with their commas */
    size_t most = 96 + 6 * NUMBER_MAX + (size_t)name_len + (size_t)count * (NUMBER_MAX + 1);
    if (reserve(b, most) < 0) {
        Py_DECREF(fast);
        return -1;
    }
    PyObject *core = PyTuple_GET_ITEM(item, 1);
    PUT_LITERAL(b, "{\"t\":");
    if (put_int(b, PyTuple_GET_ITEM(item, 0)) < 0)
        goto fail;
    PUT_LITERAL(b, ",\"ev\":\"syscall\"");
    if (core != Py_None) {
        PUT_LITERAL(b, ",\"core\":");
        if (put_int(b, core) < 0)
            goto fail;
    }
    PUT_LITERAL(b, ",\"pid\":");
    if (put_int(b, PyTuple_GET_ITEM(item, 2)) < 0)
        goto fail;
    PUT_LITERAL(b, ",\"tid\":");
    if (put_int(b, PyTuple_GET_ITEM(item, 3)) < 0)
        goto fail;
    PUT_LITERAL(b, ",\"name\":\"");
    put(b, name, (size_t)name_len);
    PUT_LITERAL(b, "\",\"nr\":");
    if (put_int(b, PyTuple_GET_ITEM(item, 5)) < 0)
        goto fail;
    PUT_LITERAL(b, ",\"args\":[");
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i > 0)
            PUT_LITERAL(b, ",");
        if (put_arg(b, PySequence_Fast_GET_ITEM(fast, i)) < 0)
            goto fail;
    }
    PUT_LITERAL(b, "],\"ret\":");
    if (put_result(b, PyTuple_GET_ITEM(item, 7)) < 0)
        goto fail;
    PUT_LITERAL(b, "}\n");
    Py_DECREF(fast);
    return 0;
fail:
    Py_DECREF(fast);
    return -1;
}

static PyObject *encode(PyObject *self, PyObject *items)
{
    (void)self;
    if (!PyList_CheckExact(items)) {
        PyErr_SetString(PyExc_TypeError, "encode() takes a list");
        return NULL;
    }
    buffer b = {NULL, 0, 0};
    Py_ssize_t count = PyList_GET_SIZE(items);
    if (reserve(&b, (size_t)count * 112 + 1) < 0)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        int failed;
        if (PyUnicode_CheckExact(item)) {
            Py_ssize_t n;
            const char *text = PyUnicode_AsUTF8AndSize(item, &n);
            failed = text == NULL || reserve(&b, (size_t)n + 1) < 0;
            if (!failed) {
                put(&b, text, (size_t)n);
                PUT_LITERAL(&b, "\n");
            }
        } else if (PyTuple_CheckExact(item)) {
            failed = put_syscall(&b, item) < 0;
        } else {
            PyErr_SetString(PyExc_TypeError, "a trace item is a str or a system call tuple");
            failed = 1;
        }
        if (failed) {
            PyMem_Free(b.data);
            return NULL;
        }
    }
    PyObject *result = PyBytes_FromStringAndSize(b.data, (Py_ssize_t)b.len);
    PyMem_Free(b.data);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_O,
     "encode(items) -> bytes: trace items (str lines and system call tuples) as JSON lines."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tracelines", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tracelines(void)
{
    return PyModule_Create(&module);
}
