/* The logged request of a plain JSON body (server/logged_request.py's `plain_request`),
 * compiled: the second stage of a compiled engine (docs/performance.md).
 *
 * `plain(body)` returns the dict `_plain(body)` returns, key for key and in the same order,
 * or `None` to leave the body to the Python function (which may still read it, or send it
 * to the model). Like the compiled reader it only recognises: amounts are taken only in
 * their usual written form ("30.00": no sign, exponent, spaces or leading zeros, so
 * `str(parse_amount(text))` is the text itself), and anything else is declined.
 * tests/test_logged_request_compiled.py holds it to the Python function.
 *
 * The field names, their order and their one plain type come from `configure`.
 */
#include "_compiled.h"

static PyObject *request_keys, *subject_fields, *subject_keys, *usage_fields, *usage_keys;
static PyObject *resource_fields, *guardian_lists, *guardian_scalars, *guardian_keys;
static long fast_amount_digits, amount_places;
static PyObject *s_policy, *s_subject, *s_action, *s_at, *s_verified, *s_amount, *s_curfew;
static PyObject *s_more_curfews, *s_usage, *s_resource, *s_guardian;

#define DECLINE ((PyObject *)&decline_marker)
static PyObject decline_marker;

static PyObject *get(PyObject *dict, PyObject *key)
{
    PyObject *found = PyDict_GetItemWithError(dict, key);
    return found != NULL ? found : Py_None;
}

/* Every key of `dict` in `keys` (a frozenset): 1, 0, or -1 on error. */
static int keys_within(PyObject *dict, PyObject *keys)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        int known = PySet_Contains(keys, key);
        if (known != 1)
            return known;
    }
    return 1;
}

/* `str(parse_amount(value))` for an amount in its usual written form, or DECLINE. */
static PyObject *amount_text(PyObject *value)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value))
        return DECLINE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const char *s = (const char *)PyUnicode_DATA(value);
    Py_ssize_t whole = 0;
    while (whole < n && s[whole] >= '0' && s[whole] <= '9')
        whole++;
    if (whole == 0 || whole > fast_amount_digits || (whole > 1 && s[0] == '0'))
        return DECLINE; /* "007" is written "7" by Decimal: the Python function's */
    if (whole < n) {
        Py_ssize_t fraction = n - whole - 1;
        if (s[whole] != '.' || fraction < 1 || fraction > amount_places)
            return DECLINE;
        for (Py_ssize_t i = whole + 1; i < n; i++)
            if (s[i] < '0' || s[i] > '9')
                return DECLINE;
    }
    return Py_NewRef(value);
}

/* `_strings`: a new list of the same str items. */
static PyObject *strings(PyObject *value)
{
    return ym_list_of_str(value) ? PyList_GetSlice(value, 0, PyList_GET_SIZE(value)) : DECLINE;
}

/* out[key] = value, consuming `value`: 1 set, 0 declined, -1 failed. */
static int put(PyObject *out, PyObject *key, PyObject *value)
{
    if (value == NULL || value == DECLINE)
        return value == NULL ? -1 : 0;
    int r = PyDict_SetItem(out, key, value);
    Py_DECREF(value);
    return r < 0 ? -1 : 1;
}

/* (name, type) pairs: each present, non-null value of exactly its type, in the pairs' order. */
static int typed_fields(PyObject *data, PyObject *pairs, PyObject *out)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pairs); i++) {
        PyObject *pair = PyTuple_GET_ITEM(pairs, i);
        PyObject *key = PyTuple_GET_ITEM(pair, 0), *kind = PyTuple_GET_ITEM(pair, 1);
        PyObject *value = get(data, key);
        if (value == Py_None)
            continue;
        if ((PyObject *)Py_TYPE(value) != kind)
            return 0;
        if (PyDict_SetItem(out, key, value) < 0)
            return -1;
    }
    return 1;
}

static PyObject *subject(PyObject *data)
{
    if (!PyDict_CheckExact(data))
        return DECLINE;
    int r = keys_within(data, subject_keys);
    PyObject *out = r == 1 ? PyDict_New() : NULL;
    if (out != NULL)
        r = typed_fields(data, subject_fields, out);
    if (r == 1 && !PyDict_Contains(out, s_verified))
        r = PyDict_SetItem(out, s_verified, Py_False) < 0 ? -1 : 1;
    if (r == 1)
        return out;
    Py_XDECREF(out);
    return r == 0 ? DECLINE : NULL;
}

/* (name, is seconds) pairs: seconds exact ints, the rest amounts. */
static PyObject *usage(PyObject *data)
{
    if (!PyDict_CheckExact(data))
        return DECLINE;
    int r = keys_within(data, usage_keys);
    PyObject *out = r == 1 ? PyDict_New() : NULL;
    for (Py_ssize_t i = 0; out != NULL && r == 1 && i < PyTuple_GET_SIZE(usage_fields); i++) {
        PyObject *pair = PyTuple_GET_ITEM(usage_fields, i);
        PyObject *key = PyTuple_GET_ITEM(pair, 0);
        PyObject *value = get(data, key);
        if (value == Py_None)
            continue;
        if (PyTuple_GET_ITEM(pair, 1) == Py_True)
            r = PyLong_CheckExact(value) ? put(out, key, Py_NewRef(value)) : 0;
        else
            r = put(out, key, amount_text(value));
    }
    if (r == 1 && out != NULL)
        return out;
    Py_XDECREF(out);
    return r == 0 ? DECLINE : NULL;
}

/* The model's fields in order, then the open ones (str, int, bool) in the body's order. */
static PyObject *resource(PyObject *data)
{
    if (!PyDict_CheckExact(data))
        return DECLINE;
    PyObject *out = PyDict_New();
    int r = out == NULL ? -1 : 1;
    for (Py_ssize_t i = 0; r == 1 && i < PyTuple_GET_SIZE(resource_fields); i++) {
        PyObject *pair = PyTuple_GET_ITEM(resource_fields, i);
        PyObject *key = PyTuple_GET_ITEM(pair, 0), *kind = PyTuple_GET_ITEM(pair, 1);
        PyObject *value = get(data, key);
        if (value == Py_None)
            continue;
        if (kind == Py_None) /* the amount */
            r = put(out, key, amount_text(value));
        else
            r = (PyObject *)Py_TYPE(value) == kind ? put(out, key, Py_NewRef(value)) : 0;
    }
    if (r == 1 && PyDict_GET_SIZE(out) != PyDict_GET_SIZE(data)) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (r == 1 && PyDict_Next(data, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key)) {
                r = 0;
                break;
            }
            int own = 0;
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(resource_fields); i++)
                own |= PyUnicode_Compare(key, PyTuple_GET_ITEM(
                           PyTuple_GET_ITEM(resource_fields, i), 0)) == 0;
            if (own || value == Py_None)
                continue;
            if (!PyUnicode_CheckExact(value) && !PyLong_CheckExact(value) && !PyBool_Check(value))
                r = 0; /* a Decimal is the Python function's to write */
            else
                r = put(out, key, Py_NewRef(value));
        }
    }
    if (r == 1)
        return out;
    Py_XDECREF(out);
    return r == 0 ? DECLINE : NULL;
}

static PyObject *guardian(PyObject *data)
{
    if (!PyDict_CheckExact(data))
        return DECLINE;
    int r = keys_within(data, guardian_keys);
    PyObject *out = r == 1 ? PyDict_New() : NULL;
    for (Py_ssize_t i = 0; out != NULL && r == 1 && i < PyTuple_GET_SIZE(guardian_lists); i++) {
        PyObject *key = PyTuple_GET_ITEM(guardian_lists, i);
        PyObject *value = get(data, key);
        r = put(out, key, value == Py_None ? PyList_New(0) : strings(value));
    }
    for (Py_ssize_t i = 0; out != NULL && r == 1 && i < PyTuple_GET_SIZE(guardian_scalars);
         i++) {
        PyObject *key = PyTuple_GET_ITEM(guardian_scalars, i);
        PyObject *value = get(data, key);
        if (value == Py_None)
            continue;
        if (PyUnicode_Compare(key, s_curfew) == 0)
            r = put(out, key, strings(value));
        else if (PyUnicode_Compare(key, s_more_curfews) == 0) {
            if (!PyList_CheckExact(value)) {
                r = 0;
                break;
            }
            PyObject *pairs = PyList_New(0);
            for (Py_ssize_t j = 0; pairs != NULL && j < PyList_GET_SIZE(value); j++) {
                PyObject *pair = strings(PyList_GET_ITEM(value, j));
                if (pair == NULL || pair == DECLINE || PyList_Append(pairs, pair) < 0) {
                    if (pair != DECLINE)
                        Py_XDECREF(pair);
                    Py_CLEAR(pairs);
                    r = pair == DECLINE ? 0 : -1;
                    break;
                }
                Py_DECREF(pair);
            }
            if (pairs != NULL)
                r = put(out, key, pairs);
            else if (r == 1)
                r = -1;
        }
        else
            r = PyLong_CheckExact(value) ? put(out, key, Py_NewRef(value)) : 0;
    }
    if (r == 1 && out != NULL)
        return out;
    Py_XDECREF(out);
    return r == 0 ? DECLINE : NULL;
}

static PyObject *plain(PyObject *body)
{
    if (!PyDict_CheckExact(body))
        return DECLINE;
    int r = keys_within(body, request_keys);
    if (r != 1)
        return r == 0 ? DECLINE : NULL;
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    PyObject *policy = get(body, s_policy);
    r = policy == Py_None ? 1
        : PyUnicode_CheckExact(policy) ? put(out, s_policy, Py_NewRef(policy)) : 0;
    if (r == 1) {
        PyObject *person = PyDict_GetItemWithError(body, s_subject);
        if (person == NULL && !PyErr_Occurred()) {
            PyObject *empty = PyDict_New();
            r = empty == NULL ? -1 : put(out, s_subject, subject(empty));
            Py_XDECREF(empty);
        }
        else
            r = person == NULL ? -1 : put(out, s_subject, subject(person));
    }
    PyObject *action = get(body, s_action);
    if (r == 1)
        r = PyUnicode_CheckExact(action) ? put(out, s_action, Py_NewRef(action)) : 0;
    PyObject *at = get(body, s_at);
    if (r == 1 && at != Py_None) /* its place: `replayable` writes the engine's local time */
        r = PyUnicode_CheckExact(at) ? put(out, s_at, Py_NewRef(Py_None)) : 0;
    struct { PyObject *key; PyObject *(*read)(PyObject *); } parts[] = {
        {s_usage, usage}, {s_resource, resource}, {s_guardian, guardian}};
    for (size_t i = 0; r == 1 && i < sizeof parts / sizeof parts[0]; i++) {
        PyObject *value = get(body, parts[i].key);
        if (value != Py_None)
            r = put(out, parts[i].key, parts[i].read(value));
    }
    if (r == 1)
        return out;
    Py_DECREF(out);
    return r == 0 ? DECLINE : NULL;
}

static PyObject *logged_plain(PyObject *module, PyObject *body)
{
    (void)module;
    if (request_keys == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "youthmode._logged_request: configure() first");
        return NULL;
    }
    PyObject *out = plain(body);
    if (out == NULL) {
        PyErr_Clear(); /* the Python function reads the body again and meets whatever it was */
        Py_RETURN_NONE;
    }
    if (out == DECLINE)
        Py_RETURN_NONE;
    return out;
}

static PyObject *logged_configure(PyObject *module, PyObject *given)
{
    (void)module;
    struct { PyObject **slot; const char *name; int is_set; } objects[] = {
        {&request_keys, "request_keys", 1}, {&subject_fields, "subject_fields", 0},
        {&subject_keys, "subject_keys", 1}, {&usage_fields, "usage_fields", 0},
        {&usage_keys, "usage_keys", 1}, {&resource_fields, "resource_fields", 0},
        {&guardian_lists, "guardian_lists", 0}, {&guardian_scalars, "guardian_scalars", 0},
        {&guardian_keys, "guardian_keys", 1}};
    if (!PyDict_CheckExact(given)) {
        PyErr_SetString(PyExc_TypeError, "configure(dict)");
        return NULL;
    }
    /* All checked first, then kept: a refused configuration changes nothing. */
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
        PyObject *value = PyDict_GetItemString(given, objects[i].name);
        if (value == NULL || (objects[i].is_set ? !PyFrozenSet_CheckExact(value)
                                                : !PyTuple_CheckExact(value))) {
            PyErr_Format(PyExc_TypeError, "configure: `%s` missing or not a %s",
                         objects[i].name, objects[i].is_set ? "frozenset" : "tuple");
            return NULL;
        }
    }
    PyObject *digits = PyDict_GetItemString(given, "fast_amount_digits");
    PyObject *places = PyDict_GetItemString(given, "amount_places");
    long digits_value = digits == NULL ? -1 : PyLong_AsLong(digits);
    long places_value = places == NULL ? -1 : PyLong_AsLong(places);
    if (digits_value < 0 || places_value < 0) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "configure: fast_amount_digits, amount_places");
        return NULL;
    }
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
        Py_XSETREF(*objects[i].slot, Py_NewRef(PyDict_GetItemString(given, objects[i].name)));
    fast_amount_digits = digits_value;
    amount_places = places_value;
    Py_RETURN_NONE;
}

static PyMethodDef logged_methods[] = {
    {"plain", logged_plain, METH_O, "plain(body) -> the logged request | None"},
    {"configure", logged_configure, METH_O, "configure(dict): field names, order and types"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef logged_module = {
    PyModuleDef_HEAD_INIT, "youthmode._logged_request",
    "server/logged_request.py's plain_request, compiled (youthmode/compiled.py loads it).",
    -1, logged_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__logged_request(void)
{
    static const YmName names[] = {
        {&s_policy, "policy"}, {&s_subject, "subject"}, {&s_action, "action"}, {&s_at, "at"},
        {&s_verified, "verified"}, {&s_amount, "amount"}, {&s_curfew, "curfew"},
        {&s_more_curfews, "more_curfews"}, {&s_usage, "usage"}, {&s_resource, "resource"},
        {&s_guardian, "guardian"}};
    if (ym_intern(names, sizeof names / sizeof names[0]) < 0)
        return NULL;
    return ym_module(&logged_module);
}
