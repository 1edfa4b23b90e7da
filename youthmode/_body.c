/* The request body's number check, compiled: the sixth stage of a compiled engine
 * (docs/performance.md). `plain_numbers(value, room)` is server/body.py's `_plain_numbers`:
 * no float anywhere in a body orjson decoded, and no container more than `room` levels deep
 * (else the body is read again the exact way, fractions as Decimal). The Python twin walks a
 * batch level by level at ~130 instructions a value, as much as orjson took to decode it;
 * here it is a few (tests/test_body.py holds the two to the same answers).
 */
#include "_compiled.h"

/* Recursion is bounded by `room` (the body's depth limit, 32). */
static int plain(PyObject *value, long room)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyFloat_Type)
        return 0;
    if (type == &PyDict_Type) {
        if (room <= 0)
            return 0;
        Py_ssize_t at = 0;
        PyObject *key, *item;
        while (PyDict_Next(value, &at, &key, &item))
            if (!plain(item, room - 1))
                return 0;
        return 1;
    }
    if (type == &PyList_Type) {
        if (room <= 0)
            return 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++)
            if (!plain(PyList_GET_ITEM(value, i), room - 1))
                return 0;
    }
    return 1;
}

static PyObject *plain_numbers(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "plain_numbers(value, room: int)");
        return NULL;
    }
    long room = PyLong_AsLong(args[1]);
    if (room == -1 && PyErr_Occurred())
        return NULL;
    if (room > 64) { /* deeper than any body may nest: the C stack is not for an attacker */
        PyErr_SetString(PyExc_ValueError, "plain_numbers: room is at most 64");
        return NULL;
    }
    return PyBool_FromLong(plain(args[0], room));
}

static PyMethodDef methods[] = {
    {"plain_numbers", (PyCFunction)(void (*)(void))plain_numbers, METH_FASTCALL,
     "plain_numbers(value, room): no float, no container deeper than room levels"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef definition = {PyModuleDef_HEAD_INIT, "youthmode._body", NULL, -1, methods};

PyMODINIT_FUNC PyInit__body(void)
{
    return ym_module(&definition);
}
