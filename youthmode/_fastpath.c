/* The fast path's set-up, compiled: the fourth stage of a compiled engine (docs/performance.md).
 *
 * `prepare(policy, req, at)` does what `fastpath.decide_fast` does before it asks the rules:
 * the local day (from the policy's memo of days), the age on that day, the band, the schedule
 * of the request's combination (from the policy's memo, keyed as `combination_key` keys it)
 * and the `Moment` at `at`. It returns `(day, schedule, moment)`, or `None` where the Python
 * set-up must run (a day not yet in the memo, a schedule not yet built, a daylight-saving
 * day, a combination without a schedule: the Python path then answers exactly as before).
 *
 * `Day`, `Moment` and `RequestFacts` are slots classes: their slots are read and written at
 * the offsets of their member descriptors, found and checked by `configure`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 "unknown"
#endif

/* Slots by name: each table's names, and the offsets `configure` found for them. */
enum { D_DATE, D_ZONE, D_START, D_EVEN, D_WEEKDAY, D_DAY_TYPE, D_KEY, D_PREVIOUS, D_COUNT };
static const char *const DAY_SLOTS[D_COUNT] = {"date", "zone", "start", "even", "weekday",
                                               "day_type", "key", "previous"};
enum {
    F_ACTION, F_BIRTHDATE, F_DECLARED_AGE, F_EXEMPTIONS, F_CATEGORY, F_APP, F_EXEMPT_APPS,
    F_CURFEWS, F_DAILY_LIMIT, F_TODAY, F_SESSION, F_DAY_SPENT, F_MONTH_SPENT, F_COUNT
};
static const char *const FACT_SLOTS[F_COUNT] = {
    "action", "birthdate", "declared_age", "exemptions", "category", "app", "exempt_apps",
    "guardian_curfews", "guardian_daily_limit", "today_seconds", "session_seconds",
    "day_spent", "month_spent"};
enum {
    M_TS, M_LOCAL, M_ZONE, M_DATE, M_SOD, M_WEEKDAY, M_CALENDAR, M_DAY_TYPE, M_DAY_KEY,
    M_PREVIOUS, M_AGE, M_BAND, M_TODAY, M_APP_TODAY, M_WEEK, M_SESSION, M_DAY_SPENT,
    M_MONTH_SPENT, M_COUNT
};
static const char *const MOMENT_SLOTS[M_COUNT] = {
    "ts", "_local", "zone", "date", "sod", "weekday", "calendar", "day_type", "day_key",
    "_previous", "age", "band", "today_seconds", "app_today_seconds", "week_seconds",
    "session_seconds", "day_spent", "month_spent"};
static Py_ssize_t day_at[D_COUNT], fact_at[F_COUNT], moment_at[M_COUNT];
static PyTypeObject *day_type, *facts_type, *moment_type;
static PyObject *unknown_band, *no_schedule, *s_schedule, *zero_int;
static PyObject *s_days, *s_age_rollover, *s_by_age, *s_memo, *s_waiver_names;
static PyObject *s_exempt_categories, *s_calendar;

#define SLOT(obj, at) (*(PyObject **)((char *)(obj) + (at)))

static int offsets(PyTypeObject *type, const char *const *names, Py_ssize_t *at, int n)
{
    for (int i = 0; i < n; i++) {
        PyObject *descr = PyObject_GetAttrString((PyObject *)type, names[i]);
        int ok = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)
                 && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (ok)
            at[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_XDECREF(descr);
        if (!ok) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "configure: %s.%s is not an object slot",
                         type->tp_name, names[i]);
            return -1;
        }
    }
    return 0;
}

/* facts.age_on: whole years on `day`, by month and day as numbers. */
static long age_on(PyObject *birth, PyObject *day, int next_day)
{
    long years = PyDateTime_GET_YEAR(day) - PyDateTime_GET_YEAR(birth);
    long now = PyDateTime_GET_MONTH(day) * 32 + PyDateTime_GET_DAY(day);
    long born = PyDateTime_GET_MONTH(birth) * 32 + PyDateTime_GET_DAY(birth);
    if (now < born || (now == born && next_day))
        years -= 1;
    return years > 0 ? years : 0;
}

/* `policy.band_of(age)`: a new reference. */
static PyObject *band_of(PyObject *policy, PyObject *age)
{
    if (age == Py_None)
        return Py_NewRef(unknown_band);
    PyObject *by_age = PyObject_GetAttr(policy, s_by_age);
    if (by_age == NULL)
        return NULL;
    PyObject *band = NULL;
    Py_ssize_t n = PyTuple_Check(by_age) ? PyTuple_GET_SIZE(by_age) : 0;
    long years = PyLong_AsLong(age);
    if (n > 0 && years >= 0)
        band = Py_NewRef(PyTuple_GET_ITEM(by_age, years < n ? years : n - 1));
    else if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "band_of: no bands, or a negative age");
    Py_DECREF(by_age);
    return band;
}

/* timeline.combination_key("schedule", policy, req, band): a new tuple. */
static PyObject *schedule_key(PyObject *policy, PyObject *req, PyObject *band)
{
    PyObject *exemptions = SLOT(req, fact_at[F_EXEMPTIONS]);
    PyObject *waived = NULL, *categories = NULL, *key = NULL;
    if (PyObject_IsTrue(exemptions)) {
        PyObject *names = PyObject_GetAttr(policy, s_waiver_names);
        waived = names == NULL ? NULL : PyNumber_And(exemptions, names);
        Py_XDECREF(names);
        if (waived == NULL)
            return NULL;
    }
    else
        waived = Py_NewRef(exemptions);
    categories = PyObject_GetAttr(policy, s_exempt_categories);
    int category = categories == NULL ? -1
                   : PySequence_Contains(categories, SLOT(req, fact_at[F_CATEGORY]));
    PyObject *app = SLOT(req, fact_at[F_APP]);
    int exempt_app = app == Py_None ? 0
                     : PySequence_Contains(SLOT(req, fact_at[F_EXEMPT_APPS]), app);
    if (category >= 0 && exempt_app >= 0)
        key = PyTuple_Pack(8, s_schedule, SLOT(req, fact_at[F_ACTION]), band, waived,
                           category ? Py_True : Py_False, exempt_app ? Py_True : Py_False,
                           SLOT(req, fact_at[F_CURFEWS]), SLOT(req, fact_at[F_DAILY_LIMIT]));
    Py_XDECREF(categories);
    Py_DECREF(waived);
    return key;
}

/* The schedule for `band` from the policy's memo: a new reference, NULL with no error set
 * when the memo does not hold it (built, or known to be absent, by the Python set-up). */
static PyObject *memo_schedule(PyObject *policy, PyObject *req, PyObject *band)
{
    PyObject *key = schedule_key(policy, req, band);
    PyObject *memo = key == NULL ? NULL : PyObject_GetAttr(policy, s_memo);
    PyObject *found = memo == NULL || !PyDict_CheckExact(memo)
                          ? NULL : PyDict_GetItemWithError(memo, key);
    Py_XINCREF(found);
    Py_XDECREF(memo);
    Py_XDECREF(key);
    if (found == no_schedule)
        Py_CLEAR(found);
    return found;
}

/* Moment.of_request(day, day.start + sod, sod, policy.calendar, age, band, req). */
static PyObject *moment_at_request(PyObject *day, long sod, PyObject *calendar, PyObject *age,
                                   PyObject *band, PyObject *req)
{
    long long start = PyLong_AsLongLong(SLOT(day, day_at[D_START]));
    PyObject *ts = PyErr_Occurred() ? NULL : PyLong_FromLongLong(start + sod);
    PyObject *second = PyLong_FromLong(sod);
    PyObject *m = ts == NULL || second == NULL ? NULL : moment_type->tp_alloc(moment_type, 0);
    if (m == NULL) {
        Py_XDECREF(ts);
        Py_XDECREF(second);
        return NULL;
    }
    PyObject *values[M_COUNT] = {
        [M_TS] = ts, [M_LOCAL] = Py_None, [M_ZONE] = SLOT(day, day_at[D_ZONE]),
        [M_DATE] = SLOT(day, day_at[D_DATE]), [M_SOD] = second,
        [M_WEEKDAY] = SLOT(day, day_at[D_WEEKDAY]), [M_CALENDAR] = calendar,
        [M_DAY_TYPE] = SLOT(day, day_at[D_DAY_TYPE]), [M_DAY_KEY] = SLOT(day, day_at[D_KEY]),
        [M_PREVIOUS] = SLOT(day, day_at[D_PREVIOUS]), [M_AGE] = age, [M_BAND] = band,
        [M_TODAY] = SLOT(req, fact_at[F_TODAY]), [M_APP_TODAY] = zero_int,
        [M_WEEK] = zero_int, [M_SESSION] = SLOT(req, fact_at[F_SESSION]),
        [M_DAY_SPENT] = SLOT(req, fact_at[F_DAY_SPENT]),
        [M_MONTH_SPENT] = SLOT(req, fact_at[F_MONTH_SPENT])};
    for (int i = 0; i < M_COUNT; i++)
        SLOT(m, moment_at[i]) = Py_XNewRef(values[i]);
    Py_DECREF(ts);
    Py_DECREF(second);
    return m;
}

static PyObject *attr_or_null(PyObject *obj, PyObject *name, PyObject **keep)
{
    *keep = PyObject_GetAttr(obj, name);
    return *keep;
}

/* `fastpath._prepare`: (day, schedule, moment), or None for the Python set-up to run. */
static PyObject *fast_prepare(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "prepare(policy, req, at)");
        return NULL;
    }
    PyObject *policy = args[0], *req = args[1], *at = args[2];
    if (moment_type == NULL || Py_TYPE(req) != facts_type || !PyDateTime_Check(at))
        Py_RETURN_NONE;
    PyObject *days = NULL, *rollover = NULL, *calendar = NULL, *age = NULL, *band = NULL;
    PyObject *schedule = NULL, *m = NULL, *out = NULL;
    PyObject *start = PyDate_FromDate(
        PyDateTime_GET_YEAR(at), PyDateTime_GET_MONTH(at), PyDateTime_GET_DAY(at));
    PyObject *day = start == NULL || attr_or_null(policy, s_days, &days) == NULL
                        || !PyDict_CheckExact(days) ? NULL
                                                    : PyDict_GetItemWithError(days, start);
    if (day == NULL || Py_TYPE(day) != day_type || SLOT(day, day_at[D_EVEN]) != Py_True)
        goto done; /* not in the memo yet, or a daylight-saving day: the Python set-up */
    PyObject *birth = SLOT(req, fact_at[F_BIRTHDATE]);
    if (birth == Py_None)
        age = Py_NewRef(SLOT(req, fact_at[F_DECLARED_AGE]));
    else if (PyDate_Check(birth) && attr_or_null(policy, s_age_rollover, &rollover) != NULL) {
        int next_day = PyUnicode_Check(rollover)
                       && PyUnicode_CompareWithASCIIString(rollover, "next_day") == 0;
        age = PyLong_FromLong(age_on(birth, start, next_day));
    }
    band = age == NULL ? NULL : band_of(policy, age);
    schedule = band == NULL ? NULL : memo_schedule(policy, req, band);
    if (schedule == NULL || attr_or_null(policy, s_calendar, &calendar) == NULL)
        goto done;
    long sod = PyDateTime_DATE_GET_HOUR(at) * 3600 + PyDateTime_DATE_GET_MINUTE(at) * 60
               + PyDateTime_DATE_GET_SECOND(at);
    m = moment_at_request(day, sod, calendar, age, band, req);
    if (m != NULL)
        out = PyTuple_Pack(3, day, schedule, m);
done:
    Py_XDECREF(start);
    Py_XDECREF(days);
    Py_XDECREF(rollover);
    Py_XDECREF(calendar);
    Py_XDECREF(age);
    Py_XDECREF(band);
    Py_XDECREF(schedule);
    Py_XDECREF(m);
    if (out == NULL) {
        PyErr_Clear(); /* the Python set-up meets whatever failed, and answers */
        Py_RETURN_NONE;
    }
    return out;
}

static PyObject *fast_configure(PyObject *module, PyObject *given)
{
    (void)module;
    PyObject *day = PyDict_GetItemString(given, "day");
    PyObject *facts = PyDict_GetItemString(given, "facts");
    PyObject *moment = PyDict_GetItemString(given, "moment");
    PyObject *unknown = PyDict_GetItemString(given, "unknown_band");
    PyObject *none = PyDict_GetItemString(given, "no_schedule");
    if (day == NULL || facts == NULL || moment == NULL || unknown == NULL || none == NULL
        || !PyType_Check(day) || !PyType_Check(facts) || !PyType_Check(moment)) {
        PyErr_SetString(PyExc_TypeError,
                        "configure: day, facts, moment (types), unknown_band, no_schedule");
        return NULL;
    }
    /* Found into copies, kept only when all are found: a refused configuration changes
     * nothing (a module in use stays as it was). */
    Py_ssize_t days[D_COUNT], facts_slots[F_COUNT], moments[M_COUNT];
    if (offsets((PyTypeObject *)day, DAY_SLOTS, days, D_COUNT) < 0
        || offsets((PyTypeObject *)facts, FACT_SLOTS, facts_slots, F_COUNT) < 0
        || offsets((PyTypeObject *)moment, MOMENT_SLOTS, moments, M_COUNT) < 0)
        return NULL;
    PyObject *slots = PyObject_GetAttrString(moment, "__slots__");
    Py_ssize_t n = slots == NULL ? -1 : PyObject_Length(slots);
    Py_XDECREF(slots);
    if (n != M_COUNT) { /* a slot the compiled moment would leave unset */
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "configure: Moment's slots are not the ones set here");
        return NULL;
    }
    memcpy(day_at, days, sizeof days);
    memcpy(fact_at, facts_slots, sizeof facts_slots);
    memcpy(moment_at, moments, sizeof moments);
    Py_XSETREF(day_type, (PyTypeObject *)Py_NewRef(day));
    Py_XSETREF(facts_type, (PyTypeObject *)Py_NewRef(facts));
    Py_XSETREF(moment_type, (PyTypeObject *)Py_NewRef(moment));
    Py_XSETREF(unknown_band, Py_NewRef(unknown));
    Py_XSETREF(no_schedule, Py_NewRef(none));
    Py_RETURN_NONE;
}

static PyMethodDef fast_methods[] = {
    {"prepare", (PyCFunction)(void (*)(void))fast_prepare, METH_FASTCALL,
     "prepare(policy, req, at) -> (day, schedule, moment) | None"},
    {"configure", fast_configure, METH_O, "configure(dict): the types and markers it uses"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef fast_module = {
    PyModuleDef_HEAD_INIT, "youthmode._fastpath",
    "The fast path's set-up, compiled (youthmode/compiled.py loads it).", -1, fast_methods,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastpath(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    struct { PyObject **slot; const char *text; } names[] = {
        {&s_schedule, "schedule"}, {&s_days, "_days"}, {&s_age_rollover, "age_rollover"},
        {&s_by_age, "_by_age"}, {&s_memo, "memo"}, {&s_waiver_names, "waiver_names"},
        {&s_exempt_categories, "exempt_categories"}, {&s_calendar, "calendar"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL)
            return NULL;
    zero_int = PyLong_FromLong(0);
    PyObject *module = zero_int == NULL ? NULL : PyModule_Create(&fast_module);
    if (module != NULL && PyModule_AddStringConstant(module, "SOURCE_SHA256", SOURCE_SHA256) < 0)
        Py_CLEAR(module);
    return module;
}
