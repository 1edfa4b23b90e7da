/* Response JSON, compiled: the fifth stage of a compiled engine (docs/performance.md).
 *
 * `dump(model)` is the text `model.model_dump_json()` gives, as UTF-8 bytes (what the
 * response and the decision log are made of: a str would be decoded here and encoded again
 * there, which costs more than writing it), for the response models
 * decision_json.py hands over at `configure` (each with its fields in declaration order and
 * how each is left out), or None for anything it is not sure to write the same way: a model
 * of another class, a float, a tuple, a naive datetime or one whose offset has seconds, a
 * string pydantic could not encode (a lone surrogate), a Decimal that is not finite, nesting
 * deeper than MAX_DEPTH. decision_json.py then asks pydantic, which stays the reference
 * (tests/test_dump_compiled.py holds the two byte for byte). pydantic's serializer walks a
 * schema and calls back into Python for each `exclude_if`: ~7 us a decision, most of a batch
 * item's cost after the decision itself.
 */
#include "_compiled.h"
#include <datetime.h>

#define MAX_DEPTH 64
#define DECLINE 1 /* a writer's answer: not sure, let pydantic write it */

typedef struct {
    PyObject *name;      /* the field's name, as `__dict__` keys it */
    PyObject *key;       /* `"name":` as UTF-8 bytes */
    int mode;            /* 0 always written, 1 left out when None, 2 left out when `skip` says */
    PyObject *skip;      /* mode 2: the field's `exclude_if` */
} Field;

typedef struct {
    PyTypeObject *cls;
    Py_ssize_t count;
    Field *fields;
} Table;

static Table *tables;
static Py_ssize_t table_count;
static PyTypeObject *decimal_type;
static PyObject *s_utcoffset;

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buffer;

static int grow(Buffer *out, Py_ssize_t more)
{
    if (out->len + more <= out->cap)
        return 0;
    Py_ssize_t cap = out->cap * 2;
    while (cap < out->len + more)
        cap *= 2;
    char *data = PyMem_Realloc(out->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->data = data;
    out->cap = cap;
    return 0;
}

static inline int put(Buffer *out, const char *text, Py_ssize_t size)
{
    if (grow(out, size) < 0)
        return -1;
    memcpy(out->data + out->len, text, (size_t)size);
    out->len += size;
    return 0;
}

/* A JSON string as serde_json writes it (pydantic's writer): `"`, `\` and control characters
 * escaped, the short forms for \b \f \n \r \t, everything else as UTF-8. */
static int put_str(Buffer *out, PyObject *text)
{
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (utf8 == NULL) { /* a lone surrogate: pydantic raises; let it */
        PyErr_Clear();
        return DECLINE;
    }
    if (grow(out, size + 2) < 0)
        return -1;
    out->data[out->len++] = '"';
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char escape[7];
        int n = 2;
        escape[0] = '\\';
        switch (c) {
        case '"': escape[1] = '"'; break;
        case '\\': escape[1] = '\\'; break;
        case '\b': escape[1] = 'b'; break;
        case '\f': escape[1] = 'f'; break;
        case '\n': escape[1] = 'n'; break;
        case '\r': escape[1] = 'r'; break;
        case '\t': escape[1] = 't'; break;
        default: n = snprintf(escape, sizeof escape, "\\u%04x", c);
        }
        if (put(out, utf8 + start, i - start) < 0 || put(out, escape, n) < 0)
            return -1;
        start = i + 1;
    }
    if (put(out, utf8 + start, size - start) < 0 || grow(out, 1) < 0)
        return -1;
    out->data[out->len++] = '"';
    return 0;
}

/* `digits` zero-padded decimal digits of `value` (0 <= value) at `at`, without snprintf's
 * ~1,400 instructions a call (most of this stage's cost with it). */
static void write_digits(char *at, unsigned long long value, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        at[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

static int put_int(Buffer *out, PyObject *value)
{
    int overflow;
    long long small = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (small == -1 && PyErr_Occurred())
        return -1;
    if (!overflow) {
        char text[24];
        unsigned long long size = small < 0 ? 0ULL - (unsigned long long)small : (unsigned long long)small;
        int digits = 1, sign = small < 0;
        for (unsigned long long rest = size; rest >= 10; rest /= 10)
            digits++;
        text[0] = '-';
        write_digits(text + sign, size, digits);
        return put(out, text, sign + digits);
    }
    PyObject *text = PyObject_Str(value);
    if (text == NULL)
        return -1;
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    int done = utf8 == NULL ? -1 : put(out, utf8, size);
    Py_DECREF(text);
    return done;
}

/* A Decimal as pydantic writes it: `str(value)` in quotes; finite values only. */
static int put_decimal(Buffer *out, PyObject *value)
{
    PyObject *text = PyObject_Str(value);
    if (text == NULL)
        return -1;
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    int done = utf8 == NULL ? -1 : 0;
    for (Py_ssize_t i = 0; done == 0 && i < size; i++)
        if (strchr("0123456789.-+E", utf8[i]) == NULL)
            done = DECLINE; /* NaN, sNaN, Infinity */
    if (done == 0 && (grow(out, size + 2) < 0))
        done = -1;
    if (done == 0) {
        out->data[out->len++] = '"';
        memcpy(out->data + out->len, utf8, (size_t)size);
        out->len += size;
        out->data[out->len++] = '"';
    }
    Py_DECREF(text);
    return done;
}

/* An aware datetime as pydantic writes it: microseconds only when not 0, `Z` for offset 0,
 * else `+HH:MM`. An offset with seconds (local mean time before 1900) is left to pydantic. */
static int put_datetime(Buffer *out, PyObject *value)
{
    if (PyDateTime_DATE_GET_TZINFO(value) == Py_None)
        return DECLINE;
    PyObject *offset = PyObject_CallMethodNoArgs(value, s_utcoffset);
    if (offset == NULL)
        return -1;
    if (!PyDelta_CheckExact(offset)) {
        Py_DECREF(offset);
        return DECLINE;
    }
    long total = (long)PyDateTime_DELTA_GET_DAYS(offset) * 86400
                 + PyDateTime_DELTA_GET_SECONDS(offset);
    int offset_micros = PyDateTime_DELTA_GET_MICROSECONDS(offset);
    Py_DECREF(offset);
    if (offset_micros != 0 || total % 60 != 0)
        return DECLINE;
    char text[40]; /* "YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM" */
    text[0] = '"';
    write_digits(text + 1, (unsigned long long)PyDateTime_GET_YEAR(value), 4);
    text[5] = '-';
    write_digits(text + 6, (unsigned long long)PyDateTime_GET_MONTH(value), 2);
    text[8] = '-';
    write_digits(text + 9, (unsigned long long)PyDateTime_GET_DAY(value), 2);
    text[11] = 'T';
    write_digits(text + 12, (unsigned long long)PyDateTime_DATE_GET_HOUR(value), 2);
    text[14] = ':';
    write_digits(text + 15, (unsigned long long)PyDateTime_DATE_GET_MINUTE(value), 2);
    text[17] = ':';
    write_digits(text + 18, (unsigned long long)PyDateTime_DATE_GET_SECOND(value), 2);
    int n = 20, micros = PyDateTime_DATE_GET_MICROSECOND(value);
    if (micros) {
        text[n] = '.';
        write_digits(text + n + 1, (unsigned long long)micros, 6);
        n += 7;
    }
    if (total == 0)
        text[n++] = 'Z';
    else {
        long minutes = (total < 0 ? -total : total) / 60;
        text[n] = total < 0 ? '-' : '+';
        write_digits(text + n + 1, (unsigned long long)(minutes / 60), 2);
        text[n + 3] = ':';
        write_digits(text + n + 4, (unsigned long long)(minutes % 60), 2);
        n += 6;
    }
    text[n++] = '"';
    return put(out, text, n);
}

static int put_value(Buffer *out, PyObject *value, int depth);

static int put_list(Buffer *out, PyObject *value, int depth)
{
    if (put(out, "[", 1) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        if (i && put(out, ",", 1) < 0)
            return -1;
        int done = put_value(out, PyList_GET_ITEM(value, i), depth + 1);
        if (done)
            return done;
    }
    return put(out, "]", 1);
}

static int put_dict(Buffer *out, PyObject *value, int depth)
{
    if (put(out, "{", 1) < 0)
        return -1;
    Py_ssize_t at = 0;
    PyObject *key, *item;
    for (int first = 1; PyDict_Next(value, &at, &key, &item); first = 0) {
        if (!PyUnicode_CheckExact(key))
            return DECLINE;
        int done = (!first && put(out, ",", 1) < 0) ? -1 : put_str(out, key);
        if (done == 0 && put(out, ":", 1) < 0)
            done = -1;
        if (done == 0)
            done = put_value(out, item, depth + 1);
        if (done)
            return done;
    }
    return put(out, "}", 1);
}

static const Table *table_of(PyTypeObject *type)
{
    for (Py_ssize_t i = 0; i < table_count; i++)
        if (tables[i].cls == type)
            return &tables[i];
    return NULL;
}

/* A response model: its fields in declaration order, each left out as its table says. */
static int put_model(Buffer *out, PyObject *value, const Table *table, int depth)
{
    PyObject *fields = PyObject_GenericGetDict(value, NULL);
    if (fields == NULL)
        return -1;
    int done = put(out, "{", 1), first = 1;
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; done == 0 && i < table->count; i++) {
        const Field *field = &table->fields[i];
        /* The models are built with their fields in declaration order, so the next entry is
         * usually the one wanted (the names are interned: one pointer compare). */
        PyObject *key, *item;
        if (!PyDict_Next(fields, &at, &key, &item) || key != field->name)
            item = PyDict_GetItemWithError(fields, field->name);
        if (item == NULL) {
            done = PyErr_Occurred() ? -1 : DECLINE;
            break;
        }
        if (field->mode == 1 && item == Py_None)
            continue;
        if (field->mode == 2) {
            PyObject *verdict = PyObject_CallOneArg(field->skip, item);
            int skip = verdict == NULL ? -1 : PyObject_IsTrue(verdict);
            Py_XDECREF(verdict);
            if (skip < 0)
                done = -1;
            if (skip)
                continue;
        }
        if (!first && put(out, ",", 1) < 0)
            done = -1;
        first = 0;
        if (done == 0)
            done = put(out, PyBytes_AS_STRING(field->key), PyBytes_GET_SIZE(field->key));
        if (done == 0)
            done = put_value(out, item, depth + 1);
    }
    Py_DECREF(fields);
    return done ? done : put(out, "}", 1);
}

static int put_value(Buffer *out, PyObject *value, int depth)
{
    if (depth > MAX_DEPTH)
        return DECLINE;
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyUnicode_Type)
        return put_str(out, value);
    if (value == Py_None)
        return put(out, "null", 4);
    if (value == Py_True)
        return put(out, "true", 4);
    if (value == Py_False)
        return put(out, "false", 5);
    if (type == &PyLong_Type)
        return put_int(out, value);
    if (type == decimal_type)
        return put_decimal(out, value);
    if (PyDateTime_CheckExact(value))
        return put_datetime(out, value);
    if (type == &PyList_Type)
        return put_list(out, value, depth);
    if (type == &PyDict_Type)
        return put_dict(out, value, depth);
    const Table *table = table_of(type);
    return table == NULL ? DECLINE : put_model(out, value, table, depth);
}

static PyObject *dump(PyObject *module, PyObject *value)
{
    (void)module;
    const Table *table = table_of(Py_TYPE(value));
    if (table == NULL)
        Py_RETURN_NONE;
    Buffer out = {PyMem_Malloc(2048), 0, 2048};
    if (out.data == NULL)
        return PyErr_NoMemory();
    int done = put_model(&out, value, table, 0);
    PyObject *text = NULL;
    if (done == 0)
        text = PyBytes_FromStringAndSize(out.data, out.len);
    else if (done == DECLINE)
        text = Py_NewRef(Py_None);
    PyMem_Free(out.data);
    return text;
}

static void forget_tables(Table *list, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        for (Py_ssize_t j = 0; j < list[i].count; j++) {
            Py_XDECREF(list[i].fields[j].name);
            Py_XDECREF(list[i].fields[j].key);
            Py_XDECREF(list[i].fields[j].skip);
        }
        PyMem_Free(list[i].fields);
        Py_XDECREF(list[i].cls);
    }
    PyMem_Free(list);
}

/* One model's table from `((name, mode, skip), ...)`; -1 with TypeError on anything else. */
static int read_table(Table *table, PyObject *cls, PyObject *spec)
{
    if (!PyType_Check(cls) || !PyTuple_CheckExact(spec)) {
        PyErr_SetString(PyExc_TypeError, "configure: {model class: ((name, mode, skip), ...)}");
        return -1;
    }
    table->cls = (PyTypeObject *)Py_NewRef(cls);
    table->count = 0;
    table->fields = PyMem_Calloc((size_t)PyTuple_GET_SIZE(spec) + 1, sizeof(Field));
    if (table->fields == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(spec); i++) {
        PyObject *name, *skip;
        int mode;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(spec, i), "UiO", &name, &mode, &skip))
            return -1;
        if (mode < 0 || mode > 2 || (mode == 2 && !PyCallable_Check(skip))) {
            PyErr_SetString(PyExc_TypeError, "configure: a field's mode is 0, 1 or 2 (callable)");
            return -1;
        }
        const char *text = PyUnicode_AsUTF8(name);
        if (text == NULL)
            return -1;
        if (text[strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")]) {
            PyErr_SetString(PyExc_TypeError, "configure: a field name is an ASCII identifier");
            return -1; /* written as is between quotes, so nothing to escape */
        }
        Field *field = &table->fields[table->count++];
        field->name = Py_NewRef(name);
        field->mode = mode;
        field->skip = Py_NewRef(skip);
        if ((field->key = PyBytes_FromFormat("\"%s\":", text)) == NULL)
            return -1;
    }
    return 0;
}

/* `configure(models, decimal)`: the tables (replacing any before) and the Decimal type. A
 * configuration refused changes nothing: the tables are read aside and swapped in whole. */
static PyObject *configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyDict_CheckExact(args[0]) || !PyType_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "configure(models: dict, decimal: type)");
        return NULL;
    }
    Py_ssize_t count = 0;
    Table *read = PyMem_Calloc((size_t)PyDict_GET_SIZE(args[0]) + 1, sizeof(Table));
    if (read == NULL)
        return PyErr_NoMemory();
    Py_ssize_t at = 0;
    PyObject *cls, *spec;
    while (PyDict_Next(args[0], &at, &cls, &spec)) {
        if (read_table(&read[count++], cls, spec) < 0) {
            forget_tables(read, count);
            return NULL;
        }
    }
    forget_tables(tables, table_count);
    tables = read;
    table_count = count;
    Py_XSETREF(decimal_type, (PyTypeObject *)Py_NewRef(args[1]));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"dump", (PyCFunction)dump, METH_O, "model.model_dump_json() as UTF-8, or None: ask pydantic"},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(models, decimal): each model's ((name, mode, skip), ...)"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef definition = {PyModuleDef_HEAD_INIT, "youthmode._dump", NULL, -1, methods};

PyMODINIT_FUNC PyInit__dump(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    if ((s_utcoffset = PyUnicode_InternFromString("utcoffset")) == NULL)
        return NULL;
    return ym_module(&definition);
}
