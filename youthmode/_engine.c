/* `Engine.decide`'s routing, compiled: the clock, the reader, the decision id and the fast
 * path in one call (docs/performance.md, "Eighth round"). Its Python twin is
 * `Engine.decide_python` (youthmode/engine.py), which stays the reference.
 *
 * `decide(engine, request, degraded, store_unavailable, ...)` returns the decision, or None before
 * anything has happened (no clock read, no id drawn) when it does not know the engine's shape:
 * the twin then decides. Past that point it does what the twin does, in the twin's order, and
 * hands whatever is not the plain fast case to the twin's own steps (`request.read`,
 * `Engine._decided`, given the id already drawn), so a decision, its id's random draws and the
 * errors raised are the twin's. Its own work never raises: an odd reader answer, fact or
 * policy goes to `_decided`, which meets it as the twin would.
 */
#include "_compiled.h"
#include <datetime.h>
#include <time.h>

static PyObject *system_clock, *read_compiled, *read_python, *decision_id, *decide_fast;
static PyObject *engine_type;
static PyTypeObject *facts_type; /* RequestFacts, a slots dataclass */
static Py_ssize_t signals_at, jurisdiction_at;
static PyObject *s_decided;
static PyObject *s_age_methods, *s_datetime, *s_utc;

/* `datetime.now(UTC)`: the system clock, floored to the microsecond, as datetime reads it. */
static PyObject *utc_now(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_REALTIME, &t) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    long long seconds = (long long)t.tv_sec;
    long long days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    long long second = seconds - days * 86400;
    int year, month, day;
    ym_civil_from_days(days, &year, &month, &day);
    return PyDateTimeAPI->DateTime_FromDateAndTime(
        year, month, day, (int)(second / 3600), (int)(second / 60 % 60), (int)(second % 60),
        (int)(t.tv_nsec / 1000), PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
}

/* Whether `clock` is `system_clock` reading the real `datetime.now(UTC)`: a test's frozen
 * time (freezegun) replaces the engine module's `datetime`, and must be read through it. */
static int reads_system_clock(PyObject *clock)
{
    if (clock != system_clock || !PyFunction_Check(clock))
        return 0;
    PyObject *names = PyFunction_GET_GLOBALS(clock);
    PyObject *type = PyDict_GetItemWithError(names, s_datetime);
    PyObject *utc = type == NULL ? NULL : PyDict_GetItemWithError(names, s_utc);
    PyErr_Clear();
    return type == (PyObject *)PyDateTimeAPI->DateTimeType && utc == PyDateTime_TimeZone_UTC;
}

/* `_decided`'s `simple`: 1, or 0 for anything else (an error left for `_decided` to meet).
 * The facts' two fields are read from their slots, a look-up less each. */
static int simple(PyObject *policy, PyObject *facts)
{
    if (!Py_IS_TYPE(facts, facts_type))
        return 0;
    PyObject *signals = *(PyObject **)((char *)facts + signals_at);
    PyObject *place = *(PyObject **)((char *)facts + jurisdiction_at);
    if (signals == NULL || place != Py_None)
        return 0;
    PyObject *methods = PyObject_GetAttr(policy, s_age_methods);
    int out = methods == Py_None && PyObject_IsTrue(signals) == 0;
    Py_XDECREF(methods);
    PyErr_Clear();
    return out;
}

/* The twin from `found` on: the fast path for a plain request, else `_decided`. */
static PyObject *decide_found(PyObject *engine, PyObject *found, PyObject *now, int fast,
                              int degraded, int unavailable)
{
    PyObject *id = NULL;
    int tried = 0;
    if (fast && !degraded && !unavailable && PyTuple_CheckExact(found)
        && PyTuple_GET_SIZE(found) == 3
        && simple(PyTuple_GET_ITEM(found, 0), PyTuple_GET_ITEM(found, 2))) {
        id = PyObject_CallOneArg(decision_id, now);
        if (id == NULL)
            return NULL; /* the twin draws it outside its `try` too */
        PyObject *args[] = {PyTuple_GET_ITEM(found, 0), PyTuple_GET_ITEM(found, 2),
                            PyTuple_GET_ITEM(found, 1), id};
        PyObject *decision = PyObject_Vectorcall(decide_fast, args, 4, NULL);
        if (decision != NULL && decision != Py_None) {
            Py_DECREF(id);
            return decision;
        }
        /* declined: `_decided` takes the pure path; raised: it asks again, and fails closed
         * with the log line the twin writes */
        tried = decision == Py_None;
        Py_XDECREF(decision);
        PyErr_Clear();
    }
    PyObject *args[] = {engine, found, now, Py_False, (degraded || unavailable) ? Py_True : Py_False,
                        unavailable ? Py_True : Py_False, id == NULL ? Py_None : id,
                        tried ? Py_True : Py_False};
    PyObject *both = PyObject_VectorcallMethod(s_decided, args, 8, NULL);
    Py_XDECREF(id);
    if (both == NULL)
        return NULL;
    PyObject *decision = PySequence_GetItem(both, 0);
    Py_DECREF(both);
    return decision;
}

/* decide(engine, request, degraded, store_unavailable, clock, policies, default_policy,
 * fast): the engine's attributes come from the caller, where reading them is cheap. */
static PyObject *engine_decide(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "decide(engine, request, degraded, store_unavailable, "
                                         "clock, policies, default_policy, fast)");
        return NULL;
    }
    PyObject *engine = args[0], *request = args[1], *clock = args[4], *fast = args[7];
    if (facts_type == NULL || !Py_IS_TYPE(engine, (PyTypeObject *)engine_type)
        || !PyBool_Check(args[2]) || !PyBool_Check(args[3]) || !PyBool_Check(fast))
        Py_RETURN_NONE; /* nothing has happened yet: the twin decides */
    PyObject *now = reads_system_clock(clock) ? utc_now() : PyObject_CallNoArgs(clock);
    if (now == NULL)
        return NULL;
    PyObject *found = NULL, *read_args[] = {request, args[5], args[6], now};
    if (PyDict_CheckExact(request) && read_compiled != Py_None) {
        found = PyObject_Vectorcall(read_compiled, read_args, 4, NULL);
        if (found == Py_None || found == NULL) {
            Py_CLEAR(found);
            PyErr_Clear();
        }
    }
    if (found == NULL)
        found = PyObject_Vectorcall(read_python, read_args, 4, NULL);
    PyObject *out = found == NULL ? NULL
                                  : decide_found(engine, found, now, fast == Py_True,
                                                 args[2] == Py_True, args[3] == Py_True);
    Py_XDECREF(found);
    Py_DECREF(now);
    return out;
}

static PyObject *engine_now(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return utc_now();
}

/* Everything is taken and checked first, and kept only when all of it is right. */
static PyObject *engine_configure(PyObject *module, PyObject *given)
{
    (void)module;
    struct { PyObject **slot; const char *name; PyObject *value; } objects[] = {
        {&system_clock, "system_clock", NULL}, {&read_compiled, "read_compiled", NULL},
        {&read_python, "read", NULL}, {&decision_id, "decision_id", NULL},
        {&decide_fast, "decide_fast", NULL}, {&engine_type, "engine", NULL}};
    enum { N = sizeof objects / sizeof objects[0] };
    int ok = PyDict_CheckExact(given);
    for (size_t i = 0; ok && i < N; i++) {
        objects[i].value = PyDict_GetItemString(given, objects[i].name);
        ok = objects[i].value != NULL
             && (PyCallable_Check(objects[i].value) || (i == 1 && objects[i].value == Py_None));
    }
    if (!ok || !PyType_Check(objects[N - 1].value)) {
        PyErr_SetString(PyExc_TypeError, "configure: system_clock, read_compiled (or None), "
                                         "read, decision_id, decide_fast, engine (a type), "
                                         "facts (a type)");
        return NULL;
    }
    PyObject *facts = PyDict_GetItemString(given, "facts");
    if (facts == NULL || !PyType_Check(facts)) {
        PyErr_SetString(PyExc_TypeError, "configure: facts (a type) is missing");
        return NULL;
    }
    Py_ssize_t signals = ym_slot_offset((PyTypeObject *)facts, "age_signals");
    Py_ssize_t place = signals < 0 ? -1 : ym_slot_offset((PyTypeObject *)facts, "jurisdiction");
    if (place < 0)
        return NULL;
    for (size_t i = 0; i < N; i++)
        Py_XSETREF(*objects[i].slot, Py_NewRef(objects[i].value));
    Py_XSETREF(facts_type, (PyTypeObject *)Py_NewRef(facts));
    signals_at = signals, jurisdiction_at = place;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"decide", (PyCFunction)(void (*)(void))engine_decide, METH_FASTCALL,
     "decide(engine, request, degraded, store_unavailable, clock, policies, default_policy, "
     "fast) -> Decision | None"},
    {"now", engine_now, METH_NOARGS, "now() -> datetime: datetime.now(UTC), as decide reads it"},
    {"configure", engine_configure, METH_O, "configure(dict): the objects decide calls"},
    {NULL, NULL, 0, NULL}};

static PyModuleDef definition = {PyModuleDef_HEAD_INIT, "youthmode._engine",
                                 "Engine.decide's routing, compiled (youthmode/compiled.py).",
                                 -1, methods};

PyMODINIT_FUNC PyInit__engine(void)
{
    static const YmName names[] = {
        {&s_decided, "_decided"}, {&s_age_methods, "age_methods"},
        {&s_datetime, "datetime"}, {&s_utc, "UTC"}};
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL || ym_intern(names, sizeof names / sizeof names[0]) < 0)
        return NULL;
    return ym_module(&definition);
}
