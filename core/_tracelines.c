/* Trace lines in C: a batch of trace events written out as JSON lines in one buffer.
 *
 * core/tracer.py keeps a traced system call as a tuple until its batch is written, and asks
 * encode() for the batch's bytes. Each item is a str (an event already written as one JSON
 * object), bytes (a system call's line the native system call entry wrote) or a system call's tuple (t, core, pid, tid, name, nr, args, ret); the bytes are
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
static inline void put(buffer *b, const char *text, size_t n)
{
    memcpy(b->data + b->len, text, n);
    b->len += n;
}

/* A literal's length is known here, so the compiler copies it inline (no call per piece). */
#define PUT_LITERAL(b, s) put((b), (s), sizeof(s) - 1)

/* at most 20 digits and a sign */
#define NUMBER_MAX 21

static const char two_digits[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static const unsigned long long powers_of_ten[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull,
};

/* Decimal digits written straight into the buffer, back to front, two at a time: the numbers
 * of a line (time stamps of 10-15 digits) are most of its encoding. */
static void put_u64(buffer *b, unsigned long long value, int negative)
{
    size_t digits = 1;
    while (digits < 20 && value >= powers_of_ten[digits])
        digits++;
    char *p = b->data + b->len;
    if (negative)
        *p++ = '-';
    char *end = p + digits;
    b->len = (size_t)(end - b->data);
    while (value >= 100) {
        unsigned idx = (unsigned)(value % 100) * 2;
        value /= 100;
        *--end = two_digits[idx + 1];
        *--end = two_digits[idx];
    }
    if (value >= 10) {
        *--end = two_digits[value * 2 + 1];
        *--end = two_digits[value * 2];
    } else {
        *--end = (char)('0' + value);
    }
}

static void put_i64(buffer *b, long long value)
{
    if (value < 0)
        put_u64(b, 0ull - (unsigned long long)value, 1);
    else
        put_u64(b, (unsigned long long)value, 0);
}

/* A plain int of up to two 30-bit digits read without a call (CPython 3.11's layout; later
 * versions, with another layout, take the API's path): 1 and the value, or 0. */
static inline int small_int(PyObject *value, long long *out)
{
#if PY_VERSION_HEX < 0x030C0000 && PYLONG_BITS_IN_DIGIT == 30
    Py_ssize_t size = Py_SIZE(value);
    const digit *d = ((PyLongObject *)value)->ob_digit;
    switch (size) {
    case 0:
        *out = 0;
        return 1;
    case 1:
        *out = (long long)d[0];
        return 1;
    case -1:
        *out = -(long long)d[0];
        return 1;
    case 2:
        *out = (long long)d[0] | (long long)d[1] << 30;
        return 1;
    case -2:
        *out = -((long long)d[0] | (long long)d[1] << 30);
        return 1;
    }
#else
    (void)value;
    (void)out;
#endif
    return 0;
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
    long long v;
    if (small_int(value, &v)) {
        put_i64(b, v);
        return 0;
    }
    int overflow = 0;
    v = PyLong_AsLongLongAndOverflow(value, &overflow);
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
    long long v;
    if (small_int(value, &v)) {
        put_i64(b, v);
        return 0;
    }
    int overflow = 0;
    v = PyLong_AsLongLongAndOverflow(value, &overflow);
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
    long long v;
    if (small_int(value, &v)) {
        put_i64(b, v);
        return 0;
    }
    int overflow = 0;
    v = PyLong_AsLongLongAndOverflow(value, &overflow);
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
        } else if (PyBytes_CheckExact(item)) { /* a line the native system call entry wrote */
            Py_ssize_t n = PyBytes_GET_SIZE(item);
            failed = reserve(&b, (size_t)n + 1) < 0;
            if (!failed) {
                put(&b, PyBytes_AS_STRING(item), (size_t)n);
                PUT_LITERAL(&b, "\n");
            }
        } else if (PyTuple_CheckExact(item)) {
            failed = put_syscall(&b, item) < 0;
        } else {
            PyErr_SetString(PyExc_TypeError, "a trace item is a str, bytes or a system call tuple");
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
