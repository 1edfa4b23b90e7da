/* What every compiled stage of the engine shares (youthmode/compiled.py, setup.py). A stage's
 * SHA-256 covers this header and its own source, so a change here also marks every stage's
 * build stale until it is rebuilt. */
#ifndef YOUTHMODE_COMPILED_H
#define YOUTHMODE_COMPILED_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 "unknown"
#endif

/* The byte offset of object slot `name` of `type` (a member descriptor of an object slot,
 * as a slots class or dataclass has), or -1 with TypeError set. */
static inline Py_ssize_t ym_slot_offset(PyTypeObject *type, const char *name)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    Py_ssize_t offset = -1;
    if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)
        && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX)
        offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    Py_XDECREF(descr);
    if (offset < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "configure: %s.%s is not an object slot", type->tp_name,
                     name);
    }
    return offset;
}

/* Whether `value` is exactly a list of exactly str items (what JSON gives for names). */
static inline int ym_list_of_str(PyObject *value)
{
    if (!PyList_CheckExact(value))
        return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++)
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(value, i)))
            return 0;
    return 1;
}

/* Interned strings for a stage's names: `{&slot, "text"}` pairs; -1 on failure. */
typedef struct {
    PyObject **slot;
    const char *text;
} YmName;

static inline int ym_intern(const YmName *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL)
            return -1;
    return 0;
}

/* A dict of `keys` (in order) to None: a template whose copy (`ym_filled`) is a model's
 * fields in their order, without the resizes of a dict filled from empty. */
static inline PyObject *ym_template(PyObject *const *keys, Py_ssize_t n)
{
    PyObject *out = PyDict_New();
    for (Py_ssize_t i = 0; out != NULL && i < n; i++)
        if (PyDict_SetItem(out, keys[i], Py_None) < 0)
            Py_CLEAR(out);
    return out;
}

/* A copy of `template` (`ym_template` of `keys`) holding `values`: a new dict, or NULL. A
 * None is the template's already: not set again (half a response's fields are None, and
 * each set costs a look-up). */
static inline PyObject *ym_filled(PyObject *template, PyObject *const *keys,
                                  PyObject *const *values, Py_ssize_t n)
{
    PyObject *out = template == NULL ? NULL : PyDict_Copy(template);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++)
        if (values[i] != Py_None && PyDict_SetItem(out, keys[i], values[i]) < 0)
            Py_CLEAR(out);
    return out;
}

/* A policy's attributes, read once per policy rather than once a decision: a few policies'
 * tables, each kept with a strong reference to its policy, so an address in use can never be
 * another policy's (a reload makes new policies, hence new entries). Only for a type whose
 * attributes are fields set once (a frozen dataclass; its memos are dicts changed in place). */
#define YM_TABLES 8
typedef struct {
    PyObject *policy[YM_TABLES];
    PyObject *table[YM_TABLES];
    int next;
} YmTables;

/* The tuple of `policy`'s attributes `names`: a new reference, or NULL with an error set. */
static inline PyObject *ym_policy_table(YmTables *cache, PyObject *policy,
                                        PyObject *const *names, Py_ssize_t n)
{
    for (int i = 0; i < YM_TABLES; i++)
        if (cache->policy[i] == policy)
            return Py_NewRef(cache->table[i]);
    PyObject *table = PyTuple_New(n);
    for (Py_ssize_t i = 0; table != NULL && i < n; i++) {
        PyObject *value = PyObject_GetAttr(policy, names[i]);
        if (value == NULL)
            Py_CLEAR(table);
        else
            PyTuple_SET_ITEM(table, i, value);
    }
    if (table == NULL)
        return NULL;
    /* Installed whole before the evicted entry is released: its release may run Python. */
    int at = cache->next;
    cache->next = (at + 1) % YM_TABLES;
    PyObject *old_policy = cache->policy[at], *old_table = cache->table[at];
    cache->policy[at] = Py_NewRef(policy);
    cache->table[at] = Py_NewRef(table);
    Py_XDECREF(old_policy);
    Py_XDECREF(old_table);
    return table;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms):
 * a local wall time from a UTC second without asking `datetime`. */
static inline long long ym_days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static inline void ym_civil_from_days(long long z, int *year, int *month, int *day)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

/* The stage's module, carrying the SHA-256 it was built from (compiled.py compares it). */
static inline PyObject *ym_module(PyModuleDef *definition)
{
    PyObject *module = PyModule_Create(definition);
    if (module != NULL && PyModule_AddStringConstant(module, "SOURCE_SHA256", SOURCE_SHA256) < 0)
        Py_CLEAR(module);
    return module;
}

#endif
