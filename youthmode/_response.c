/* The response's own objects, compiled: the third stage of a compiled engine
 * (docs/performance.md). Two things the Python twins do slowly for what they are:
 *
 * - `model(cls, fields, given)`: fastpath._model, a pydantic model from its own values
 *   without validation (object.__new__ and four object.__setattr__ cost ~2 us in Python);
 * - `decision_id(getrandbits, now)`: engine.new_decision_id, a UUIDv7 from `now` and the engine's random
 *   source (printf-style formatting of five numbers alone is ~1.5 us in Python).
 *
 * Both give exactly what the Python functions give (tests/test_response_compiled.py: the
 * same objects, field for field; the same ids from the same random state).
 */
#include "_compiled.h"
#include <datetime.h>

static PyTypeObject *base_model;   /* pydantic.BaseModel */
static Py_ssize_t fields_set_at, extra_at, private_at; /* its slots' offsets */
static PyObject *s_timestamp, *bits74;

/* `fastpath._model`: object.__new__(cls), then `__dict__` = fields (kept, not copied),
 * `__pydantic_fields_set__` = set(given), the extra and private slots None. */
static PyObject *response_model(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyType_Check(args[0]) || !PyDict_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "model(cls, fields: dict, given)");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    if (base_model == NULL || !PyType_IsSubtype(cls, base_model)
        || cls->tp_new != PyBaseObject_Type.tp_new) {
        PyErr_SetString(PyExc_TypeError, "model: not a pydantic model built by object.__new__");
        return NULL;
    }
    PyObject *given = PySet_New(args[2]);
    if (given == NULL)
        return NULL;
    PyObject *obj = cls->tp_alloc(cls, 0);
    if (obj == NULL || PyObject_GenericSetDict(obj, args[1], NULL) < 0) {
        Py_XDECREF(obj);
        Py_DECREF(given);
        return NULL;
    }
    *(PyObject **)((char *)obj + fields_set_at) = given;
    *(PyObject **)((char *)obj + extra_at) = Py_NewRef(Py_None);
    *(PyObject **)((char *)obj + private_at) = Py_NewRef(Py_None);
    return obj;
}

/* `value`'s low `digits` hex digits, lower case and zero-padded ("%0*llx", without printf's
 * cost: about a tenth of the id's instructions went to it). */
static void hex(char *out, unsigned long long value, int digits)
{
    for (int i = digits - 1; i >= 0; i--, value >>= 4)
        out[i] = "0123456789abcdef"[value & 0xF];
}

/* `now.timestamp()` for a datetime in UTC (tzinfo `timezone.utc`): the same float, from the
 * exact count of microseconds since the epoch divided by 10**6 as `timedelta.total_seconds`
 * divides it (one correctly rounded division: exact below 2**53 microseconds, ~285 years).
 * -1 for any other datetime: its own `timestamp()` answers. */
static int utc_seconds(PyObject *now, double *seconds)
{
    if (!PyDateTime_CheckExact(now) || !_PyDateTime_HAS_TZINFO(now)
        || PyDateTime_DATE_GET_TZINFO(now) != PyDateTime_TimeZone_UTC)
        return -1;
    int y = PyDateTime_GET_YEAR(now), m = PyDateTime_GET_MONTH(now) - 1;
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    long long past = y - 1, days = past * 365 + past / 4 - past / 100 + past / 400 + before[m]
                     + PyDateTime_GET_DAY(now);
    if (m > 1 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        days += 1;
    long long micros = ((days - 719163) * 86400 + PyDateTime_DATE_GET_HOUR(now) * 3600LL
                        + PyDateTime_DATE_GET_MINUTE(now) * 60 + PyDateTime_DATE_GET_SECOND(now))
                           * 1000000LL
                       + PyDateTime_DATE_GET_MICROSECOND(now);
    if (micros > (1LL << 53) || micros < -(1LL << 53))
        return -1;
    *seconds = (double)micros / 1e6;
    return 0;
}

/* `engine.new_decision_id`: 48 bits of milliseconds; version 7 and 12 random bits; variant
 * 0b10 and 62 random bits; the 74 random bits from one `getrandbits(74)` of the engine's
 * random source, as in Python. */
static PyObject *response_decision_id(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "decision_id(getrandbits, now)");
        return NULL;
    }
    PyObject *getrandbits = args[0], *now = args[1];
    double seconds;
    if (utc_seconds(now, &seconds) < 0) {
        PyObject *stamp = PyObject_CallMethodNoArgs(now, s_timestamp);
        seconds = stamp == NULL ? -1.0 : PyFloat_AsDouble(stamp);
        Py_XDECREF(stamp);
        if (stamp == NULL || (seconds == -1.0 && PyErr_Occurred()))
            return NULL;
    }
    double scaled = seconds * 1000; /* int(now.timestamp() * 1000): truncated toward zero */
    if (!(scaled > -9.2e18 && scaled < 9.2e18)) {
        PyErr_SetString(PyExc_OverflowError, "decision_id: a time out of range");
        return NULL;
    }
    unsigned long long millis = (unsigned long long)(long long)scaled & 0xFFFFFFFFFFFFULL;
    PyObject *rand = PyObject_CallOneArg(getrandbits, bits74);
    if (rand == NULL)
        return NULL;
    unsigned long long low = PyLong_AsUnsignedLongLongMask(rand);
    PyObject *shift = PyLong_FromLong(64);
    PyObject *top = shift == NULL ? NULL : PyNumber_Rshift(rand, shift);
    unsigned long long high = top == NULL ? 0 : PyLong_AsUnsignedLongLongMask(top);
    Py_XDECREF(shift);
    Py_XDECREF(top);
    Py_DECREF(rand);
    if (PyErr_Occurred())
        return NULL;
    unsigned long long version = 0x7000 | (high << 2) | (low >> 62);
    unsigned long long variant = 0x8000 | ((low >> 48) & 0x3FFF);
    char text[36];
    hex(text, millis >> 16, 8);
    text[8] = '-';
    hex(text + 9, millis & 0xFFFF, 4);
    text[13] = '-';
    hex(text + 14, version, 4);
    text[18] = '-';
    hex(text + 19, variant, 4);
    text[23] = '-';
    hex(text + 24, low & 0xFFFFFFFFFFFFULL, 12);
    return PyUnicode_FromStringAndSize(text, sizeof text);
}

static PyObject *response_configure(PyObject *module, PyObject *given)
{
    (void)module;
    if (!PyDict_CheckExact(given)) {
        PyErr_SetString(PyExc_TypeError, "configure(dict)");
        return NULL;
    }
    PyObject *base = PyDict_GetItemString(given, "base_model");
    if (base == NULL || !PyType_Check(base)) {
        PyErr_SetString(PyExc_TypeError, "configure: base_model (a type)");
        return NULL;
    }
    Py_ssize_t a = ym_slot_offset((PyTypeObject *)base, "__pydantic_fields_set__");
    Py_ssize_t b = a < 0 ? -1 : ym_slot_offset((PyTypeObject *)base, "__pydantic_extra__");
    Py_ssize_t c = b < 0 ? -1 : ym_slot_offset((PyTypeObject *)base, "__pydantic_private__");
    if (c < 0)
        return NULL;
    fields_set_at = a, extra_at = b, private_at = c;
    Py_XSETREF(base_model, (PyTypeObject *)Py_NewRef(base));
    Py_RETURN_NONE;
}

static PyMethodDef response_methods[] = {
    {"model", (PyCFunction)(void (*)(void))response_model, METH_FASTCALL,
     "model(cls, fields, given) -> a pydantic model, as fastpath._model builds it"},
    {"decision_id", (PyCFunction)(void (*)(void))response_decision_id, METH_FASTCALL,
     "decision_id(getrandbits, now) -> a UUIDv7 string"},
    {"configure", response_configure, METH_O, "configure(dict): base_model"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef response_module = {
    PyModuleDef_HEAD_INIT, "youthmode._response",
    "The response's models and decision ids, compiled (youthmode/compiled.py loads it).", -1,
    response_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__response(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    s_timestamp = PyUnicode_InternFromString("timestamp");
    bits74 = PyLong_FromLong(74);
    if (s_timestamp == NULL || bits74 == NULL)
        return NULL;
    return ym_module(&response_module);
}
