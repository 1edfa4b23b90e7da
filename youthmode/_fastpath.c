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
#include "_compiled.h"
#include <datetime.h>

/* Slots by name: each table's names, and the offsets `configure` found for them. */
enum {
    D_DATE, D_ZONE, D_START, D_END, D_EVEN, D_WEEKDAY, D_DAY_TYPE, D_KEY, D_PREVIOUS,
    D_OFFICIAL, D_COUNT
};
static const char *const DAY_SLOTS[D_COUNT] = {"date", "zone", "start", "end", "even",
                                               "weekday", "day_type", "key", "previous",
                                               "official"};
enum {
    F_METERED, F_ACTION, F_BIRTHDATE, F_DECLARED_AGE, F_EXEMPTIONS, F_CATEGORY, F_APP,
    F_EXEMPT_APPS, F_CURFEWS, F_DAILY_LIMIT, F_TODAY, F_SESSION, F_DAY_SPENT, F_MONTH_SPENT,
    F_VERIFIED, F_APP_TODAY, F_WEEK, F_AMOUNT, F_CONSENTS, F_APP_CONSENT, F_LINKED, F_COUNT
};
static const char *const FACT_SLOTS[F_COUNT] = {
    "metered", "action", "birthdate", "declared_age", "exemptions", "category", "app",
    "exempt_apps", "guardian_curfews", "guardian_daily_limit", "today_seconds",
    "session_seconds", "day_spent", "month_spent", "verified", "app_today_seconds",
    "week_seconds", "amount", "consents", "app_consent", "linked"};
enum {
    M_TS, M_LOCAL, M_ZONE, M_DATE, M_SOD, M_WEEKDAY, M_CALENDAR, M_DAY_TYPE, M_DAY_KEY,
    M_PREVIOUS, M_AGE, M_BAND, M_TODAY, M_APP_TODAY, M_WEEK, M_SESSION, M_DAY_SPENT,
    M_MONTH_SPENT, M_COUNT
};
static const char *const MOMENT_SLOTS[M_COUNT] = {
    "ts", "_local", "zone", "date", "sod", "weekday", "calendar", "day_type", "day_key",
    "_previous", "age", "band", "today_seconds", "app_today_seconds", "week_seconds",
    "session_seconds", "day_spent", "month_spent"};
enum {
    W_AMOUNT, W_AT_TS, W_REQ, W_START, W_POLICY, W_AGE, W_AGE_DAY, W_SCHEDULES, W_TIMELESS,
    W_COUNT
};
static const char *const WALK_SLOTS[W_COUNT] = {"amount", "at_ts", "req", "start", "policy",
                                                "age", "age_day", "schedules", "timeless"};
enum {
    S_ALL_TIMELESS, S_BUDGETS, S_CAPS, S_EDGES, S_SEGMENTS, S_WINDOWS, S_SPENDING, S_WAIVED,
    S_COUNT
};
static const char *const SCHEDULE_SLOTS[S_COUNT] = {"all_timeless", "budgets", "caps", "edges",
                                                    "segments", "windows", "spending",
                                                    "waived"};
static Py_ssize_t day_at[D_COUNT], fact_at[F_COUNT], moment_at[M_COUNT];
static Py_ssize_t walk_at[W_COUNT], schedule_at[S_COUNT];
static PyTypeObject *walk_type, *schedule_type;
static PyObject *give_up, *zero_money, *s_limit, *s_limit_by_day, *s_makeup, *s_workday;
static PyObject *s_next_birthday, *s_day_of, *s_walk_age_on, *s_walk_schedule, *s_timeless;
static PyObject *s_window_denies;
static PyObject *timeless_judge; /* _verdicts.timeless, or None: every new age asks Python */
static PyTypeObject *day_type, *facts_type, *moment_type;
static PyObject *unknown_band, *no_schedule, *s_schedule, *zero_int;
static PyObject *s_days, *s_age_rollover, *s_by_age, *s_memo, *s_waiver_names;
static PyObject *s_exempt_categories, *s_calendar;

/* The policy's attributes read here, read once per policy (`ym_policy_table`). */
enum {
    P_DAYS, P_ROLLOVER, P_BY_AGE, P_WAIVERS, P_CATEGORIES, P_MEMO, P_CALENDAR, P_PROTECTED,
    P_TIMEZONE, P_COUNT
};
static PyObject *policy_names[P_COUNT];
static PyTypeObject *policy_type; /* CompiledPolicy: another type is declined */
static YmTables policy_tables;

#define SLOT(obj, at) (*(PyObject **)((char *)(obj) + (at)))

static int offsets(PyTypeObject *type, const char *const *names, Py_ssize_t *at, int n)
{
    for (int i = 0; i < n; i++)
        if ((at[i] = ym_slot_offset(type, names[i])) < 0)
            return -1;
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

/* `policy.band_of(age)` from the policy's `_by_age`: a new reference. */
static PyObject *band_of(PyObject *by_age, PyObject *age)
{
    if (age == Py_None)
        return Py_NewRef(unknown_band);
    PyObject *band = NULL;
    Py_ssize_t n = PyTuple_Check(by_age) ? PyTuple_GET_SIZE(by_age) : 0;
    long years = PyLong_AsLong(age);
    if (n > 0 && years >= 0)
        band = Py_NewRef(PyTuple_GET_ITEM(by_age, years < n ? years : n - 1));
    else if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "band_of: no bands, or a negative age");
    return band;
}

/* timeline.combination_key("schedule", policy, req, band): a new tuple. */
static PyObject *schedule_key(PyObject *table, PyObject *req, PyObject *band)
{
    PyObject *exemptions = SLOT(req, fact_at[F_EXEMPTIONS]);
    PyObject *waived = NULL, *key = NULL;
    if (PyObject_IsTrue(exemptions)) {
        waived = PyNumber_And(exemptions, PyTuple_GET_ITEM(table, P_WAIVERS));
        if (waived == NULL)
            return NULL;
    }
    else
        waived = Py_NewRef(exemptions);
    PyObject *categories = PyTuple_GET_ITEM(table, P_CATEGORIES);
    int category = PySequence_Contains(categories, SLOT(req, fact_at[F_CATEGORY]));
    PyObject *app = SLOT(req, fact_at[F_APP]);
    int exempt_app = app == Py_None ? 0
                     : PySequence_Contains(SLOT(req, fact_at[F_EXEMPT_APPS]), app);
    if (category >= 0 && exempt_app >= 0)
        key = PyTuple_Pack(8, s_schedule, SLOT(req, fact_at[F_ACTION]), band, waived,
                           category ? Py_True : Py_False, exempt_app ? Py_True : Py_False,
                           SLOT(req, fact_at[F_CURFEWS]), SLOT(req, fact_at[F_DAILY_LIMIT]));
    Py_DECREF(waived);
    return key;
}

/* The schedule for `band` from the policy's memo: a new reference, NULL with no error set
 * when the memo does not hold it (built, or known to be absent, by the Python set-up). */
static PyObject *memo_schedule(PyObject *table, PyObject *req, PyObject *band)
{
    PyObject *key = schedule_key(table, req, band), *memo = PyTuple_GET_ITEM(table, P_MEMO);
    PyObject *found = key == NULL || !PyDict_CheckExact(memo)
                          ? NULL : PyDict_GetItemWithError(memo, key);
    Py_XINCREF(found);
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

/* `fastpath._prepare`: (day, schedule, moment), or None for the Python set-up to run. */
static PyObject *fast_prepare(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "prepare(policy, req, at)");
        return NULL;
    }
    PyObject *policy = args[0], *req = args[1], *at = args[2];
    if (moment_type == NULL || Py_TYPE(req) != facts_type || !PyDateTime_Check(at)
        || Py_TYPE(policy) != policy_type)
        Py_RETURN_NONE;
    PyObject *age = NULL, *band = NULL, *schedule = NULL, *m = NULL, *out = NULL;
    PyObject *table = ym_policy_table(&policy_tables, policy, policy_names, P_COUNT);
    PyObject *days = table == NULL ? NULL : PyTuple_GET_ITEM(table, P_DAYS);
    PyObject *start = days == NULL ? NULL : PyDate_FromDate(
        PyDateTime_GET_YEAR(at), PyDateTime_GET_MONTH(at), PyDateTime_GET_DAY(at));
    PyObject *day = start == NULL || !PyDict_CheckExact(days)
                        ? NULL : PyDict_GetItemWithError(days, start);
    if (day == NULL || Py_TYPE(day) != day_type || SLOT(day, day_at[D_EVEN]) != Py_True)
        goto done; /* not in the memo yet, or a daylight-saving day: the Python set-up */
    PyObject *birth = SLOT(req, fact_at[F_BIRTHDATE]);
    if (birth == Py_None)
        age = Py_NewRef(SLOT(req, fact_at[F_DECLARED_AGE]));
    else if (PyDate_Check(birth)) {
        PyObject *rollover = PyTuple_GET_ITEM(table, P_ROLLOVER);
        int next_day = PyUnicode_Check(rollover)
                       && PyUnicode_CompareWithASCIIString(rollover, "next_day") == 0;
        age = PyLong_FromLong(age_on(birth, start, next_day));
    }
    band = age == NULL ? NULL : band_of(PyTuple_GET_ITEM(table, P_BY_AGE), age);
    schedule = band == NULL ? NULL : memo_schedule(table, req, band);
    if (schedule == NULL)
        goto done;
    PyObject *calendar = PyTuple_GET_ITEM(table, P_CALENDAR);
    long sod = PyDateTime_DATE_GET_HOUR(at) * 3600 + PyDateTime_DATE_GET_MINUTE(at) * 60
               + PyDateTime_DATE_GET_SECOND(at);
    m = moment_at_request(day, sod, calendar, age, band, req);
    if (m != NULL)
        out = PyTuple_Pack(3, day, schedule, m);
done:
    Py_XDECREF(start);
    Py_XDECREF(table);
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


/* -- the walk: schedule.Walk.first ----------------------------------------------------------
 * The same candidate instants in the same order, judged from the same tables. The next
 * birthday, the day after a change of day, and the schedule and timeless verdict of a new age
 * come from the memos (the policy's days, the walk's own); what they do not hold yet is asked
 * of the Python walk, which fills them, and a GiveUp it raises passes through. */
typedef struct {
    PyObject *walk, *req, *start, *amount;
    long long at_ts, today;
    int metered;
    int next_day; /* the policy's age rollover is `next_day`; -1: not read yet */
} Walker;

static int as_ll(PyObject *value, long long *out)
{
#if LONG_MAX >= LLONG_MAX
    /* PyLong_AsLongLong takes its slow road (a byte array) for any int past 2**30, as every
     * timestamp is; PyLong_AsLong reads the digits, where a long holds as much. */
    *out = PyLong_AsLong(value);
#else
    *out = PyLong_AsLongLong(value);
#endif
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

static int same_date(PyObject *a, PyObject *b)
{
    return PyDateTime_GET_YEAR(a) == PyDateTime_GET_YEAR(b)
           && PyDateTime_GET_MONTH(a) == PyDateTime_GET_MONTH(b)
           && PyDateTime_GET_DAY(a) == PyDateTime_GET_DAY(b);
}

/* DailyBudgetRule.limit_on(day_type). */
static int limit_on(PyObject *rule, PyObject *day_type, long long *out)
{
    PyObject *by_day = PyObject_GetAttr(rule, s_limit_by_day), *found = NULL;
    int truth = by_day == NULL ? -1 : by_day == Py_None ? 0 : PyObject_IsTrue(by_day);
    if (truth == 1) {
        int has = PySequence_Contains(by_day, day_type);
        if (has == 1)
            found = PyObject_GetItem(by_day, day_type);
        else if (has == 0 && PyUnicode_Compare(day_type, s_makeup) == 0) {
            has = PySequence_Contains(by_day, s_workday); /* a make-up day is a working day */
            if (has == 1)
                found = PyObject_GetItem(by_day, s_workday);
        }
        truth = has < 0 || PyErr_Occurred() ? -1 : 1;
    }
    if (truth >= 0 && found == NULL)
        found = PyObject_GetAttr(rule, s_limit);
    int r = truth < 0 || found == NULL ? -1 : as_ll(found, out);
    Py_XDECREF(found);
    Py_XDECREF(by_day);
    return r;
}

/* Walk._today: today's use at `ts`, as Timeline._moment counts it. */
static long long today_at(Walker *w, long long ts, int in_use, int same_day, long long start)
{
    if (in_use && w->metered)
        return same_day ? w->today + ts - w->at_ts : ts - start;
    return same_day ? w->today : 0;
}

/* Schedule.window_denies: a bisect in the day's segments; the Python method builds them
 * the first time a day type and the day before's are met. */
static int window_denies(PyObject *schedule, PyObject *day, long long sod)
{
    PyObject *key = PyTuple_Pack(2, SLOT(day, day_at[D_KEY]), SLOT(day, day_at[D_PREVIOUS]));
    PyObject *segments = SLOT(schedule, schedule_at[S_SEGMENTS]);
    PyObject *found = key == NULL || !PyDict_CheckExact(segments)
                          ? NULL : PyDict_GetItemWithError(segments, key);
    Py_XDECREF(key);
    if (found == NULL) {
        if (PyErr_Occurred() || !PyDict_CheckExact(segments))
            return -1;
        PyObject *second = PyLong_FromLongLong(sod);
        PyObject *out = second == NULL ? NULL : PyObject_CallMethodObjArgs(
            schedule, s_window_denies, day, second, NULL);
        int truth = out == NULL ? -1 : PyObject_IsTrue(out);
        Py_XDECREF(second);
        Py_XDECREF(out);
        return truth;
    }
    PyObject *starts = PyTuple_GET_ITEM(found, 0), *denied = PyTuple_GET_ITEM(found, 1);
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(starts);
    while (lo < hi) { /* bisect_right */
        Py_ssize_t mid = (lo + hi) / 2;
        long long edge;
        if (as_ll(PyList_GET_ITEM(starts, mid), &edge) < 0)
            return -1;
        if (sod < edge)
            hi = mid;
        else
            lo = mid + 1;
    }
    Py_ssize_t at = lo - 1 >= 0 ? lo - 1 : PyList_GET_SIZE(denied) - 1; /* [-1]: the last */
    return PyObject_IsTrue(PyList_GET_ITEM(denied, at));
}

/* Walk._denies: 1 denied, 0 not, -1 failed. */
static int denies(Walker *w, PyObject *schedule, PyObject *day, long long ts, int in_use)
{
    long long start;
    if (as_ll(SLOT(day, day_at[D_START]), &start) < 0)
        return -1;
    PyObject *windows = SLOT(schedule, schedule_at[S_WINDOWS]);
    if (PyTuple_Check(windows) && PyTuple_GET_SIZE(windows)) {
        int r = window_denies(schedule, day, ts - start);
        if (r != 0)
            return r;
    }
    PyObject *date = SLOT(day, day_at[D_DATE]);
    int same_day = same_date(date, w->start);
    PyObject *budgets = SLOT(schedule, schedule_at[S_BUDGETS]);
    if (PyTuple_GET_SIZE(budgets)) {
        long long today = today_at(w, ts, in_use, same_day, start), limit;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(budgets); i++) {
            if (limit_on(PyTuple_GET_ITEM(budgets, i), SLOT(day, day_at[D_DAY_TYPE]), &limit) < 0)
                return -1;
            if (today >= limit)
                return 1;
        }
    }
    PyObject *caps = SLOT(schedule, schedule_at[S_CAPS]);
    int same_month = PyDateTime_GET_YEAR(date) == PyDateTime_GET_YEAR(w->start)
                     && PyDateTime_GET_MONTH(date) == PyDateTime_GET_MONTH(w->start);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(caps); i++) {
        PyObject *cap = PyTuple_GET_ITEM(caps, i);
        PyObject *spent = PyTuple_GET_ITEM(cap, 0) == Py_True
            ? (same_day ? SLOT(w->req, fact_at[F_DAY_SPENT]) : zero_money)
            : (same_day || same_month ? SLOT(w->req, fact_at[F_MONTH_SPENT]) : zero_money);
        PyObject *total = PyNumber_Add(spent, w->amount);
        int over = total == NULL ? -1
                   : PyObject_RichCompareBool(total, PyTuple_GET_ITEM(cap, 1), Py_GT);
        Py_XDECREF(total);
        if (over != 0)
            return over;
    }
    return 0;
}

/* Walk._next_candidate: the next edge of the day's windows, or where a budget runs out. */
static int next_candidate(Walker *w, PyObject *day, long long ts, PyObject *schedule,
                          int in_use, long long *best)
{
    long long start, end;
    if (as_ll(SLOT(day, day_at[D_START]), &start) < 0 || as_ll(SLOT(day, day_at[D_END]), &end) < 0)
        return -1;
    *best = end;
    PyObject *edges = SLOT(schedule, schedule_at[S_EDGES]);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(edges); i++) {
        long long edge;
        if (as_ll(PyTuple_GET_ITEM(edges, i), &edge) < 0)
            return -1;
        if (edge > ts - start) {
            if (ts < start + edge && start + edge < *best)
                *best = start + edge;
            break;
        }
    }
    PyObject *budgets = SLOT(schedule, schedule_at[S_BUDGETS]);
    if (in_use && w->metered && PyTuple_GET_SIZE(budgets)) {
        int same_day = same_date(SLOT(day, day_at[D_DATE]), w->start);
        long long today = today_at(w, ts, 1, same_day, start), limit;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(budgets); i++) {
            if (limit_on(PyTuple_GET_ITEM(budgets, i), SLOT(day, day_at[D_DAY_TYPE]), &limit) < 0)
                return -1;
            long long left = limit - today;
            if (0 < left && ts + left < *best)
                *best = ts + left;
        }
    }
    return 0;
}


/* The tables this walk reads are all tuples (Schedule builds them so); anything else, and the
 * pure path answers (GiveUp), as for any walk the tables do not reach. */
static int schedule_ok(PyObject *schedule)
{
    if (Py_TYPE(schedule) != schedule_type)
        return 0;
    PyObject *caps = SLOT(schedule, schedule_at[S_CAPS]);
    int ok = PyTuple_Check(SLOT(schedule, schedule_at[S_EDGES]))
             && PyTuple_Check(SLOT(schedule, schedule_at[S_BUDGETS])) && PyTuple_Check(caps)
             && PyTuple_Check(SLOT(schedule, schedule_at[S_WINDOWS]));
    for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(caps); i++)
        ok = PyTuple_Check(PyTuple_GET_ITEM(caps, i)) && PyTuple_GET_SIZE(PyTuple_GET_ITEM(caps, i)) == 2;
    return ok;
}

static int day_ok(PyObject *day)
{
    return Py_TYPE(day) == day_type && PyDate_Check(SLOT(day, day_at[D_DATE]));
}

/* A call of one of the Python walk's methods; a new reference, NULL on error. */
static PyObject *ask(PyObject *walk, PyObject *name, PyObject *a, PyObject *b, PyObject *c,
                     PyObject *d)
{
    PyObject *args[] = {walk, a, b, c, d};
    size_t n = 1 + (a != NULL) + (b != NULL) + (c != NULL) + (d != NULL);
    return PyObject_VectorcallMethod(name, args, n | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

/* -- the walk's days and ages: Walk._next_birthday, _day_of, age_on, schedule, _timeless ----
 * Answered here from the memos (the policy's days, the walk's schedules and timeless verdicts
 * by age); what they do not hold yet is asked of the Python walk, which fills them. */
static int is_leap(int year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

static int month_days(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* The day after (y, m, d), in place; 0, or -1 past the last year a date can hold. */
static int next_date(int *y, int *m, int *d)
{
    if (*d < month_days(*y, *m))
        *d += 1;
    else if (*m < 12) {
        *m += 1;
        *d = 1;
    }
    else if (*y < 9999) {
        *y += 1;
        *m = *d = 1;
    }
    else
        return -1;
    return 0;
}

static int rollover_next_day(Walker *w)
{
    if (w->next_day < 0) {
        PyObject *rollover = PyObject_GetAttr(SLOT(w->walk, walk_at[W_POLICY]), s_age_rollover);
        if (rollover == NULL)
            return -1;
        w->next_day = PyUnicode_Check(rollover)
                      && PyUnicode_CompareWithASCIIString(rollover, "next_day") == 0;
        Py_DECREF(rollover);
    }
    return w->next_day;
}

/* policy.day(date(y, m, d)) from the policy's memo of days: a new reference, or NULL with no
 * error set where the memo does not hold it (the Python walk is then asked). */
static PyObject *memo_day(Walker *w, int y, int m, int d)
{
    PyObject *on = PyDate_FromDate(y, m, d), *found = NULL;
    PyObject *days = on == NULL ? NULL
                     : PyObject_GetAttr(SLOT(w->walk, walk_at[W_POLICY]), s_days);
    if (days != NULL && PyDict_CheckExact(days))
        found = PyDict_GetItemWithError(days, on);
    if (found != NULL && !day_ok(found))
        found = NULL;
    Py_XINCREF(found);
    Py_XDECREF(days);
    Py_XDECREF(on);
    return found;
}

/* facts.flip_date(birth, year, rollover) as (y, m, d): 0, or -1 where a date cannot hold it. */
static int flip_date(PyObject *birth, int year, int next_day, int *y, int *m, int *d)
{
    int month = PyDateTime_GET_MONTH(birth), day = PyDateTime_GET_DAY(birth);
    if (year < 1 || year > 9999)
        return -1;
    *y = year;
    if (month == 2 && day == 29 && !is_leap(year)) {
        *m = 3; /* 29 February in a common year: 1 March, both readings */
        *d = 1;
        return 0;
    }
    *m = month;
    *d = day;
    return next_day ? next_date(y, m, d) : 0;
}

/* Walk._next_birthday(on): a new reference to the Day or None; NULL on error. */
static PyObject *next_birthday(Walker *w, PyObject *on)
{
    PyObject *birth = SLOT(w->req, fact_at[F_BIRTHDATE]);
    int next_day = rollover_next_day(w);
    if (birth == Py_None || next_day < 0)
        return next_day < 0 ? NULL : Py_NewRef(Py_None);
    int year = PyDateTime_GET_YEAR(on);
    long today = year * 512L + PyDateTime_GET_MONTH(on) * 32 + PyDateTime_GET_DAY(on);
    for (int next = year; PyDate_Check(birth) && next <= year + 1; next++) {
        int y, m, d;
        if (flip_date(birth, next, next_day, &y, &m, &d) < 0)
            break;
        if (y * 512L + m * 32 + d > today) {
            PyObject *found = memo_day(w, y, m, d);
            if (found != NULL || PyErr_Occurred())
                return found;
            break;
        }
        if (next == year + 1)
            return Py_NewRef(Py_None);
    }
    return ask(w->walk, s_next_birthday, on, NULL, NULL, NULL);
}

/* Walk._day_of(day, ts): the day after `day` when it holds `ts`, else the Python walk's. */
static PyObject *day_of(Walker *w, PyObject *day, long long ts, PyObject *instant)
{
    PyObject *date = SLOT(day, day_at[D_DATE]);
    int y = PyDateTime_GET_YEAR(date), m = PyDateTime_GET_MONTH(date);
    int d = PyDateTime_GET_DAY(date);
    PyObject *after = next_date(&y, &m, &d) < 0 ? NULL : memo_day(w, y, m, d);
    long long start, end;
    if (after != NULL && as_ll(SLOT(after, day_at[D_START]), &start) == 0
        && as_ll(SLOT(after, day_at[D_END]), &end) == 0 && start <= ts && ts < end)
        return after;
    Py_XDECREF(after);
    if (PyErr_Occurred())
        return NULL;
    return ask(w->walk, s_day_of, day, instant, NULL, NULL);
}

/* The timeless verdict of `schedule` at `age` from youthmode/_verdicts.c's `timeless`, where
 * it is configured: a new reference, True or False, None where a rule must be asked, NULL on
 * error. */
static PyObject *judged_timeless(Walker *w, PyObject *schedule, PyObject *age)
{
    if (timeless_judge == NULL || timeless_judge == Py_None)
        return Py_NewRef(Py_None);
    PyObject *args[] = {schedule, age, w->req};
    return PyObject_Vectorcall(timeless_judge, args, 3, NULL);
}

/* Walk.age_on(day.date), then Walk.schedule(age) and Walk._timeless(age, schedule, day, ts)
 * where the walk's memos hold them: the new schedule (a new reference) and the timeless
 * verdict in *timeless; NULL on error (GiveUp included). */
static PyObject *new_age(Walker *w, PyObject *day, PyObject *instant, int *timeless)
{
    PyObject *walk = w->walk, *date = SLOT(day, day_at[D_DATE]);
    PyObject *birth = SLOT(w->req, fact_at[F_BIRTHDATE]), *age = NULL;
    int next_day = rollover_next_day(w);
    if (next_day < 0)
        return NULL;
    if (!PyDate_Check(birth) || !PyDate_Check(SLOT(walk, walk_at[W_AGE_DAY])))
        age = ask(walk, s_walk_age_on, date, NULL, NULL, NULL);
    else if (same_date(date, SLOT(walk, walk_at[W_AGE_DAY])))
        age = Py_NewRef(SLOT(walk, walk_at[W_AGE]));
    else if ((age = PyLong_FromLong(age_on(birth, date, next_day))) != NULL) {
        Py_SETREF(SLOT(walk, walk_at[W_AGE_DAY]), Py_NewRef(date));
        Py_SETREF(SLOT(walk, walk_at[W_AGE]), Py_NewRef(age));
    }
    PyObject *schedules = SLOT(walk, walk_at[W_SCHEDULES]), *memo = SLOT(walk, walk_at[W_TIMELESS]);
    PyObject *policy = SLOT(walk, walk_at[W_POLICY]);
    PyObject *by_age = age == NULL ? NULL : PyObject_GetAttr(policy, s_by_age);
    PyObject *band = by_age == NULL ? NULL : band_of(by_age, age);
    Py_XDECREF(by_age);
    PyObject *schedule = band == NULL || !PyDict_CheckExact(schedules) ? NULL
                         : PyDict_GetItemWithError(schedules, band);
    Py_XINCREF(schedule);
    if (schedule == NULL && age != NULL && !PyErr_Occurred())
        schedule = ask(walk, s_walk_schedule, age, NULL, NULL, NULL);
    PyObject *verdict = schedule == NULL || !PyDict_CheckExact(memo) ? NULL
                        : PyDict_GetItemWithError(memo, age);
    if (verdict != NULL && verdict != Py_None)
        Py_INCREF(verdict);
    else if (schedule != NULL && !PyErr_Occurred()) {
        verdict = judged_timeless(w, schedule, age);
        if (verdict == Py_None) /* a rule only the Python walk can ask: it judges, and memos */
            Py_SETREF(verdict, ask(walk, s_timeless, age, schedule, day, instant));
        else if (verdict != NULL && PyDict_CheckExact(memo) && PyDict_SetItem(memo, age, verdict) < 0)
            Py_CLEAR(verdict);
    }
    else
        verdict = NULL;
    *timeless = verdict == NULL ? -1 : PyObject_IsTrue(verdict);
    Py_XDECREF(verdict);
    Py_XDECREF(band);
    Py_XDECREF(age);
    if (*timeless < 0)
        Py_CLEAR(schedule);
    return schedule;
}

/* Walk.first(day, ts, schedule, stands, want_allowed, horizon): the first candidate instant
 * at which the request is allowed (want_allowed) or, in use, denied; None past the horizon. */
static PyObject *walk_first(Walker *w, PyObject *day, long long ts, PyObject *schedule,
                            int stands, int want_allowed, long long horizon)
{
    long long limit = w->at_ts + horizon, found = 0;
    int in_use = !want_allowed, timeless = stands;
    int dated = SLOT(w->req, fact_at[F_BIRTHDATE]) != Py_None;
    PyObject *out = NULL, *birthday = NULL;
    if (!schedule_ok(schedule) || !day_ok(day)) { /* checked here, and on each new one */
        PyErr_SetNone(give_up);
        return NULL;
    }
    Py_INCREF(day);
    Py_INCREF(schedule);
    for (;;) {
        int has = 1, all_timeless = PyObject_IsTrue(SLOT(schedule, schedule_at[S_ALL_TIMELESS]));
        if (all_timeless < 0)
            break;
        if ((want_allowed && stands) || all_timeless) {
            birthday = next_birthday(w, SLOT(day, day_at[D_DATE]));
            if (birthday == NULL || (birthday != Py_None && !day_ok(birthday)))
                break;
            has = birthday != Py_None;
            if (has && as_ll(SLOT(birthday, day_at[D_START]), &found) < 0)
                break;
        }
        else if (next_candidate(w, day, ts, schedule, in_use, &found) < 0)
            break;
        if (!has || found > limit) {
            out = Py_NewRef(Py_None);
            break;
        }
        long long start, end;
        if (as_ll(SLOT(day, day_at[D_START]), &start) < 0
            || as_ll(SLOT(day, day_at[D_END]), &end) < 0)
            break;
        if (!(start <= found && found < end)) {
            /* the birthday's own day holds its first instant, on a day 24 hours long */
            int even = birthday != NULL && birthday != Py_None
                       && SLOT(birthday, day_at[D_EVEN]) == Py_True;
            PyObject *instant = PyLong_FromLongLong(found);
            PyObject *next = instant == NULL ? NULL
                             : even ? Py_NewRef(birthday)
                                    : day_of(w, day, found, instant);
            if (next == NULL || !day_ok(next)) {
                Py_XDECREF(instant);
                Py_XDECREF(next);
                if (!PyErr_Occurred())
                    PyErr_SetNone(give_up);
                break;
            }
            Py_SETREF(day, next);
            if (SLOT(day, day_at[D_EVEN]) != Py_True) {
                Py_DECREF(instant);
                PyErr_SetNone(give_up); /* a daylight-saving day: Timeline converts each instant */
                break;
            }
            if (dated) {
                PyObject *then = new_age(w, day, instant, &timeless);
                if (then != NULL)
                    Py_SETREF(schedule, then);
                if (timeless >= 0 && !schedule_ok(schedule)) {
                    PyErr_SetNone(give_up);
                    timeless = -1;
                }
                if (timeless < 0) {
                    Py_DECREF(instant);
                    break;
                }
            }
            Py_DECREF(instant);
        }
        Py_CLEAR(birthday);
        ts = found;
        stands = timeless;
        int denied = timeless ? 1 : denies(w, schedule, day, ts, in_use);
        if (denied < 0)
            break;
        if ((!denied) == want_allowed) {
            out = PyLong_FromLongLong(ts);
            break;
        }
    }
    Py_XDECREF(birthday);
    Py_DECREF(day);
    Py_DECREF(schedule);
    return out;
}

static PyObject *fast_first(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 7 || walk_type == NULL || Py_TYPE(args[0]) != walk_type) {
        PyErr_SetString(PyExc_TypeError,
                        "first(walk, day, ts, schedule, stands, want_allowed, horizon)");
        return NULL;
    }
    PyObject *walk = args[0];
    Walker w = {walk, SLOT(walk, walk_at[W_REQ]), SLOT(walk, walk_at[W_START]),
                SLOT(walk, walk_at[W_AMOUNT]), 0, 0, 0, -1};
    long long ts, horizon;
    if (Py_TYPE(w.req) != facts_type || !PyDate_Check(w.start)
        || as_ll(SLOT(walk, walk_at[W_AT_TS]), &w.at_ts) < 0
        || as_ll(SLOT(w.req, fact_at[F_TODAY]), &w.today) < 0 || as_ll(args[2], &ts) < 0
        || as_ll(args[6], &horizon) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "first: not a walk of the fast path");
        return NULL;
    }
    w.metered = SLOT(w.req, fact_at[F_METERED]) == Py_True;
    int stands = PyObject_IsTrue(args[4]), want_allowed = PyObject_IsTrue(args[5]);
    if (stands < 0 || want_allowed < 0)
        return NULL;
    return walk_first(&w, args[1], ts, args[3], stands, want_allowed, horizon);
}


/* -- the decision's facts: fastpath._facts ---------------------------------------------------
 * Facts's fields in the model's order (configure checks the order against the model), the
 * guardian's settings from the Python function when they apply, the model built by the same
 * builder as the Python twin uses (youthmode/_response.c's `model`). */
static const char *const FACTS_FIELDS[] = {
    "local_time", "timezone", "day_type", "calendar_official", "age", "age_range",
    "ignored_signals", "jurisdiction", "verified", "today_seconds", "session_seconds",
    "app_today_seconds", "week_seconds", "day_spent", "month_spent", "amount", "category",
    "waived", "guardian", "redacted"};
#define FACTS_FIELD_COUNT ((Py_ssize_t)(sizeof FACTS_FIELDS / sizeof FACTS_FIELDS[0]))
static PyObject *facts_keys[FACTS_FIELD_COUNT], *facts_template;
static PyObject *facts_model, *facts_set, *model_builder, *guardian_facts;
static PyObject *s_timezone, *s_protected_bands;

static PyObject *or_none(PyObject *value)
{
    int truth = PyObject_IsTrue(value);
    return truth == 1 ? value : truth == 0 ? Py_None : NULL;
}

/* Whether a guardian's settings show in the facts (`_facts`'s condition): 1, 0, -1. */
static int shows_guardian(PyObject *table, PyObject *req, PyObject *band)
{
    int protected = PySequence_Contains(PyTuple_GET_ITEM(table, P_PROTECTED), band);
    if (protected != 1)
        return protected;
    PyObject *truthy[] = {SLOT(req, fact_at[F_EXEMPT_APPS]), SLOT(req, fact_at[F_CONSENTS]),
                          SLOT(req, fact_at[F_LINKED]), SLOT(req, fact_at[F_CURFEWS])};
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        int truth = PyObject_IsTrue(truthy[i]);
        if (truth != 0)
            return truth;
    }
    return SLOT(req, fact_at[F_APP_CONSENT]) != Py_None
           || SLOT(req, fact_at[F_DAILY_LIMIT]) != Py_None;
}

static PyObject *fast_facts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6 || facts_model == NULL || Py_TYPE(args[0]) != policy_type
        || Py_TYPE(args[1]) != facts_type
        || !schedule_ok(args[2]) || !day_ok(args[3]) || Py_TYPE(args[4]) != moment_type) {
        PyErr_SetString(PyExc_TypeError, "facts(policy, req, schedule, day, m, at)");
        return NULL;
    }
    PyObject *policy = args[0], *req = args[1], *schedule = args[2], *day = args[3];
    PyObject *m = args[4], *at = args[5];
    PyObject *guardian = NULL, *waived = NULL, *zone_name = NULL, *fields = NULL;
    PyObject *table = ym_policy_table(&policy_tables, policy, policy_names, P_COUNT);
    int shows = table == NULL ? -1 : shows_guardian(table, req, SLOT(m, moment_at[M_BAND]));
    guardian = shows < 0 ? NULL
               : shows ? PyObject_CallOneArg(guardian_facts, req) : Py_NewRef(Py_None);
    PyObject *given_waived = SLOT(schedule, schedule_at[S_WAIVED]);
    int any_waived = guardian == NULL ? -1 : PyObject_IsTrue(given_waived);
    waived = any_waived < 0 ? NULL
             : any_waived ? PySequence_List(given_waived) : Py_NewRef(Py_None);
    zone_name = waived == NULL ? NULL : Py_NewRef(PyTuple_GET_ITEM(table, P_TIMEZONE));
    int spending = zone_name == NULL ? -1 : PyObject_IsTrue(SLOT(schedule, schedule_at[S_SPENDING]));
    PyObject *app_today = spending < 0 ? NULL : or_none(SLOT(req, fact_at[F_APP_TODAY]));
    PyObject *week = app_today == NULL ? NULL : or_none(SLOT(req, fact_at[F_WEEK]));
    if (week != NULL) {
        PyObject *values[FACTS_FIELD_COUNT] = {
            at, zone_name, SLOT(m, moment_at[M_DAY_TYPE]), SLOT(day, day_at[D_OFFICIAL]),
            SLOT(m, moment_at[M_AGE]), Py_None, Py_None, Py_None,
            SLOT(req, fact_at[F_VERIFIED]), SLOT(req, fact_at[F_TODAY]),
            SLOT(req, fact_at[F_SESSION]), app_today, week,
            spending ? SLOT(req, fact_at[F_DAY_SPENT]) : Py_None,
            spending ? SLOT(req, fact_at[F_MONTH_SPENT]) : Py_None,
            SLOT(req, fact_at[F_AMOUNT]), SLOT(req, fact_at[F_CATEGORY]), waived, guardian,
            Py_None};
        fields = ym_filled(facts_template, facts_keys, values, FACTS_FIELD_COUNT);
    }
    PyObject *out = NULL;
    if (fields != NULL) {
        PyObject *call[] = {facts_model, fields, facts_set};
        out = PyObject_Vectorcall(model_builder, call, 3, NULL);
    }
    Py_XDECREF(fields);
    Py_XDECREF(guardian);
    Py_XDECREF(waived);
    Py_XDECREF(zone_name);
    Py_XDECREF(table);
    return out;
}

static int take_facts_model(PyObject *given)
{
    PyObject *model = PyDict_GetItemString(given, "facts_model");
    PyObject *set = PyDict_GetItemString(given, "facts_set");
    PyObject *builder = PyDict_GetItemString(given, "model_builder");
    PyObject *guardian = PyDict_GetItemString(given, "guardian_facts");
    PyObject *order = PyDict_GetItemString(given, "facts_fields");
    if (model == NULL || set == NULL || builder == NULL || guardian == NULL || order == NULL
        || !PyTuple_Check(order) || PyTuple_GET_SIZE(order) != FACTS_FIELD_COUNT) {
        PyErr_SetString(PyExc_TypeError, "configure: facts_model, facts_set, model_builder, "
                                         "guardian_facts, facts_fields (the model's order)");
        return -1;
    }
    for (Py_ssize_t i = 0; i < FACTS_FIELD_COUNT; i++) {
        PyObject *name = PyTuple_GET_ITEM(order, i);
        if (!PyUnicode_Check(name) || PyUnicode_CompareWithASCIIString(name, FACTS_FIELDS[i])) {
            PyErr_Format(PyExc_TypeError, "configure: Facts's field %zd is not `%s`", i,
                         FACTS_FIELDS[i]);
            return -1;
        }
    }
    PyObject *template = ym_template(&PyTuple_GET_ITEM(order, 0), FACTS_FIELD_COUNT);
    if (template == NULL)
        return -1;
    Py_XSETREF(facts_template, template);
    for (Py_ssize_t i = 0; i < FACTS_FIELD_COUNT; i++)
        Py_XSETREF(facts_keys[i], Py_NewRef(PyTuple_GET_ITEM(order, i)));
    Py_XSETREF(facts_model, Py_NewRef(model));
    Py_XSETREF(facts_set, Py_NewRef(set));
    Py_XSETREF(model_builder, Py_NewRef(builder));
    Py_XSETREF(guardian_facts, Py_NewRef(guardian));
    return 0;
}

static int all_types(PyObject *const *given, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (given[i] == NULL || !PyType_Check(given[i]))
            return 0;
    return 1;
}

static PyObject *fast_configure(PyObject *module, PyObject *given)
{
    (void)module;
    PyObject *day = PyDict_GetItemString(given, "day");
    PyObject *facts = PyDict_GetItemString(given, "facts");
    PyObject *moment = PyDict_GetItemString(given, "moment");
    PyObject *unknown = PyDict_GetItemString(given, "unknown_band");
    PyObject *none = PyDict_GetItemString(given, "no_schedule");
    PyObject *walk = PyDict_GetItemString(given, "walk");
    PyObject *schedule = PyDict_GetItemString(given, "schedule");
    PyObject *gave_up = PyDict_GetItemString(given, "give_up");
    PyObject *zero = PyDict_GetItemString(given, "zero");
    PyObject *policy = PyDict_GetItemString(given, "policy");
    PyObject *const types[] = {policy, day, facts, moment, walk, schedule};
    if (!all_types(types, sizeof types / sizeof types[0]) || unknown == NULL || none == NULL
        || gave_up == NULL || zero == NULL || !PyExceptionClass_Check(gave_up)) {
        PyErr_SetString(PyExc_TypeError, "configure: policy, day, facts, moment, walk, schedule "
                                         "(types), unknown_band, no_schedule, give_up, zero");
        return NULL;
    }
    /* Found into copies, kept only when all are found: a refused configuration changes
     * nothing (a module in use stays as it was). */
    Py_ssize_t days[D_COUNT], facts_slots[F_COUNT], moments[M_COUNT];
    Py_ssize_t walks[W_COUNT], schedules[S_COUNT];
    if (offsets((PyTypeObject *)day, DAY_SLOTS, days, D_COUNT) < 0
        || offsets((PyTypeObject *)facts, FACT_SLOTS, facts_slots, F_COUNT) < 0
        || offsets((PyTypeObject *)moment, MOMENT_SLOTS, moments, M_COUNT) < 0
        || offsets((PyTypeObject *)walk, WALK_SLOTS, walks, W_COUNT) < 0
        || offsets((PyTypeObject *)schedule, SCHEDULE_SLOTS, schedules, S_COUNT) < 0)
        return NULL;
    PyObject *slots = PyObject_GetAttrString(moment, "__slots__");
    Py_ssize_t n = slots == NULL ? -1 : PyObject_Length(slots);
    Py_XDECREF(slots);
    if (n != M_COUNT) { /* a slot the compiled moment would leave unset */
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "configure: Moment's slots are not the ones set here");
        return NULL;
    }
    if (take_facts_model(given) < 0)
        return NULL;
    memcpy(day_at, days, sizeof days);
    memcpy(fact_at, facts_slots, sizeof facts_slots);
    memcpy(moment_at, moments, sizeof moments);
    memcpy(walk_at, walks, sizeof walks);
    memcpy(schedule_at, schedules, sizeof schedules);
    Py_XSETREF(policy_type, (PyTypeObject *)Py_NewRef(policy));
    Py_XSETREF(walk_type, (PyTypeObject *)Py_NewRef(walk));
    Py_XSETREF(schedule_type, (PyTypeObject *)Py_NewRef(schedule));
    Py_XSETREF(give_up, Py_NewRef(gave_up));
    Py_XSETREF(zero_money, Py_NewRef(zero));
    Py_XSETREF(day_type, (PyTypeObject *)Py_NewRef(day));
    Py_XSETREF(facts_type, (PyTypeObject *)Py_NewRef(facts));
    Py_XSETREF(moment_type, (PyTypeObject *)Py_NewRef(moment));
    Py_XSETREF(unknown_band, Py_NewRef(unknown));
    Py_XSETREF(no_schedule, Py_NewRef(none));
    PyObject *judge = PyDict_GetItemString(given, "timeless_judge"); /* optional */
    Py_XSETREF(timeless_judge, judge == NULL ? NULL : Py_NewRef(judge));
    Py_RETURN_NONE;
}

static PyMethodDef fast_methods[] = {
    {"prepare", (PyCFunction)(void (*)(void))fast_prepare, METH_FASTCALL,
     "prepare(policy, req, at) -> (day, schedule, moment) | None"},
    {"facts", (PyCFunction)(void (*)(void))fast_facts, METH_FASTCALL,
     "facts(policy, req, schedule, day, m, at) -> Facts"},
    {"first", (PyCFunction)(void (*)(void))fast_first, METH_FASTCALL,
     "first(walk, day, ts, schedule, stands, want_allowed, horizon) -> int | None"},
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
    static const YmName names[] = {
        {&s_schedule, "schedule"}, {&s_days, "_days"}, {&s_age_rollover, "age_rollover"},
        {&s_by_age, "_by_age"}, {&s_memo, "memo"}, {&s_waiver_names, "waiver_names"},
        {&s_exempt_categories, "exempt_categories"}, {&s_calendar, "calendar"},
        {&s_limit, "limit"}, {&s_limit_by_day, "limit_by_day"}, {&s_makeup, "makeup_workday"},
        {&s_workday, "workday"}, {&s_next_birthday, "_next_birthday"}, {&s_day_of, "_day_of"},
        {&s_walk_age_on, "age_on"}, {&s_walk_schedule, "schedule"},
        {&s_timeless, "_timeless"}, {&s_window_denies, "window_denies"},
        {&s_timezone, "timezone"}, {&s_protected_bands, "protected_bands"}};
    if (ym_intern(names, sizeof names / sizeof names[0]) < 0)
        return NULL;
    PyObject *const read[P_COUNT] = {
        [P_DAYS] = s_days, [P_ROLLOVER] = s_age_rollover, [P_BY_AGE] = s_by_age,
        [P_WAIVERS] = s_waiver_names, [P_CATEGORIES] = s_exempt_categories, [P_MEMO] = s_memo,
        [P_CALENDAR] = s_calendar, [P_PROTECTED] = s_protected_bands, [P_TIMEZONE] = s_timezone};
    memcpy(policy_names, read, sizeof read);
    zero_int = PyLong_FromLong(0);
    return zero_int == NULL ? NULL : ym_module(&fast_module);
}
