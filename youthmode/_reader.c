/* The plain route of request.py (`read_plain`), compiled: the first stage of a compiled
 * engine (docs/performance.md, "A compiled request reader").
 *
 * `read(data, policies, default_policy, now)` returns what `request._read` returns for a
 * request it can take, `None` for one it leaves to the Python routes. It is never the judge of
 * what is valid: it takes only the shapes it recognises outright and declines the rest (an
 * amount given as a number, an odd date, an exception from any call), so a declined request
 * costs one more call and nothing else. tests/test_reader_compiled.py holds every answer it
 * gives to the Python plain route's, field by field, for generated requests.
 *
 * The Python objects it needs (the facts' type, constants, helpers) come from `configure`,
 * called once by youthmode/compiled.py, so no limit or name is written twice.
 */
#include "_compiled.h"
#include <datetime.h>

/* -- what `configure` hands over ------------------------------------------------------- */
#define MAX_FIELDS 40
static PyTypeObject *facts_type;               /* RequestFacts (a slots dataclass) */
static Py_ssize_t facts_offsets[MAX_FIELDS];   /* its slots, in field order */
static Py_ssize_t facts_count;
static PyObject *decimal_type, *fromisoformat, *at_in_range, *zone_of, *curfews_of;
static PyObject *not_plain, *zero, *nothing, *recipients, *request_keys, *resource_fields;
static PyObject *earliest_birthdate, *zone_span;
static long max_age, max_id_length, max_seconds, day_seconds, min_daily_limit;
static long fast_amount_digits, amount_places, sure_years_low, sure_years_high;
static PyObject *s_policy, *s_action, *s_at, *s_usage, *s_resource, *s_subject, *s_guardian;
static PyObject *s_zone, *s_actions, *s_currency, *s_currency_places, *s_requires_amount;
static PyObject *s_metered, *s_astimezone, *s_amount;
static PyObject *s_category, *s_app, *s_min_age, *s_recipient;

/* A declined request: the Python routes take it. Kept apart from errors, which are
 * cleared and also declined (a failed call never escapes as the reader's own error). */
#define DECLINE ((PyObject *)&decline_marker)
static PyObject decline_marker;

static int is_exact_int_in(PyObject *value, long low, long high, long *out)
{
    if (!PyLong_CheckExact(value))
        return 0;
    int overflow = 0;
    long n = PyLong_AsLongAndOverflow(value, &overflow);
    if (overflow || (n == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    if (n < low || n > high)
        return 0;
    *out = n;
    return 1;
}

/* `_count`: None, or an exact int within [low, high]; 0 for anything else. */
static int read_count(PyObject *value, long low, long high)
{
    long ignored;
    return value == Py_None || is_exact_int_in(value, low, high, &ignored);
}

static int ascii_digits(const char *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }
static int four(const char *s) { return two(s) * 100 + two(s + 2); }

/* The ASCII text of a str, or NULL (with no error set) for any other value or text. */
static const char *ascii_of(PyObject *value, Py_ssize_t *size)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value))
        return NULL;
    *size = PyUnicode_GET_LENGTH(value);
    return (const char *)PyUnicode_DATA(value);
}

/* `_money`'s usual shape only: ASCII digits, at most `places` decimals. Anything else (an
 * int, a Decimal, an exponent, a sign) is declined: `parse_amount` words those. */
static PyObject *read_money(PyObject *value, long places)
{
    if (value == Py_None)
        Py_RETURN_NONE;
    Py_ssize_t n;
    const char *s = ascii_of(value, &n);
    if (s == NULL)
        return DECLINE;
    const char *dot = memchr(s, '.', (size_t)n);
    Py_ssize_t whole = dot ? dot - s : n;
    Py_ssize_t fraction = dot ? n - whole - 1 : 0;
    if (whole == 0 || whole > fast_amount_digits || !ascii_digits(s, whole))
        return DECLINE;
    if (dot && (fraction == 0 || !ascii_digits(dot + 1, fraction)))
        return DECLINE;
    if (fraction > places || fraction > amount_places)
        return DECLINE;
    return PyObject_CallOneArg(decimal_type, value);
}

/* `_money(value) or ZERO`: null and every zero ("0.00" too) are the shared ZERO. */
static PyObject *read_money_or_zero(PyObject *value, long places)
{
    PyObject *money = read_money(value, places);
    if (money == NULL || money == DECLINE)
        return money;
    int truth = money == Py_None ? 0 : PyObject_IsTrue(money);
    if (truth == 1)
        return money;
    Py_DECREF(money);
    return truth < 0 ? NULL : Py_NewRef(zero);
}

/* `_names`: a list of str as a frozenset (the shared empty one for []). */
static PyObject *read_names(PyObject *value)
{
    if (!ym_list_of_str(value))
        return DECLINE;
    if (PyList_GET_SIZE(value) == 0)
        return Py_NewRef(nothing);
    return PyFrozenSet_New(value);
}

/* Whether s[0..n) has exactly request.RFC3339's shape in ASCII digits: a date and time, a
 * fraction of 1 to 6 digits or none, then `Z` or `+HH:MM`/`-HH:MM`, which starts at *zone.
 * Shape only: the values' ranges are the caller's. */
static int rfc3339_shape(const char *s, Py_ssize_t n, Py_ssize_t *zone)
{
    if (n < 20 || !ascii_digits(s, 4) || s[4] != '-' || !ascii_digits(s + 5, 2) || s[7] != '-'
        || !ascii_digits(s + 8, 2) || s[10] != 'T' || !ascii_digits(s + 11, 2) || s[13] != ':'
        || !ascii_digits(s + 14, 2) || s[16] != ':' || !ascii_digits(s + 17, 2))
        return 0;
    Py_ssize_t i = 19;
    if (s[i] == '.') {
        Py_ssize_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start || i - start > 6)
            return 0;
    }
    *zone = i;
    if (i == n - 1)
        return s[i] == 'Z';
    return i == n - 6 && (s[i] == '+' || s[i] == '-') && ascii_digits(s + i + 1, 2)
           && s[i + 3] == ':' && ascii_digits(s + i + 4, 2);
}

/* `_instant`: RFC 3339 of exactly request.RFC3339's shape (ASCII digits), parsed by
 * `datetime.fromisoformat` as the Python route does; None for null. */
static PyObject *read_instant(PyObject *value)
{
    if (value == Py_None)
        Py_RETURN_NONE;
    Py_ssize_t n, zone;
    const char *s = ascii_of(value, &n);
    if (s == NULL || !rfc3339_shape(s, n, &zone))
        return DECLINE;
    PyObject *found = PyObject_CallOneArg(fromisoformat, value);
    if (found == NULL)
        return NULL;
    int year = PyDateTime_GET_YEAR(found);
    if (year < sure_years_low || year >= sure_years_high) {
        PyObject *ok = PyObject_CallOneArg(at_in_range, found);
        int in_range = ok == NULL ? -1 : PyObject_IsTrue(ok);
        Py_XDECREF(ok);
        if (in_range != 1) {
            Py_DECREF(found);
            return in_range < 0 ? NULL : DECLINE;
        }
    }
    return found;
}

/* `_birthdate`: an ISO date of exactly YYYY-MM-DD (ASCII), from EARLIEST_BIRTHDATE on. */
static PyObject *read_birthdate(PyObject *value)
{
    if (value == Py_None)
        Py_RETURN_NONE;
    Py_ssize_t n;
    const char *s = ascii_of(value, &n);
    if (s == NULL || n != 10 || !ascii_digits(s, 4) || s[4] != '-' || !ascii_digits(s + 5, 2)
        || s[7] != '-' || !ascii_digits(s + 8, 2))
        return DECLINE;
    PyObject *found = PyDate_FromDate(four(s), two(s + 5), two(s + 8));
    if (found == NULL)
        return NULL; /* a day that does not exist: ValueError, declined by the caller */
    int earlier = PyObject_RichCompareBool(found, earliest_birthdate, Py_LT);
    if (earlier != 0) {
        Py_DECREF(found);
        return earlier < 0 ? NULL : DECLINE;
    }
    return found;
}

/* Everything read so far, owned: released at once whatever the outcome. */
typedef struct {
    PyObject *at, *local_day, *fields, *amount, *birthdate, *age, *zone;
    PyObject *today, *session, *day_spent, *month_spent;
    PyObject *consents, *exemptions, *exempt_apps, *daily_limit, *extra, *curfews;
    int verified;
} Parts;

static void release(Parts *p)
{
    PyObject **all[] = {&p->at, &p->local_day, &p->fields, &p->amount, &p->birthdate,
                        &p->age, &p->zone, &p->today, &p->session, &p->day_spent,
                        &p->month_spent, &p->consents, &p->exemptions, &p->exempt_apps,
                        &p->daily_limit, &p->extra, &p->curfews};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        Py_CLEAR(*all[i]);
}

/* A value read into `*slot`: 1 when read, 0 declined, -1 failed (error set). */
static int keep(PyObject **slot, PyObject *value)
{
    if (value == NULL)
        return -1;
    if (value == DECLINE)
        return 0;
    Py_XSETREF(*slot, value);
    return 1;
}

/* Calls a Python helper of request.py that raises NotPlain for what it does not take. */
static PyObject *call_helper(PyObject *helper, PyObject *const *args, size_t n)
{
    PyObject *out = PyObject_Vectorcall(helper, args, n, NULL);
    if (out == NULL && PyErr_ExceptionMatches(not_plain)) {
        PyErr_Clear();
        return DECLINE;
    }
    return out;
}

static int read_subject(PyObject *subject, Parts *p)
{
    if (!PyDict_CheckExact(subject))
        return 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int r = 1;
    while (r == 1 && PyDict_Next(subject, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key))
            return 0;
        if (PyUnicode_CompareWithASCIIString(key, "age") == 0) {
            r = read_count(value, 0, max_age) ? keep(&p->age, Py_NewRef(value)) : 0;
        }
        else if (PyUnicode_CompareWithASCIIString(key, "verified") == 0) {
            if (!PyBool_Check(value))
                return 0;
            p->verified = value == Py_True;
        }
        else if (PyUnicode_CompareWithASCIIString(key, "birthdate") == 0) {
            r = keep(&p->birthdate, read_birthdate(value));
            if (r == 1 && p->birthdate != Py_None) {
                int later = PyObject_RichCompareBool(p->birthdate, p->local_day, Py_GT);
                r = later < 0 ? -1 : !later; /* `birthdate_in_future`: the model's to word */
            }
        }
        else if (PyUnicode_CompareWithASCIIString(key, "id") == 0) {
            if (value != Py_None
                && (!PyUnicode_CheckExact(value) || PyUnicode_GET_LENGTH(value) > max_id_length))
                return 0;
        }
        else if (PyUnicode_CompareWithASCIIString(key, "timezone") == 0) {
            if (value != Py_None)
                r = keep(&p->zone, call_helper(zone_of, &value, 1));
        }
        else
            return 0;
    }
    return r;
}

static int read_usage(PyObject *usage, long places, Parts *p)
{
    if (!PyDict_CheckExact(usage))
        return 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int r = 1;
    while (r == 1 && PyDict_Next(usage, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key))
            return 0;
        int seconds = PyUnicode_CompareWithASCIIString(key, "today_seconds") == 0 ? 1
                      : PyUnicode_CompareWithASCIIString(key, "session_seconds") == 0 ? 2
                                                                                       : 0;
        if (seconds) {
            if (!read_count(value, 0, max_seconds))
                return 0;
            PyObject *n = value == Py_None ? PyLong_FromLong(0) : Py_NewRef(value);
            r = keep(seconds == 1 ? &p->today : &p->session, n);
            continue;
        }
        PyObject **slot = PyUnicode_CompareWithASCIIString(key, "month_spent") == 0 ? &p->month_spent
                          : PyUnicode_CompareWithASCIIString(key, "day_spent") == 0 ? &p->day_spent
                                                                                    : NULL;
        if (slot == NULL)
            return 0;
        r = keep(slot, read_money_or_zero(value, places));
    }
    return r;
}

/* The policy's attributes read here, once per policy (`ym_policy_table`): only for the
 * configured policy type; another is declined. */
enum { R_ACTIONS, R_ZONE, R_PLACES, R_CURRENCY, R_COUNT };
static PyObject *policy_names[R_COUNT];
static PyTypeObject *policy_type;
static YmTables policy_tables;

static int read_resource(PyObject *resource, PyObject *table, long places, Parts *p)
{
    if (resource == Py_None) {
        p->fields = PyDict_New();
        return p->fields == NULL ? -1 : 1;
    }
    if (!PyDict_CheckExact(resource))
        return 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(resource, &pos, &key, &value))
        if (!PyUnicode_CheckExact(key))
            return 0;
    PyObject *fields = PyDict_Copy(resource_fields); /* dict.fromkeys(RESOURCE_FIELDS) */
    if (keep(&p->fields, fields) != 1 || PyDict_Update(fields, resource) < 0)
        return -1;
    int r = keep(&p->amount, read_money(PyDict_GetItemWithError(fields, s_amount), places));
    if (r != 1 || PyDict_SetItem(fields, s_amount, p->amount) < 0)
        return r == 1 ? -1 : r;
    PyObject *currency = PyDict_GetItemWithError(fields, s_currency);
    if (currency != Py_None) {
        PyObject *expected = PyTuple_GET_ITEM(table, R_CURRENCY);
        int differs = PyObject_RichCompareBool(currency, expected, Py_NE);
        if (differs != 0)
            return differs < 0 ? -1 : 0; /* `unsupported_currency`, or not a code at all */
    }
    PyObject *recipient = PyDict_GetItemWithError(fields, s_recipient);
    if (recipient != Py_None) {
        int known = PyUnicode_CheckExact(recipient) ? PySet_Contains(recipients, recipient) : 0;
        if (known != 1)
            return known;
    }
    PyObject *app = PyDict_GetItemWithError(fields, s_app);
    PyObject *category = PyDict_GetItemWithError(fields, s_category);
    if ((app != Py_None && !PyUnicode_CheckExact(app))
        || (category != Py_None && !PyUnicode_CheckExact(category)))
        return 0;
    return read_count(PyDict_GetItemWithError(fields, s_min_age), 0, max_age);
}

static int read_guardian(PyObject *guardian, Parts *p)
{
    if (!PyDict_CheckExact(guardian))
        return 0;
    PyObject *key, *value, *curfew = Py_None, *more = Py_None;
    Py_ssize_t pos = 0;
    int r = 1;
    while (r == 1 && PyDict_Next(guardian, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key))
            return 0;
        if (PyUnicode_CompareWithASCIIString(key, "consents") == 0)
            r = keep(&p->consents, read_names(value));
        else if (PyUnicode_CompareWithASCIIString(key, "exemptions") == 0)
            r = keep(&p->exemptions, read_names(value));
        else if (PyUnicode_CompareWithASCIIString(key, "exempt_apps") == 0)
            r = keep(&p->exempt_apps, read_names(value));
        else if (PyUnicode_CompareWithASCIIString(key, "daily_limit_seconds") == 0)
            r = read_count(value, min_daily_limit, day_seconds)
                    ? keep(&p->daily_limit, Py_NewRef(value))
                    : 0;
        else if (PyUnicode_CompareWithASCIIString(key, "extra_seconds") == 0) {
            if (!read_count(value, 0, day_seconds))
                return 0;
            r = keep(&p->extra, value == Py_None ? PyLong_FromLong(0) : Py_NewRef(value));
        }
        else if (PyUnicode_CompareWithASCIIString(key, "curfew") == 0)
            curfew = value;
        else if (PyUnicode_CompareWithASCIIString(key, "more_curfews") == 0)
            more = value;
        else
            return 0;
    }
    if (r == 1 && (curfew != Py_None || more != Py_None)) {
        PyObject *args[] = {curfew, more};
        r = keep(&p->curfews, call_helper(curfews_of, args, 2));
    }
    return r;
}

/* -- the local instant by arithmetic ------------------------------------------------------ */
/* `astimezone` asks the zone for every request (about 3,500 instructions with the parse). A
 * zone's offset only changes at its transitions, so each zone's span of one offset around the
 * last instant asked (`zone_span`, request.py: exact, from the zone's own transitions, and
 * leaving out the repeated wall times after a backward change) makes the local wall time a
 * sum. An instant outside every known span, or a zone `zone_span` cannot vouch for, takes
 * `astimezone` as before. */
#define SPANS 8
typedef struct {
    PyObject *zone; /* strong: ZoneInfo keeps its zones for the process anyway */
    long long start, end, offset;
    int known;      /* 0: no sum in [start, end), ask `astimezone` */
} Span;
static Span spans[SPANS];
static int next_span;

static int month_days(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* The UTC second of an RFC 3339 text `datetime.fromisoformat` reads without complaint, of a
 * year every instant of which is in range: 1, or 0 for anything else (the usual route then
 * reads it, and words or declines it). Microseconds are dropped: `at` keeps whole seconds. */
static int instant_seconds(PyObject *value, long long *out)
{
    Py_ssize_t n, i;
    const char *s = ascii_of(value, &n);
    if (s == NULL || !rfc3339_shape(s, n, &i))
        return 0;
    int year = four(s), month = two(s + 5), day = two(s + 8);
    int hour = two(s + 11), minute = two(s + 14), second = two(s + 17);
    if (year < sure_years_low || year >= sure_years_high || month < 1 || month > 12 || day < 1
        || day > month_days(year, month) || hour > 23 || minute > 59 || second > 59)
        return 0;
    long offset = 0;
    if (s[i] != 'Z') {
        if (two(s + i + 1) > 23 || two(s + i + 4) > 59)
            return 0;
        offset = (s[i] == '-' ? -1 : 1) * (two(s + i + 1) * 3600L + two(s + i + 4) * 60L);
    }
    *out = ym_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
           - offset;
    return 1;
}

/* `now`'s UTC second, when it is an aware datetime of datetime.UTC itself in a sure year. */
static int now_seconds(PyObject *now, long long *out)
{
    if (!PyDateTime_CheckExact(now) || PyDateTime_DATE_GET_TZINFO(now) != PyDateTime_TimeZone_UTC)
        return 0;
    int year = PyDateTime_GET_YEAR(now);
    if (year < sure_years_low || year >= sure_years_high)
        return 0;
    *out = ym_days_from_civil(year, PyDateTime_GET_MONTH(now), PyDateTime_GET_DAY(now)) * 86400
           + PyDateTime_DATE_GET_HOUR(now) * 3600 + PyDateTime_DATE_GET_MINUTE(now) * 60
           + PyDateTime_DATE_GET_SECOND(now);
    return 1;
}

/* The span of `zone` holding `ts` into `*out`, asked of `zone_span` when no kept one holds
 * it: 1, or -1 with an error set. The helper is Python: another thread may read meanwhile,
 * and replace a kept span, so the kept ones are read and written only with no Python call
 * in between (a pointer into them is never held across one). */
static int span_of(PyObject *zone, long long ts, Span *out)
{
    for (int i = 0; i < SPANS; i++)
        if (spans[i].zone == zone && ts >= spans[i].start && ts < spans[i].end) {
            *out = spans[i];
            return 1;
        }
    PyObject *args[] = {zone, PyLong_FromLongLong(ts)};
    PyObject *got = args[1] == NULL ? NULL : PyObject_Vectorcall(zone_span, args, 2, NULL);
    Py_XDECREF(args[1]);
    long long start, end, offset = 0;
    PyObject *given_offset = Py_None;
    if (got == NULL || !PyArg_ParseTuple(got, "LLO", &start, &end, &given_offset)
        || (given_offset != Py_None && (offset = PyLong_AsLongLong(given_offset)) == -1
            && PyErr_Occurred())) {
        Py_XDECREF(got);
        return -1;
    }
    int known = given_offset != Py_None;
    Py_DECREF(got);
    if (!(start <= ts && ts < end) || offset <= -86400 || offset >= 86400) {
        PyErr_SetString(PyExc_ValueError, "zone_span: a span not around the instant");
        return -1;
    }
    Span *slot = NULL;
    for (int i = 0; i < SPANS && slot == NULL; i++)
        if (spans[i].zone == zone)
            slot = &spans[i];
    if (slot == NULL) {
        slot = &spans[next_span];
        next_span = (next_span + 1) % SPANS;
    }
    PyObject *old = slot->zone;
    *slot = (Span){Py_NewRef(zone), start, end, offset, known};
    *out = *slot;
    Py_XDECREF(old); /* last: freeing a zone may run code, and the span is whole by then */
    return 1;
}

static void forget_spans(void)
{
    for (int i = 0; i < SPANS; i++)
        Py_CLEAR(spans[i].zone);
    next_span = 0;
}

/* `at` and the local day by the sum: 1 done, 0 for `astimezone` to do it, -1 failed. */
static int local_by_sum(PyObject *given, PyObject *now, PyObject *zone, Parts *p)
{
    long long ts;
    if (!(given == Py_None ? now_seconds(now, &ts) : instant_seconds(given, &ts)))
        return 0;
    Span span;
    if (span_of(zone, ts, &span) < 0)
        return -1;
    if (!span.known)
        return 0;
    long long local = ts + span.offset;
    long long days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    long long second = local - days * 86400;
    int year, month, day;
    ym_civil_from_days(days, &year, &month, &day);
    p->at = PyDateTimeAPI->DateTime_FromDateAndTimeAndFold(
        year, month, day, (int)(second / 3600), (int)(second / 60 % 60), (int)(second % 60), 0,
        zone, 0, PyDateTimeAPI->DateTimeType);
    if (p->at == NULL)
        return -1;
    p->local_day = PyDate_FromDate(year, month, day);
    return p->local_day == NULL ? -1 : 1;
}

/* The request's local instant: `at` (or `now`) in the policy's zone, to the second. */
static int read_at(PyObject *given, PyObject *now, PyObject *zone, Parts *p)
{
    int summed = local_by_sum(given, now, zone, p);
    if (summed != 0)
        return summed;
    PyObject *instant = read_instant(given);
    if (instant == NULL || instant == DECLINE)
        return instant == NULL ? -1 : 0;
    PyObject *from = instant == Py_None ? now : instant;
    PyObject *at = PyObject_CallMethodOneArg(from, s_astimezone, zone);
    Py_DECREF(instant);
    if (at == NULL || !PyDateTime_Check(at))
        return at == NULL ? -1 : (Py_DECREF(at), 0);
    if (PyDateTime_DATE_GET_MICROSECOND(at)) { /* `at.replace(microsecond=0)` */
        Py_SETREF(at, PyDateTimeAPI->DateTime_FromDateAndTimeAndFold(
            PyDateTime_GET_YEAR(at), PyDateTime_GET_MONTH(at), PyDateTime_GET_DAY(at),
            PyDateTime_DATE_GET_HOUR(at), PyDateTime_DATE_GET_MINUTE(at),
            PyDateTime_DATE_GET_SECOND(at), 0, PyDateTime_DATE_GET_TZINFO(at),
            PyDateTime_DATE_GET_FOLD(at), PyDateTimeAPI->DateTimeType));
        if (at == NULL)
            return -1;
    }
    p->at = at;
    p->local_day = PyDate_FromDate(
        PyDateTime_GET_YEAR(at), PyDateTime_GET_MONTH(at), PyDateTime_GET_DAY(at));
    return p->local_day == NULL ? -1 : 1;
}

/* -- the facts --------------------------------------------------------------------------- */
/* RequestFacts's fields this reader sets, in this order; the rest keep their defaults. */
static const char *const FACT_NAMES[] = {
    "action", "metered", "verified", "birthdate", "declared_age", "amount", "category", "app",
    "min_age", "recipient", "resource", "consents", "exemptions", "exempt_apps",
    "today_seconds", "session_seconds", "day_spent", "month_spent", "at_date",
    "guardian_daily_limit", "guardian_curfews", "extra_seconds", "timezone"};
#define FACTS_SET ((Py_ssize_t)(sizeof FACT_NAMES / sizeof FACT_NAMES[0]))
static PyObject *facts_defaults[MAX_FIELDS]; /* the other fields' defaults, by slot */

static PyObject *or_else(PyObject *value, PyObject *otherwise)
{
    return value != NULL ? value : otherwise;
}

static PyObject *field(PyObject *fields, PyObject *name)
{
    return or_else(PyDict_GetItemWithError(fields, name), Py_None);
}

/* `request_facts(...)`: the slots filled directly, as the dataclass's __init__ would. */
static PyObject *build_facts(PyObject *action_name, PyObject *metered, Parts *p)
{
    PyObject *zero_int = PyLong_FromLong(0), *no_curfews = PyTuple_New(0);
    PyObject *values[FACTS_SET] = {
        action_name, metered, p->verified ? Py_True : Py_False,
        or_else(p->birthdate, Py_None), or_else(p->age, Py_None),
        or_else(p->amount, Py_None), field(p->fields, s_category), field(p->fields, s_app),
        field(p->fields, s_min_age), field(p->fields, s_recipient), p->fields,
        or_else(p->consents, nothing), or_else(p->exemptions, nothing),
        or_else(p->exempt_apps, nothing), or_else(p->today, zero_int),
        or_else(p->session, zero_int), or_else(p->day_spent, zero),
        or_else(p->month_spent, zero), p->local_day, or_else(p->daily_limit, Py_None),
        or_else(p->curfews, no_curfews), or_else(p->extra, zero_int), or_else(p->zone, Py_None)};
    PyObject *facts = facts_type->tp_alloc(facts_type, 0);
    if (facts != NULL) {
        for (Py_ssize_t i = 0; i < facts_count; i++) {
            PyObject *value = i < FACTS_SET ? values[i] : facts_defaults[i];
            *(PyObject **)((char *)facts + facts_offsets[i]) = Py_NewRef(value);
        }
    }
    Py_DECREF(zero_int);
    Py_DECREF(no_curfews);
    return facts;
}

/* -- the request ------------------------------------------------------------------------- */
/* `mapping.get(key)` as a new reference; NULL with no error set when absent. */
static PyObject *lookup(PyObject *mapping, PyObject *key)
{
    PyObject *found = PyObject_GetItem(mapping, key);
    if (found == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
        PyErr_Clear();
    return found;
}

/* The request's own keys, each a slot of `given`: one pass over the request instead of a
 * set look-up a key and a dict look-up a name. `configure` checks that REQUEST_KEYS is these. */
enum { K_POLICY, K_ACTION, K_AT, K_USAGE, K_RESOURCE, K_SUBJECT, K_GUARDIAN, K_COUNT };
static PyObject **const request_names[K_COUNT] = {&s_policy, &s_action, &s_at, &s_usage,
                                                 &s_resource, &s_subject, &s_guardian};

static int request_key(PyObject *key)
{
    for (int i = 0; i < K_COUNT; i++)
        if (key == *request_names[i])
            return i;
    Py_hash_t hash = PyObject_Hash(key); /* cached in the str: a JSON key is not interned */
    for (int i = 0; hash != -1 && i < K_COUNT; i++) {
        PyObject *name = *request_names[i];
        if (hash == PyObject_Hash(name) && PyUnicode_Compare(key, name) == 0)
            return i;
    }
    PyErr_Clear();
    return -1;
}

/* `given[k]`: the value of each key the request has (borrowed), NULL for the rest; 0 for a
 * key that is not REQUEST_KEYS's (the model's to word). */
static int request_values(PyObject *data, PyObject **given)
{
    for (int i = 0; i < K_COUNT; i++)
        given[i] = NULL;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(data, &pos, &key, &value)) {
        int k = PyUnicode_CheckExact(key) ? request_key(key) : -1;
        if (k < 0)
            return 0;
        given[k] = value;
    }
    return 1;
}

static PyObject *given_or_none(PyObject *const *given, int k)
{
    return or_else(given[k], Py_None);
}

/* CompiledAction's `metered` and `requires_amount` (`spend is not None`, a property: a
 * Python call) read from its slots, for an action of exactly that class whose property is
 * still the one configured; any other is asked. A new reference, or NULL. */
static PyTypeObject *action_type;
static PyObject *requires_property;
static Py_ssize_t metered_at, spend_at;

static PyObject *action_metered(PyObject *action)
{
    if (Py_IS_TYPE(action, action_type)) {
        PyObject *metered = *(PyObject **)((char *)action + metered_at);
        if (metered != NULL)
            return Py_NewRef(metered);
    }
    return PyObject_GetAttr(action, s_metered);
}

static int action_requires_amount(PyObject *action)
{
    if (Py_IS_TYPE(action, action_type)
        && _PyType_Lookup(action_type, s_requires_amount) == requires_property) {
        PyObject *spend = *(PyObject **)((char *)action + spend_at);
        if (spend != NULL)
            return spend != Py_None;
    }
    PyObject *requires = PyObject_GetAttr(action, s_requires_amount);
    int truth = requires == NULL ? -1 : PyObject_IsTrue(requires);
    Py_XDECREF(requires);
    return truth;
}

/* The parts of a request for `policy` and `action`: 1 read, 0 declined, -1 failed. */
static int read_parts(PyObject *const *given, PyObject *table, PyObject *action, PyObject *now,
                      Parts *p)
{
    PyObject *zone = PyTuple_GET_ITEM(table, R_ZONE);
    long places = PyLong_AsLong(PyTuple_GET_ITEM(table, R_PLACES));
    int r = PyErr_Occurred() ? -1 : read_at(given_or_none(given, K_AT), now, zone, p);
    if (r == 1)
        r = read_resource(given_or_none(given, K_RESOURCE), table, places, p);
    if (r == 1 && (p->amount == NULL || p->amount == Py_None)) {
        int truth = action_requires_amount(action);
        r = truth < 0 ? -1 : !truth; /* `missing_amount`: the model's to word */
    }
    PyObject *subject = given[K_SUBJECT];
    if (r == 1 && subject != NULL)
        r = read_subject(subject, p);
    PyObject *usage = given_or_none(given, K_USAGE);
    if (r == 1 && usage != Py_None)
        r = read_usage(usage, places, p);
    PyObject *guardian = given_or_none(given, K_GUARDIAN);
    if (r == 1 && guardian != Py_None)
        r = read_guardian(guardian, p);
    return r;
}

static PyObject *read_request(PyObject *data, PyObject *policies, PyObject *default_policy,
                              PyObject *now)
{
    PyObject *given[K_COUNT];
    if (!PyDict_CheckExact(data) || !PyDateTime_Check(now) || !request_values(data, given))
        return DECLINE;
    /* policies.get(_text(data.get("policy")) or default_policy or "") */
    PyObject *name = given_or_none(given, K_POLICY);
    if (name != Py_None && !PyUnicode_CheckExact(name))
        return DECLINE;
    if (name == Py_None || PyUnicode_GET_LENGTH(name) == 0)
        name = PyObject_IsTrue(default_policy) == 1 ? default_policy : NULL;
    if (name == NULL || !PyUnicode_CheckExact(name))
        return DECLINE; /* policies.get("") is None: no policy is named "" */
    PyObject *action_name = given_or_none(given, K_ACTION);
    if (!PyUnicode_CheckExact(action_name))
        return DECLINE;
    PyObject *policy = lookup(policies, name);
    PyObject *table = policy == NULL || !Py_IS_TYPE(policy, policy_type)
                          ? NULL : ym_policy_table(&policy_tables, policy, policy_names, R_COUNT);
    PyObject *action = table == NULL ? NULL
                       : lookup(PyTuple_GET_ITEM(table, R_ACTIONS), action_name);
    PyObject *metered = action == NULL ? NULL : action_metered(action);
    PyObject *out = PyErr_Occurred() ? NULL : DECLINE;
    Parts p = {0};
    if (metered != NULL) {
        int r = read_parts(given, table, action, now, &p);
        if (r == 1) {
            PyObject *facts = build_facts(action_name, metered, &p);
            out = facts == NULL ? NULL : PyTuple_Pack(3, policy, p.at, facts);
            Py_XDECREF(facts);
        }
        else
            out = r == 0 ? DECLINE : NULL;
    }
    release(&p);
    Py_XDECREF(metered);
    Py_XDECREF(action);
    Py_XDECREF(table);
    Py_XDECREF(policy);
    return out;
}

static PyObject *reader_read(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        (void)module;
        PyErr_SetString(PyExc_TypeError, "read(data, policies, default_policy, now)");
        return NULL;
    }
    if (facts_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "youthmode._reader: configure() first");
        return NULL;
    }
    PyObject *out = read_request(args[0], args[1], args[2], args[3]);
    if (out == NULL) {
        /* Whatever failed here, the Python routes read the request again and meet it. */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (out == DECLINE)
        Py_RETURN_NONE;
    return out;
}

/* -- configure ----------------------------------------------------------------------------- */
static PyObject *take(PyObject *given, const char *name)
{
    PyObject *value = PyDict_GetItemString(given, name);
    if (value == NULL)
        PyErr_Format(PyExc_KeyError, "configure: `%s` is missing", name);
    return Py_XNewRef(value);
}

static int take_long(PyObject *given, const char *name, long *out)
{
    PyObject *value = take(given, name);
    *out = value == NULL ? -1 : PyLong_AsLong(value);
    Py_XDECREF(value);
    return value == NULL || PyErr_Occurred() ? -1 : 0;
}

/* RequestFacts's slots: FACT_NAMES first, then every other field with its default; into
 * `offsets` and `defaults` (new references), the count returned, or -1 (error set). */
static Py_ssize_t take_facts(PyObject *type, PyObject *names, PyObject *defaults,
                             Py_ssize_t *offsets, PyObject **kept)
{
    int ok = PyType_Check(type) && PyTuple_CheckExact(names) && PyDict_CheckExact(defaults)
             && PyTuple_GET_SIZE(names) <= MAX_FIELDS;
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; ok && i < FACTS_SET; i++) {
        PyObject *name = PyUnicode_FromString(FACT_NAMES[i]);
        offsets[count++] = ym_slot_offset((PyTypeObject *)type, FACT_NAMES[i]);
        ok = name != NULL && offsets[count - 1] >= 0 && PySequence_Contains(names, name) == 1;
        Py_XDECREF(name);
    }
    for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(names); i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        int set = 0;
        for (Py_ssize_t j = 0; j < FACTS_SET; j++)
            set |= PyUnicode_CompareWithASCIIString(name, FACT_NAMES[j]) == 0;
        if (set)
            continue;
        PyObject *value = PyDict_GetItemWithError(defaults, name);
        const char *text = value == NULL ? NULL : PyUnicode_AsUTF8(name);
        offsets[count] = text == NULL ? -1 : ym_slot_offset((PyTypeObject *)type, text);
        kept[count++] = Py_XNewRef(value);
        ok = value != NULL && offsets[count - 1] >= 0;
        if (value == NULL && !PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "configure: `%U` has no default to give", name);
    }
    if (ok && count != PyTuple_GET_SIZE(names)) {
        PyErr_SetString(PyExc_TypeError, "configure: the facts' fields are not its slots");
        ok = 0;
    }
    if (!ok && !PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "configure: facts_type, field_names, defaults");
    if (!ok)
        for (Py_ssize_t i = FACTS_SET; i < count; i++)
            Py_CLEAR(kept[i]);
    return ok ? count : -1;
}

/* Everything is taken and checked into locals first, and kept only when all of it is right:
 * a refused configuration changes nothing (a module in use stays as it was). */
static PyObject *reader_configure(PyObject *module, PyObject *given)
{
    (void)module;
    if (!PyDict_CheckExact(given)) {
        PyErr_SetString(PyExc_TypeError, "configure(dict)");
        return NULL;
    }
    struct { PyObject **slot; const char *name; PyObject *value; } objects[] = {
        {&decimal_type, "decimal", NULL}, {&fromisoformat, "fromisoformat", NULL},
        {&at_in_range, "at_in_range", NULL}, {&zone_of, "zone_of", NULL},
        {&curfews_of, "curfews_of", NULL}, {&not_plain, "not_plain", NULL},
        {&zero, "zero", NULL}, {&nothing, "nothing", NULL}, {&recipients, "recipients", NULL},
        {&request_keys, "request_keys", NULL}, {&resource_fields, "resource_fields", NULL},
        {&earliest_birthdate, "earliest_birthdate", NULL}, {&zone_span, "zone_span", NULL},
        {(PyObject **)&facts_type, "facts_type", NULL}, {NULL, "field_names", NULL},
        {NULL, "defaults", NULL}, {(PyObject **)&action_type, "action_type", NULL},
        {&requires_property, "requires_amount", NULL},
        {(PyObject **)&policy_type, "policy_type", NULL}};
    enum { N_OBJECTS = sizeof objects / sizeof objects[0] };
    struct { long *slot; const char *name; long value; } numbers[] = {
        {&max_age, "max_age", 0}, {&max_id_length, "max_id_length", 0},
        {&max_seconds, "max_seconds", 0}, {&day_seconds, "day_seconds", 0},
        {&min_daily_limit, "min_daily_limit", 0},
        {&fast_amount_digits, "fast_amount_digits", 0}, {&amount_places, "amount_places", 0},
        {&sure_years_low, "sure_years_low", 0}, {&sure_years_high, "sure_years_high", 0}};
    Py_ssize_t offsets[MAX_FIELDS];
    PyObject *defaults[MAX_FIELDS] = {NULL};
    Py_ssize_t count = -1;
    int ok = 1;
    for (size_t i = 0; ok && i < N_OBJECTS; i++)
        ok = (objects[i].value = take(given, objects[i].name)) != NULL;
    for (size_t i = 0; ok && i < sizeof numbers / sizeof numbers[0]; i++)
        ok = take_long(given, numbers[i].name, &numbers[i].value) == 0;
    if (ok && (!PyAnySet_CheckExact(objects[8].value) || !PyAnySet_CheckExact(objects[9].value)
               || !PyDict_CheckExact(objects[10].value) || !PyDate_Check(objects[11].value)
               || !PyCallable_Check(objects[12].value))) {
        PyErr_SetString(PyExc_TypeError, "configure: a set, dict, date or helper of the wrong type");
        ok = 0;
    }
    for (int i = 0; ok && i < K_COUNT; i++)
        ok = PySet_Contains(objects[9].value, *request_names[i]) == 1;
    if (ok && PySet_GET_SIZE(objects[9].value) != K_COUNT)
        ok = 0;
    if (!ok && !PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "configure: request_keys are not the keys it reads");
    Py_ssize_t action_offsets[2] = {-1, -1};
    if (ok && (!PyType_Check(objects[16].value) || !PyType_Check(objects[18].value)))
        PyErr_SetString(PyExc_TypeError, "configure: action_type or policy_type is not a type");
    else if (ok) {
        action_offsets[0] = ym_slot_offset((PyTypeObject *)objects[16].value, "metered");
        if (action_offsets[0] >= 0)
            action_offsets[1] = ym_slot_offset((PyTypeObject *)objects[16].value, "spend");
    }
    ok = ok && action_offsets[1] >= 0;
    if (ok)
        count = take_facts(objects[13].value, objects[14].value, objects[15].value, offsets,
                           defaults);
    if (count >= 0) {
        for (size_t i = 0; i < N_OBJECTS; i++)
            if (objects[i].slot != NULL)
                Py_XSETREF(*objects[i].slot, Py_NewRef(objects[i].value));
        for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
            *numbers[i].slot = numbers[i].value;
        for (Py_ssize_t i = 0; i < MAX_FIELDS; i++)
            Py_XSETREF(facts_defaults[i], i < count ? defaults[i] : NULL);
        memcpy(facts_offsets, offsets, sizeof offsets);
        facts_count = count;
        forget_spans(); /* the old helper's spans are not the new one's to vouch for */
        metered_at = action_offsets[0], spend_at = action_offsets[1];
    }
    for (size_t i = 0; i < N_OBJECTS; i++)
        Py_XDECREF(objects[i].value);
    if (count < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int intern_names(void)
{
    static const YmName names[] = {
        {&s_policy, "policy"}, {&s_action, "action"}, {&s_at, "at"}, {&s_usage, "usage"},
        {&s_resource, "resource"}, {&s_subject, "subject"}, {&s_guardian, "guardian"},
        {&s_zone, "zone"}, {&s_actions, "actions"}, {&s_currency, "currency"},
        {&s_currency_places, "currency_places"}, {&s_requires_amount, "requires_amount"},
        {&s_metered, "metered"}, {&s_astimezone, "astimezone"}, {&s_amount, "amount"},
        {&s_category, "category"}, {&s_app, "app"}, {&s_min_age, "min_age"},
        {&s_recipient, "recipient"}};
    if (ym_intern(names, sizeof names / sizeof names[0]) < 0)
        return -1;
    PyObject *const read[R_COUNT] = {[R_ACTIONS] = s_actions, [R_ZONE] = s_zone,
                                     [R_PLACES] = s_currency_places, [R_CURRENCY] = s_currency};
    memcpy(policy_names, read, sizeof read);
    return 0;
}

static PyMethodDef reader_methods[] = {
    {"read", (PyCFunction)(void (*)(void))reader_read, METH_FASTCALL,
     "read(data, policies, default_policy, now) -> (policy, at, facts) | None"},
    {"configure", reader_configure, METH_O, "configure(dict): the objects the reader uses"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef reader_module = {
    PyModuleDef_HEAD_INIT, "youthmode._reader",
    "request.py's plain route, compiled (youthmode/compiled.py loads it).", -1,
    reader_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__reader(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL || intern_names() < 0)
        return NULL;
    return ym_module(&reader_module);
}
