/* The fast path's verdicts and decision, compiled: the fifth stage of a compiled engine
 * (docs/performance.md). `decide(policy, req, at, decision_id)` is `fastpath.decide_fast` in
 * one call:
 *
 * - the set-up, the walk and the facts are the compiled ones of youthmode/_fastpath.c, called
 *   as `fastpath.py` calls them (handed over by `configure`);
 * - each rule's verdict is judged here from the plain data the schedule keeps beside it
 *   (`Schedule.verdicts`, schedule.verdict_spec: a kind code and the numbers it compares);
 *   a rule of any other kind, or a moment this code cannot read, is asked (`rule.denies`);
 * - the allow or deny `Decision`, its reasons, remedies (the wait remedy included) and, when
 *   none is due, its obligations are built here; due obligations are worded by
 *   `decision.obligations_due`.
 *
 * Anything it does not take (a request that is not plain facts, a set-up the compiled one
 * declines, a walk that gives up, any error) goes to the Python twin, `fastpath.decide_python`,
 * which then answers (or raises) exactly as it always has: `verdict` is the same function
 * without that hand-over, for tests/test_verdicts_compiled.py.
 */
#include "_compiled.h"
#include <datetime.h>

#define SLOT(obj, at) (*(PyObject **)((char *)(obj) + (at)))

enum {
    M_TS, M_SOD, M_DAY_KEY, M_PREVIOUS, M_AGE, M_BAND, M_TODAY, M_SESSION, M_DAY_SPENT,
    M_MONTH_SPENT, M_DAY_TYPE, M_DATE, M_COUNT
};
static const char *const MOMENT_SLOTS[M_COUNT] = {
    "ts", "sod", "day_key", "_previous", "age", "band", "today_seconds", "session_seconds",
    "day_spent", "month_spent", "day_type", "date"};
enum {
    F_ACTION, F_VERIFIED, F_CONSENTS, F_MIN_AGE, F_AMOUNT, F_BIRTHDATE, F_EXTRA, F_RESOURCE,
    F_COUNT
};
static const char *const FACT_SLOTS[F_COUNT] = {"action", "verified", "consents", "min_age",
                                                "amount", "birthdate", "extra_seconds",
                                                "resource"};
enum { S_ENTRIES, S_VERDICTS, S_OBLIGATIONS, S_DUES, S_REF, S_COUNT };
static const char *const SCHEDULE_SLOTS[S_COUNT] = {"entries", "verdicts", "obligations",
                                                    "dues", "ref"};
enum {
    W_AGE, W_AGE_DAY, W_AMOUNT, W_AT_TS, W_POLICY, W_REQ, W_SCHEDULES, W_START, W_TIMELESS,
    W_COUNT
};
static const char *const WALK_SLOTS[W_COUNT] = {"age", "age_day", "amount", "at_ts", "policy",
                                                "req", "schedules", "start", "timeless"};
/* schedule.py's codes (configure checks them): what each verdict spec and due spec is. */
enum { V_ASK, V_FORBID, V_VERIFIED, V_CONSENT, V_CONTENT_AGE, V_DENY_WINDOW, V_ALLOW_WINDOW,
       V_DAILY, V_CAP, V_MATCH, V_COUNT };
enum { D_ASK, D_REST, D_LOCKOUT, D_COUNT };
/* The Decision's fields in the model's order (configure checks the order). */
static const char *const DECISION_FIELDS[] = {
    "decision_id", "effect", "allowed", "band", "reasons", "obligations", "remedies",
    "remaining_seconds", "valid_until", "next_allowed_at", "facts", "policy", "policies",
    "degraded"};
#define DECISION_FIELD_COUNT ((Py_ssize_t)(sizeof DECISION_FIELDS / sizeof DECISION_FIELDS[0]))

static Py_ssize_t moment_at[M_COUNT], fact_at[F_COUNT], schedule_at[S_COUNT], walk_at[W_COUNT];
static PyTypeObject *moment_type, *facts_type, *schedule_type, *walk_type;
static PyObject *decision_keys[DECISION_FIELD_COUNT], *decision_template;
/* What configure hands over, in one table so that it is taken (and refused) whole. */
enum {
    C_PREPARE, C_FIRST, C_FACTS, C_FALLBACK, C_OBLIGATIONS_DUE, C_MODEL_BUILDER, C_DECISION,
    C_DECISION_SET, C_REMEDY, C_WAIT, C_WAIT_SET, C_GIVE_UP, C_ZERO, C_NEXT_ALLOWED_HORIZON,
    C_REMAINING_HORIZON, C_COUNT
};
static const char *const GIVEN[C_COUNT] = {
    "prepare", "first", "facts_of", "fallback", "obligations_due", "model_builder",
    "decision_model", "decision_set", "remedy_model", "wait", "wait_set", "give_up", "zero",
    "next_allowed_horizon", "remaining_horizon"};
static PyObject *given_at[C_COUNT];
/* The class each code judges, and the `denies` it had when configured: a rule of another
 * class, or one whose `denies` has since been replaced (a test's fault injection), is asked. */
static PyObject *kind_class[V_COUNT], *kind_denies[V_COUNT];
static PyObject *s_denies, *s_zone, *s_allow, *s_deny, *s_until, *s_makeup, *s_workday;
static PyObject *fromtimestamp;

/* -- verdicts ---------------------------------------------------------------------------- */
static int ask_rule(PyObject *rule, PyObject *m, PyObject *req)
{
    PyObject *args[] = {rule, m, req};
    PyObject *verdict = PyObject_VectorcallMethod(s_denies, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                                  NULL);
    int truth = verdict == NULL ? -1 : PyObject_IsTrue(verdict);
    Py_XDECREF(verdict);
    return truth;
}

/* Window.contains for each window (start, end, days) of a spec: 1 inside one, 0 in none,
 * -1 on error, -2 where the moment does not hold the day before's key (the rule is asked). */
static int in_windows(PyObject *windows, PyObject *m)
{
    PyObject *key = SLOT(m, moment_at[M_DAY_KEY]), *previous = SLOT(m, moment_at[M_PREVIOUS]);
    long sod = PyLong_AsLong(SLOT(m, moment_at[M_SOD]));
    if (!PyTuple_CheckExact(windows) || (sod == -1 && PyErr_Occurred()))
        return -1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(windows); i++) {
        PyObject *w = PyTuple_GET_ITEM(windows, i);
        if (!PyTuple_CheckExact(w) || PyTuple_GET_SIZE(w) != 3)
            return -1;
        long start = PyLong_AsLong(PyTuple_GET_ITEM(w, 0));
        long end = PyLong_AsLong(PyTuple_GET_ITEM(w, 1));
        if (PyErr_Occurred())
            return -1;
        PyObject *on = NULL; /* the day key the window is tested against, if the time is in */
        if (start < end)
            on = start <= sod && sod < end ? key : NULL;
        else if (sod >= start)
            on = key;
        else if (sod < end) {
            if (previous == Py_None)
                return -2;
            on = previous;
        }
        int hit = on == NULL ? 0 : PySequence_Contains(PyTuple_GET_ITEM(w, 2), on);
        if (hit != 0)
            return hit;
    }
    return 0;
}

/* DailyBudgetRule.limit_on(day_type), from the spec's limit and limits by day type. */
static PyObject *limit_on(PyObject *limit, PyObject *by_day, PyObject *day_type)
{
    if (by_day == Py_None)
        return limit;
    if (!PyDict_CheckExact(by_day))
        return NULL;
    PyObject *found = PyDict_GetItemWithError(by_day, day_type);
    if (found == NULL && !PyErr_Occurred() && PyUnicode_Check(day_type)
        && PyUnicode_Compare(day_type, s_makeup) == 0) /* a make-up day is a working day */
        found = PyDict_GetItemWithError(by_day, s_workday);
    return found != NULL ? found : PyErr_Occurred() ? NULL : limit;
}

/* SpendingCapRule.denies: the period's spend plus the amount, above the cap. */
static int over_cap(PyObject *period, PyObject *cap, PyObject *m, PyObject *req)
{
    long which = PyLong_AsLong(period);
    PyObject *amount = SLOT(req, fact_at[F_AMOUNT]);
    if (amount == Py_None)
        amount = given_at[C_ZERO];
    PyObject *total = which == 0 ? Py_NewRef(amount)
                      : which == 1 ? PyNumber_Add(SLOT(m, moment_at[M_DAY_SPENT]), amount)
                      : which == 2 ? PyNumber_Add(SLOT(m, moment_at[M_MONTH_SPENT]), amount)
                                   : NULL;
    int over = total == NULL ? -1 : PyObject_RichCompareBool(total, cap, Py_GT);
    Py_XDECREF(total);
    return over;
}

/* ResourceMatchRule.denies: every (key, values) condition met by the request's resource
 * (its value, as a string, among the values), and at least one condition; -2 for a resource
 * that is not a plain dict (the rule is asked). */
static int matches(PyObject *conditions, PyObject *req)
{
    PyObject *resource = SLOT(req, fact_at[F_RESOURCE]);
    if (!PyDict_CheckExact(resource))
        return -2;
    if (!PyTuple_CheckExact(conditions))
        return -1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(conditions); i++) {
        PyObject *pair = PyTuple_GET_ITEM(conditions, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2)
            return -1;
        PyObject *value = PyDict_GetItemWithError(resource, PyTuple_GET_ITEM(pair, 0));
        if (value == NULL || value == Py_None)
            return PyErr_Occurred() ? -1 : 0;
        PyObject *text = PyObject_Str(value);
        int found = text == NULL ? -1 : PySequence_Contains(PyTuple_GET_ITEM(pair, 1), text);
        Py_XDECREF(text);
        if (found != 1)
            return found;
    }
    return PyTuple_GET_SIZE(conditions) > 0;
}

/* Whether ``rule`` denies at ``m``, judged from its spec: 1, 0, or -1 with an error set. */
static int judge(PyObject *spec, PyObject *rule, PyObject *m, PyObject *req)
{
    Py_ssize_t n = PyTuple_CheckExact(spec) ? PyTuple_GET_SIZE(spec) : 0;
    long code = n >= 2 ? PyLong_AsLong(PyTuple_GET_ITEM(spec, 0)) : V_ASK;
    if (code == -1 && PyErr_Occurred())
        return -1;
    if (code <= V_ASK || code >= V_COUNT || (PyObject *)Py_TYPE(rule) != kind_class[code]
        || _PyType_Lookup(Py_TYPE(rule), s_denies) != kind_denies[code])
        return ask_rule(rule, m, req);
    int found = -2;
    if (code == V_FORBID && n == 2)
        found = 1;
    else if (code == V_VERIFIED && n == 2)
        found = PyObject_Not(SLOT(req, fact_at[F_VERIFIED]));
    else if (code == V_CONSENT && n == 3) {
        PyObject *needed = PyTuple_GET_ITEM(spec, 2);
        int has = PySequence_Contains(SLOT(req, fact_at[F_CONSENTS]),
                                      needed == Py_None ? SLOT(req, fact_at[F_ACTION]) : needed);
        found = has < 0 ? -1 : !has;
    }
    else if (code == V_CONTENT_AGE && n == 2) {
        PyObject *min_age = SLOT(req, fact_at[F_MIN_AGE]), *age = SLOT(m, moment_at[M_AGE]);
        found = min_age == Py_None ? 0
                : age == Py_None ? 1 : PyObject_RichCompareBool(min_age, age, Py_GT);
    }
    else if ((code == V_DENY_WINDOW || code == V_ALLOW_WINDOW) && n == 3) {
        found = in_windows(PyTuple_GET_ITEM(spec, 2), m);
        if (found >= 0 && code == V_ALLOW_WINDOW)
            found = !found;
    }
    else if (code == V_DAILY && n == 4) {
        PyObject *limit = limit_on(PyTuple_GET_ITEM(spec, 2), PyTuple_GET_ITEM(spec, 3),
                                   SLOT(m, moment_at[M_DAY_TYPE]));
        found = limit == NULL ? -1
                : PyObject_RichCompareBool(SLOT(m, moment_at[M_TODAY]), limit, Py_GE);
    }
    else if (code == V_CAP && n == 4)
        found = over_cap(PyTuple_GET_ITEM(spec, 2), PyTuple_GET_ITEM(spec, 3), m, req);
    else if (code == V_MATCH && n == 3)
        found = matches(PyTuple_GET_ITEM(spec, 2), req);
    if (found == -1 && !PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "verdict: a spec of an unexpected shape");
    return found == -2 ? ask_rule(rule, m, req) : found;
}

/* A timeless rule's verdict at `age` alone (what `Walk._timeless` asks of a moment whose
 * counters are all zero): 1, 0, -1 on error, -2 for a rule that reads more of the moment, or
 * is not of its code's class (the Python walk then asks every rule itself). */
static int judge_timeless(PyObject *spec, PyObject *rule, PyObject *age, PyObject *req)
{
    long code = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
    Py_ssize_t n = PyTuple_GET_SIZE(spec);
    if (code <= V_ASK || code >= V_COUNT || (PyObject *)Py_TYPE(rule) != kind_class[code]
        || _PyType_Lookup(Py_TYPE(rule), s_denies) != kind_denies[code]) {
        PyErr_Clear();
        return -2;
    }
    if (code == V_FORBID && n == 2)
        return 1;
    if (code == V_VERIFIED && n == 2)
        return PyObject_Not(SLOT(req, fact_at[F_VERIFIED]));
    if (code == V_CONSENT && n == 3) {
        PyObject *needed = PyTuple_GET_ITEM(spec, 2);
        int has = PySequence_Contains(SLOT(req, fact_at[F_CONSENTS]),
                                      needed == Py_None ? SLOT(req, fact_at[F_ACTION]) : needed);
        return has < 0 ? -1 : !has;
    }
    if (code == V_CONTENT_AGE && n == 2) {
        PyObject *min_age = SLOT(req, fact_at[F_MIN_AGE]);
        return min_age == Py_None ? 0
               : age == Py_None ? 1 : PyObject_RichCompareBool(min_age, age, Py_GT);
    }
    if (code == V_MATCH && n == 3)
        return matches(PyTuple_GET_ITEM(spec, 2), req);
    if (code == V_CAP && n == 4 && PyLong_CheckExact(PyTuple_GET_ITEM(spec, 2))
        && PyLong_AsLong(PyTuple_GET_ITEM(spec, 2)) == 0) /* the amount alone */
        return over_cap(PyTuple_GET_ITEM(spec, 2), PyTuple_GET_ITEM(spec, 3), NULL, req);
    return -2; /* a window, a budget, a day's or month's cap: not asked here */
}

/* `any(r.denies(m, req) for r in schedule.timeless)` at `age`: True, False, or None where a
 * rule must be asked with a moment (the Python walk's `_timeless` then answers). */
static PyObject *verdicts_timeless(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || schedule_type == NULL || Py_TYPE(args[0]) != schedule_type
        || Py_TYPE(args[2]) != facts_type)
        Py_RETURN_NONE;
    PyObject *entries = SLOT(args[0], schedule_at[S_ENTRIES]);
    PyObject *specs = SLOT(args[0], schedule_at[S_VERDICTS]);
    if (!PyTuple_CheckExact(entries) || !PyTuple_CheckExact(specs)
        || PyTuple_GET_SIZE(entries) != PyTuple_GET_SIZE(specs))
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(specs); i++) {
        PyObject *spec = PyTuple_GET_ITEM(specs, i), *entry = PyTuple_GET_ITEM(entries, i);
        if (!PyTuple_CheckExact(spec) || PyTuple_GET_SIZE(spec) < 2 || !PyTuple_CheckExact(entry)
            || PyTuple_GET_SIZE(entry) != 4)
            Py_RETURN_NONE;
        if (PyTuple_GET_ITEM(spec, 1) != Py_True)
            continue; /* not timeless: not among schedule.timeless */
        int denies = judge_timeless(spec, PyTuple_GET_ITEM(entry, 0), args[1], args[2]);
        if (denies == 1)
            Py_RETURN_TRUE;
        if (denies != 0) {
            PyErr_Clear();
            Py_RETURN_NONE;
        }
    }
    Py_RETURN_FALSE;
}

/* The schedule's entries that deny at ``m``, and whether a timeless one is among them:
 * `[e for e in schedule.entries if e[0].denies(m, req)]`. A new list, NULL on error. */
static PyObject *denials_at(PyObject *schedule, PyObject *m, PyObject *req, int *stands)
{
    PyObject *entries = SLOT(schedule, schedule_at[S_ENTRIES]);
    PyObject *specs = SLOT(schedule, schedule_at[S_VERDICTS]);
    if (!PyTuple_CheckExact(entries) || !PyTuple_CheckExact(specs)
        || PyTuple_GET_SIZE(entries) != PyTuple_GET_SIZE(specs)) {
        PyErr_SetString(PyExc_TypeError, "verdict: a schedule without its verdicts");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    *stands = 0;
    for (Py_ssize_t i = 0; out != NULL && i < PyTuple_GET_SIZE(entries); i++) {
        PyObject *entry = PyTuple_GET_ITEM(entries, i), *spec = PyTuple_GET_ITEM(specs, i);
        if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 4
            || !PyTuple_CheckExact(spec) || PyTuple_GET_SIZE(spec) < 2) {
            PyErr_SetString(PyExc_TypeError, "verdict: an entry of an unexpected shape");
            Py_CLEAR(out);
            break;
        }
        int denies = judge(spec, PyTuple_GET_ITEM(entry, 0), m, req);
        if (denies < 0 || (denies && PyList_Append(out, entry) < 0)) {
            Py_CLEAR(out);
            break;
        }
        if (denies && PyTuple_GET_ITEM(spec, 1) == Py_True)
            *stands = 1;
    }
    return out;
}

/* Whether an obligation may be due (1: `decision.obligations_due` words them), 0: none is. */
static int any_due(PyObject *schedule, PyObject *m, PyObject *remaining)
{
    PyObject *dues = SLOT(schedule, schedule_at[S_DUES]);
    if (!PyTuple_CheckExact(dues))
        return 1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(dues); i++) {
        PyObject *due = PyTuple_GET_ITEM(dues, i);
        if (!PyTuple_CheckExact(due) || PyTuple_GET_SIZE(due) != 2)
            return 1;
        long code = PyLong_AsLong(PyTuple_GET_ITEM(due, 0));
        PyObject *bound = PyTuple_GET_ITEM(due, 1);
        int may = 1;
        if (code == D_REST)
            may = PyObject_RichCompareBool(SLOT(m, moment_at[M_SESSION]), bound, Py_GT);
        else if (code == D_LOCKOUT)
            may = remaining != Py_None && PyObject_RichCompareBool(remaining, bound, Py_LE);
        if (may != 0) {
            PyErr_Clear(); /* unsure is "may be due": the Python function decides */
            return 1;
        }
    }
    return 0;
}

/* -- the decision ------------------------------------------------------------------------- */
static PyObject *call(int which, PyObject *const *args, size_t n)
{
    return PyObject_Vectorcall(given_at[which], args, n, NULL);
}

/* A model from its fields (a new dict, kept by the model) as `fastpath._model` builds it. */
static PyObject *model(int cls, PyObject *fields, int given)
{
    PyObject *args[] = {given_at[cls], fields, given_at[given]};
    PyObject *out = fields == NULL ? NULL : call(C_MODEL_BUILDER, args, 3);
    Py_XDECREF(fields);
    return out;
}

/* Walk(policy, req, m, schedule, stands): the slots its __init__ sets, set here. */
static PyObject *new_walk(PyObject *policy, PyObject *req, PyObject *m, PyObject *schedule,
                          int stands)
{
    PyObject *schedules = PyDict_New(), *timeless = PyDict_New(), *walk = NULL;
    if (schedules != NULL && timeless != NULL
        && PyDict_SetItem(schedules, SLOT(m, moment_at[M_BAND]), schedule) == 0
        && PyDict_SetItem(timeless, SLOT(m, moment_at[M_AGE]), stands ? Py_True : Py_False) == 0)
        walk = walk_type->tp_alloc(walk_type, 0);
    if (walk != NULL) {
        PyObject *amount = SLOT(req, fact_at[F_AMOUNT]);
        PyObject *values[W_COUNT] = {
            [W_AGE] = SLOT(m, moment_at[M_AGE]), [W_AGE_DAY] = SLOT(m, moment_at[M_DATE]),
            [W_AMOUNT] = amount == Py_None ? given_at[C_ZERO] : amount,
            [W_AT_TS] = SLOT(m, moment_at[M_TS]), [W_POLICY] = policy, [W_REQ] = req,
            [W_SCHEDULES] = schedules, [W_START] = SLOT(m, moment_at[M_DATE]),
            [W_TIMELESS] = timeless};
        for (int i = 0; i < W_COUNT; i++)
            SLOT(walk, walk_at[i]) = Py_NewRef(values[i]);
    }
    Py_XDECREF(schedules);
    Py_XDECREF(timeless);
    return walk;
}

/* `fastpath._remedies`: each denying rule's (shared, without repeats), then waiting. */
static PyObject *remedies_of(PyObject *denials, PyObject *next_at)
{
    PyObject *seen = PyList_New(0), *out = PyList_New(0);
    for (Py_ssize_t i = 0; seen != NULL && out != NULL && i < PyList_GET_SIZE(denials); i++) {
        PyObject *entry = PyList_GET_ITEM(denials, i);
        PyObject *remedy = PyTuple_GET_ITEM(entry, 2), *shared = PyTuple_GET_ITEM(entry, 3);
        if (remedy == Py_None || shared == Py_None)
            continue;
        int has = PySequence_Contains(seen, remedy);
        if (has < 0 || (!has && (PyList_Append(seen, remedy) < 0 || PyList_Append(out, shared) < 0)))
            Py_CLEAR(out);
    }
    Py_XDECREF(seen);
    if (out != NULL && next_at != Py_None) {
        PyObject *fields = PyDict_Copy(given_at[C_WAIT]);
        if (fields != NULL && PyDict_SetItem(fields, s_until, next_at) < 0)
            Py_CLEAR(fields);
        PyObject *wait = model(C_REMEDY, fields, C_WAIT_SET);
        if (wait == NULL || PyList_Append(out, wait) < 0)
            Py_CLEAR(out);
        Py_XDECREF(wait);
    }
    return out;
}

/* The Decision from its fields in the model's order (all of them, or NULL: an error). */
static PyObject *decision_of(PyObject *const *values)
{
    for (Py_ssize_t i = 0; i < DECISION_FIELD_COUNT; i++)
        if (values[i] == NULL)
            return NULL;
    PyObject *fields = ym_filled(decision_template, decision_keys, values, DECISION_FIELD_COUNT);
    return model(C_DECISION, fields, C_DECISION_SET);
}

/* The walk from `m`: `Walk.first` (compiled) towards an allow (a denial) or, in use, a
 * denial (an allow). A new reference: an int or None; NULL on error (GiveUp included). */
static PyObject *walk_from(PyObject *const *prepared, PyObject *policy, PyObject *req, int stands,
                           int denied)
{
    PyObject *day = prepared[0], *schedule = prepared[1], *m = prepared[2];
    PyObject *walk = new_walk(policy, req, m, schedule, stands);
    if (walk == NULL)
        return NULL;
    PyObject *args[] = {walk, day, SLOT(m, moment_at[M_TS]), schedule,
                        stands ? Py_True : Py_False, denied ? Py_True : Py_False,
                        given_at[denied ? C_NEXT_ALLOWED_HORIZON : C_REMAINING_HORIZON]};
    PyObject *found = call(C_FIRST, args, 7);
    Py_DECREF(walk);
    return found;
}

/* `fastpath._denial`: the rules that deny, their remedies, when waiting ends. */
static PyObject *denial(PyObject *const *prepared, PyObject *const *call_args, PyObject *denials,
                        PyObject *found, PyObject *facts)
{
    PyObject *schedule = prepared[1], *m = prepared[2];
    PyObject *next_at = NULL, *zone = NULL, *reasons = PyList_New(PyList_GET_SIZE(denials));
    for (Py_ssize_t i = 0; reasons != NULL && i < PyList_GET_SIZE(denials); i++)
        PyList_SET_ITEM(reasons, i, Py_NewRef(PyTuple_GET_ITEM(PyList_GET_ITEM(denials, i), 1)));
    if (found == Py_None)
        next_at = Py_NewRef(Py_None);
    else if ((zone = PyObject_GetAttr(call_args[0], s_zone)) != NULL) {
        PyObject *args[] = {found, zone};
        next_at = PyObject_Vectorcall(fromtimestamp, args, 2, NULL);
    }
    PyObject *remedies = next_at == NULL ? NULL : remedies_of(denials, next_at);
    PyObject *obligations = PyList_New(0);
    PyObject *values[DECISION_FIELD_COUNT] = {
        call_args[3], s_deny, Py_False, SLOT(m, moment_at[M_BAND]), reasons, obligations,
        remedies, Py_None, Py_None, next_at, facts, SLOT(schedule, schedule_at[S_REF]),
        Py_None, Py_False};
    PyObject *out = decision_of(values);
    Py_XDECREF(zone);
    Py_XDECREF(next_at);
    Py_XDECREF(reasons);
    Py_XDECREF(remedies);
    Py_XDECREF(obligations);
    return out;
}

/* `fastpath._allow`: how long the allow holds, and the obligations due. */
static PyObject *allow(PyObject *const *prepared, PyObject *const *call_args, PyObject *found,
                       PyObject *facts)
{
    PyObject *schedule = prepared[1], *m = prepared[2], *at = call_args[2];
    PyObject *remaining = NULL, *valid_until = NULL, *obligations = NULL;
    if (found == Py_None) {
        remaining = Py_NewRef(Py_None);
        valid_until = Py_NewRef(Py_None);
    }
    else if ((remaining = PyNumber_Subtract(found, SLOT(m, moment_at[M_TS]))) != NULL) {
        long seconds = PyLong_AsLong(remaining); /* within the horizon: a few days */
        PyObject *delta = PyErr_Occurred() || seconds < 0 || seconds > INT_MAX
                              ? NULL : PyDelta_FromDSU(0, (int)seconds, 0);
        valid_until = delta == NULL ? NULL : PyNumber_Add(at, delta);
        Py_XDECREF(delta);
    }
    PyObject *due = SLOT(schedule, schedule_at[S_OBLIGATIONS]);
    int some = valid_until == NULL ? -1 : PyObject_IsTrue(due);
    if (some == 0 || (some == 1 && !any_due(schedule, m, remaining)))
        obligations = PyList_New(0);
    else if (some == 1) {
        PyObject *args[] = {due, m, at, remaining};
        obligations = call(C_OBLIGATIONS_DUE, args, 4);
    }
    PyObject *none = PyList_New(0), *no_remedies = PyList_New(0);
    PyObject *values[DECISION_FIELD_COUNT] = {
        call_args[3], s_allow, Py_True, SLOT(m, moment_at[M_BAND]), none, obligations,
        no_remedies, remaining, valid_until, Py_None, facts,
        SLOT(schedule, schedule_at[S_REF]), Py_None, Py_False};
    PyObject *out = decision_of(values);
    Py_XDECREF(remaining);
    Py_XDECREF(valid_until);
    Py_XDECREF(obligations);
    Py_XDECREF(none);
    Py_XDECREF(no_remedies);
    return out;
}

/* `fastpath.decide_python` on the prepared day, schedule and moment: NULL on error. */
static PyObject *decided(PyObject *const *prepared, PyObject *const *call_args)
{
    PyObject *policy = call_args[0], *req = call_args[1], *m = prepared[2];
    int stands = 0;
    PyObject *denials = denials_at(prepared[1], m, req, &stands), *found = NULL, *facts = NULL;
    if (denials == NULL)
        return NULL;
    int denied = PyList_GET_SIZE(denials) > 0;
    if (stands && SLOT(req, fact_at[F_BIRTHDATE]) == Py_None)
        found = Py_NewRef(Py_None); /* only a birthday could lift it, and none is known */
    else
        found = walk_from(prepared, policy, req, stands, denied);
    if (found != NULL) {
        PyObject *args[] = {policy, req, prepared[1], prepared[0], m, call_args[2]};
        facts = call(C_FACTS, args, 6);
    }
    PyObject *out = facts == NULL ? NULL
                    : denied ? denial(prepared, call_args, denials, found, facts)
                             : allow(prepared, call_args, found, facts);
    Py_DECREF(denials);
    Py_XDECREF(found);
    Py_XDECREF(facts);
    return out;
}

/* The decision, or NULL: declined (no error set) or failed (an error set). */
static PyObject *decision_for(PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || given_at[C_PREPARE] == NULL || Py_TYPE(args[1]) != facts_type)
        return NULL;
    int grant = PyObject_IsTrue(SLOT(args[1], fact_at[F_EXTRA]));
    if (grant != 0)
        return NULL; /* a guardian's grant extends a rule for one day: Timeline does that */
    PyObject *prepared = call(C_PREPARE, args, 3), *out = NULL;
    if (prepared != NULL && PyTuple_CheckExact(prepared) && PyTuple_GET_SIZE(prepared) == 3
        && Py_TYPE(PyTuple_GET_ITEM(prepared, 1)) == schedule_type
        && Py_TYPE(PyTuple_GET_ITEM(prepared, 2)) == moment_type)
        out = decided(&PyTuple_GET_ITEM(prepared, 0), args);
    Py_XDECREF(prepared);
    return out;
}

static PyObject *verdicts_verdict(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    PyObject *out = decision_for(args, nargs);
    if (out == NULL) {
        PyErr_Clear(); /* declined: the Python twin's turn */
        Py_RETURN_NONE;
    }
    return out;
}

static PyObject *verdicts_decide(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    PyObject *out = decision_for(args, nargs);
    if (out != NULL || given_at[C_FALLBACK] == NULL)
        return out;
    PyErr_Clear(); /* whatever failed, the Python twin meets it and answers (or raises) */
    return call(C_FALLBACK, args, (size_t)nargs);
}

/* `judge` for one rule, for tests: (spec, rule, m, req) -> bool. */
static PyObject *verdicts_judge(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || moment_type == NULL || Py_TYPE(args[2]) != moment_type
        || Py_TYPE(args[3]) != facts_type || !PyTuple_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "judge(spec, rule, m, req)");
        return NULL;
    }
    int denies = judge(args[0], args[1], args[2], args[3]);
    return denies < 0 ? NULL : PyBool_FromLong(denies);
}


/* -- configuration ------------------------------------------------------------------------ */
static int offsets(PyObject *type, const char *const *names, Py_ssize_t *at, int n,
                   Py_ssize_t slots)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "configure: moment, facts, schedule, walk are types");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if ((at[i] = ym_slot_offset((PyTypeObject *)type, names[i])) < 0)
            return -1;
    if (slots < 0)
        return 0;
    PyObject *all = PyObject_GetAttrString(type, "__slots__");
    Py_ssize_t count = all == NULL ? -1 : PyObject_Length(all);
    Py_XDECREF(all);
    if (count != slots) { /* a slot the compiled Walk would leave unset */
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "configure: %s's slots are not the ones set here",
                     ((PyTypeObject *)type)->tp_name);
        return -1;
    }
    return 0;
}

/* `names` is a tuple of exactly the strings `expected`, in order (0), or not (-1, TypeError). */
static int same_names(PyObject *names, const char *const *expected, Py_ssize_t n,
                      const char *what)
{
    int ok = names != NULL && PyTuple_Check(names) && PyTuple_GET_SIZE(names) == n;
    for (Py_ssize_t i = 0; ok && i < n; i++)
        ok = PyUnicode_Check(PyTuple_GET_ITEM(names, i))
             && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(names, i), expected[i]) == 0;
    if (!ok)
        PyErr_Format(PyExc_TypeError, "configure: %s are not the ones this stage knows", what);
    return ok ? 0 : -1;
}

/* The codes schedule.py gives its specs are this file's (0, 1, 2, ...). */
static int same_codes(PyObject *codes, int n, const char *what)
{
    int ok = codes != NULL && PyTuple_Check(codes) && PyTuple_GET_SIZE(codes) == n;
    for (int i = 0; ok && i < n; i++)
        ok = PyLong_CheckExact(PyTuple_GET_ITEM(codes, i))
             && PyLong_AsLong(PyTuple_GET_ITEM(codes, i)) == i;
    if (!ok)
        PyErr_Format(PyExc_TypeError, "configure: %s are not numbered as this stage numbers them",
                     what);
    return ok ? 0 : -1;
}

/* The class each verdict code judges (None for ASK), and its `denies` now (borrowed). */
static int kinds_of(PyObject *kinds, PyObject **classes, PyObject **denies)
{
    int ok = kinds != NULL && PyTuple_Check(kinds) && PyTuple_GET_SIZE(kinds) == V_COUNT;
    for (int i = V_ASK + 1; ok && i < V_COUNT; i++) {
        classes[i] = PyTuple_GET_ITEM(kinds, i);
        ok = PyType_Check(classes[i])
             && (denies[i] = _PyType_Lookup((PyTypeObject *)classes[i], s_denies)) != NULL;
    }
    if (!ok)
        PyErr_SetString(PyExc_TypeError, "configure: verdict_kinds, a rule class for each code");
    return ok ? 0 : -1;
}

static PyObject *verdicts_configure(PyObject *module, PyObject *given)
{
    (void)module;
    if (!PyDict_Check(given)) {
        PyErr_SetString(PyExc_TypeError, "configure(dict)");
        return NULL;
    }
    PyObject *taken[C_COUNT];
    for (int i = 0; i < C_COUNT; i++)
        if ((taken[i] = PyDict_GetItemString(given, GIVEN[i])) == NULL) {
            PyErr_Format(PyExc_TypeError, "configure: `%s` is missing", GIVEN[i]);
            return NULL;
        }
    /* Found into copies, kept only when all are found: a refused configuration changes
     * nothing (a module in use stays as it was). */
    Py_ssize_t moments[M_COUNT], facts[F_COUNT], schedules[S_COUNT], walks[W_COUNT];
    PyObject *moment = PyDict_GetItemString(given, "moment");
    PyObject *facts_cls = PyDict_GetItemString(given, "facts");
    PyObject *schedule = PyDict_GetItemString(given, "schedule");
    PyObject *walk = PyDict_GetItemString(given, "walk");
    if (moment == NULL || facts_cls == NULL || schedule == NULL || walk == NULL) {
        PyErr_SetString(PyExc_TypeError, "configure: moment, facts, schedule, walk");
        return NULL;
    }
    if (offsets(moment, MOMENT_SLOTS, moments, M_COUNT, -1) < 0
        || offsets(facts_cls, FACT_SLOTS, facts, F_COUNT, -1) < 0
        || offsets(schedule, SCHEDULE_SLOTS, schedules, S_COUNT, -1) < 0
        || offsets(walk, WALK_SLOTS, walks, W_COUNT, W_COUNT) < 0
        || same_names(PyDict_GetItemString(given, "decision_fields"), DECISION_FIELDS,
                      DECISION_FIELD_COUNT, "Decision's fields") < 0
        || same_codes(PyDict_GetItemString(given, "verdict_codes"), V_COUNT, "verdict codes") < 0
        || same_codes(PyDict_GetItemString(given, "due_codes"), D_COUNT, "due codes") < 0)
        return NULL;
    PyObject *classes[V_COUNT] = {NULL}, *denies[V_COUNT] = {NULL};
    if (kinds_of(PyDict_GetItemString(given, "verdict_kinds"), classes, denies) < 0)
        return NULL;
    if (!PyDict_CheckExact(taken[C_WAIT]) || !PyExceptionClass_Check(taken[C_GIVE_UP])) {
        PyErr_SetString(PyExc_TypeError, "configure: wait (a dict), give_up (an exception)");
        return NULL;
    }
    PyObject *fields = PyDict_GetItemString(given, "decision_fields");
    PyObject *template = ym_template(&PyTuple_GET_ITEM(fields, 0), DECISION_FIELD_COUNT);
    if (template == NULL)
        return NULL;
    Py_XSETREF(decision_template, template);
    for (Py_ssize_t i = 0; i < DECISION_FIELD_COUNT; i++)
        Py_XSETREF(decision_keys[i], Py_NewRef(PyTuple_GET_ITEM(fields, i)));
    for (int i = 0; i < C_COUNT; i++)
        Py_XSETREF(given_at[i], Py_NewRef(taken[i]));
    for (int i = 0; i < V_COUNT; i++) {
        Py_XSETREF(kind_class[i], Py_XNewRef(classes[i]));
        Py_XSETREF(kind_denies[i], Py_XNewRef(denies[i]));
    }
    memcpy(moment_at, moments, sizeof moments);
    memcpy(fact_at, facts, sizeof facts);
    memcpy(schedule_at, schedules, sizeof schedules);
    memcpy(walk_at, walks, sizeof walks);
    Py_XSETREF(moment_type, (PyTypeObject *)Py_NewRef(moment));
    Py_XSETREF(facts_type, (PyTypeObject *)Py_NewRef(facts_cls));
    Py_XSETREF(schedule_type, (PyTypeObject *)Py_NewRef(schedule));
    Py_XSETREF(walk_type, (PyTypeObject *)Py_NewRef(walk));
    Py_RETURN_NONE;
}

static PyMethodDef verdicts_methods[] = {
    {"decide", (PyCFunction)(void (*)(void))verdicts_decide, METH_FASTCALL,
     "decide(policy, req, at, decision_id) -> Decision | None (the Python twin's where "
     "declined)"},
    {"verdict", (PyCFunction)(void (*)(void))verdicts_verdict, METH_FASTCALL,
     "verdict(policy, req, at, decision_id) -> Decision | None (None: declined)"},
    {"timeless", (PyCFunction)(void (*)(void))verdicts_timeless, METH_FASTCALL,
     "timeless(schedule, age, req) -> bool | None: whether a timeless rule denies at age"},
    {"judge", (PyCFunction)(void (*)(void))verdicts_judge, METH_FASTCALL,
     "judge(spec, rule, m, req) -> bool: whether the rule denies at m"},
    {"configure", verdicts_configure, METH_O, "configure(dict): the types and functions it uses"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef verdicts_module = {
    PyModuleDef_HEAD_INIT, "youthmode._verdicts",
    "The fast path's verdicts and decision, compiled (youthmode/compiled.py loads it).", -1,
    verdicts_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__verdicts(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    static const YmName names[] = {
        {&s_denies, "denies"}, {&s_zone, "zone"}, {&s_allow, "allow"}, {&s_deny, "deny"},
        {&s_until, "until"}, {&s_makeup, "makeup_workday"}, {&s_workday, "workday"}};
    if (ym_intern(names, sizeof names / sizeof names[0]) < 0)
        return NULL;
    fromtimestamp = PyObject_GetAttrString((PyObject *)PyDateTimeAPI->DateTimeType,
                                           "fromtimestamp");
    return fromtimestamp == NULL ? NULL : ym_module(&verdicts_module);
}
