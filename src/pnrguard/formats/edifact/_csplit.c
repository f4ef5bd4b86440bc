/* The optional C accelerator of `pnrguard.formats.edifact.splitting` (built by `make compile`,
 * tools/compile_formats.py). Same function, same results as the pure-Python module, which
 * is the fallback on machines without a compiler: tests/unit/formats/test_csplit.py holds
 * the two equal, errors included.
 *
 * split_elements(raw, esep, csep, restore) -> list[list[str]]
 *
 * The elements (lists of components) of one raw segment after its tag, in one pass over the
 * text: no intermediate string per element, and stand-ins (released characters) translated
 * back only in the components that hold a non-ASCII character.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define INLINE static inline __attribute__((always_inline))

/* A stand-in (escapes._RELEASED: U+0080 .. U+0084), which `restore` maps back. */
#define STAND_IN(c) ((c) >= 0x80 && (c) <= 0x84)

/* The first `ch` at or after `from`, or n: memchr speed in Latin-1 text. */
INLINE Py_ssize_t
find_char(int kind, const void *data, Py_ssize_t from, Py_ssize_t n, Py_UCS4 ch)
{
    if (from >= n) {
        return n;
    }
    if (kind == PyUnicode_1BYTE_KIND) {
        if (ch > 0xff) {
            return n;
        }
        const Py_UCS1 *p = memchr((const Py_UCS1 *)data + from, (int)ch, (size_t)(n - from));
        return p != NULL ? p - (const Py_UCS1 *)data : n;
    }
    for (Py_ssize_t i = from; i < n; i++) {
        if (PyUnicode_READ(kind, data, i) == ch) {
            return i;
        }
    }
    return n;
}

/* raw[start:end] as a new string; where `restore` is given, stand-ins translated back as
 * str.translate(restore) would (the table's keys are the stand-ins, which the tokenizer
 * maps to one character or none: other characters are kept, as str.translate keeps them;
 * str.translate itself raises and catches a KeyError for each of them, 15,000 instructions
 * for a phone number). */
INLINE PyObject *
component(PyObject *raw, int kind, const void *data, int ascii, Py_ssize_t start, Py_ssize_t end,
          PyObject *restore)
{
    Py_ssize_t len = end - start;
    if (ascii) {
        if (len == 1) {
            return PyUnicode_FromOrdinal(((const Py_UCS1 *)data)[start]); /* cached */
        }
        PyObject *comp = PyUnicode_New(len, 127); /* the empty string is a singleton */
        if (comp != NULL && len > 0) {
            memcpy(PyUnicode_DATA(comp), (const Py_UCS1 *)data + start, (size_t)len);
        }
        return comp;
    }
    if (restore == Py_None) {
        return PyUnicode_Substring(raw, start, end);
    }
    Py_ssize_t found = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        found += STAND_IN(PyUnicode_READ(kind, data, i));
    }
    if (found == 0) {
        return PyUnicode_Substring(raw, start, end);
    }
    /* Each stand-in as `restore` maps it: the released character, or nothing. Any other
     * mapping (not one the tokenizer makes) goes through str.translate itself. */
    Py_UCS4 small[256];
    Py_UCS4 *buf = len <= 256 ? small : PyMem_Malloc((size_t)len * sizeof(Py_UCS4));
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t out = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (!STAND_IN(ch)) {
            buf[out++] = ch;
            continue;
        }
        PyObject *key = PyLong_FromLong((long)ch); /* small ints: cached, no allocation */
        PyObject *to = key == NULL ? NULL : PyDict_GetItemWithError(restore, key);
        Py_XDECREF(key);
        if (to != NULL && PyUnicode_Check(to) && PyUnicode_GET_LENGTH(to) <= 1) {
            if (PyUnicode_GET_LENGTH(to) == 1) {
                buf[out++] = PyUnicode_READ_CHAR(to, 0);
            }
            continue;
        }
        if (buf != small) {
            PyMem_Free(buf);
        }
        if (PyErr_Occurred()) {
            return NULL;
        }
        PyObject *comp = PyUnicode_Substring(raw, start, end);
        if (comp == NULL) {
            return NULL;
        }
        PyObject *translated = PyObject_CallMethod(comp, "translate", "O", restore);
        Py_DECREF(comp);
        return translated;
    }
    PyObject *comp = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, out);
    if (buf != small) {
        PyMem_Free(buf);
    }
    return comp;
}

/* Elements of raw[start:] (each split on csep), the text split on esep; lists of their
 * exact sizes, counted first. */
INLINE PyObject *
split_from_kind(PyObject *raw, int kind, Py_ssize_t start, Py_UCS4 esep, Py_UCS4 csep, PyObject *restore)
{
    const void *data = PyUnicode_DATA(raw);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(raw);
    const int ascii = PyUnicode_IS_ASCII(raw);
    Py_ssize_t count = 1;
    for (Py_ssize_t i = start; i < n; i++) {
        count += PyUnicode_READ(kind, data, i) == esep;
    }
    PyObject *elements = PyList_New(count);
    if (elements == NULL) {
        return NULL;
    }
    Py_ssize_t from = start, e = 0;
    while (e < count) {
        Py_ssize_t end = from, comps_n = 1;
        while (end < n) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, end);
            if (ch == esep) {
                break;
            }
            comps_n += ch == csep;
            end++;
        }
        PyObject *comps = PyList_New(comps_n);
        if (comps == NULL) {
            goto error;
        }
        PyList_SET_ITEM(elements, e++, comps);
        Py_ssize_t at = from;
        for (Py_ssize_t k = 0; k < comps_n; k++) {
            Py_ssize_t stop = at;
            while (stop < end && PyUnicode_READ(kind, data, stop) != csep) {
                stop++;
            }
            PyObject *comp = component(raw, kind, data, ascii, at, stop, restore);
            if (comp == NULL) {
                goto error;
            }
            PyList_SET_ITEM(comps, k, comp);
            at = stop + 1;
        }
        from = end + 1;
    }
    return elements;
error:
    Py_DECREF(elements); /* the unset items are NULL, which list_dealloc skips */
    return NULL;
}

#define MAX_SEPARATORS 256

/* split_from_kind in one pass over the text: the separators' positions noted first (a
 * segment with more than MAX_SEPARATORS goes the two-pass way). */
INLINE PyObject *
split_once_kind(PyObject *raw, int kind, Py_ssize_t start, Py_UCS4 esep, Py_UCS4 csep, PyObject *restore)
{
    const void *data = PyUnicode_DATA(raw);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(raw);
    const int ascii = PyUnicode_IS_ASCII(raw);
    Py_ssize_t pos[MAX_SEPARATORS];
    char is_element[MAX_SEPARATORS];
    Py_ssize_t found = 0, count = 1;
    for (Py_ssize_t i = start; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch != esep && ch != csep) {
            continue;
        }
        if (found == MAX_SEPARATORS) {
            return split_from_kind(raw, kind, start, esep, csep, restore);
        }
        pos[found] = i;
        is_element[found] = ch == esep;
        count += ch == esep;
        found++;
    }
    PyObject *elements = PyList_New(count);
    if (elements == NULL) {
        return NULL;
    }
    Py_ssize_t k = 0, from = start;
    for (Py_ssize_t e = 0; e < count; e++) {
        Py_ssize_t j = k; /* the separator that ends this element (or `found`: the text's end) */
        while (j < found && !is_element[j]) {
            j++;
        }
        PyObject *comps = PyList_New(j - k + 1);
        if (comps == NULL) {
            Py_DECREF(elements);
            return NULL;
        }
        PyList_SET_ITEM(elements, e, comps);
        Py_ssize_t at = from;
        for (Py_ssize_t c = 0; c <= j - k; c++) {
            Py_ssize_t stop = k + c < found ? pos[k + c] : n;
            PyObject *comp = component(raw, kind, data, ascii, at, stop, restore);
            if (comp == NULL) {
                Py_DECREF(elements); /* the unset items are NULL, which list_dealloc skips */
                return NULL;
            }
            PyList_SET_ITEM(comps, c, comp);
            at = stop + 1;
        }
        from = j < found ? pos[j] + 1 : n;
        k = j + 1;
    }
    return elements;
}

static PyObject *
split_from(PyObject *raw, Py_ssize_t start, Py_UCS4 esep, Py_UCS4 csep, PyObject *restore)
{
    int kind = PyUnicode_KIND(raw);
    if (kind == PyUnicode_1BYTE_KIND) {
        return split_once_kind(raw, PyUnicode_1BYTE_KIND, start, esep, csep, restore);
    }
    return split_once_kind(raw, kind, start, esep, csep, restore);
}

static PyObject *
split_elements(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]) || !PyUnicode_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "split_elements(raw: str, esep: str, csep: str, restore)");
        return NULL;
    }
    PyObject *raw = args[0], *restore = args[3];
    if (PyUnicode_GET_LENGTH(args[1]) != 1 || PyUnicode_GET_LENGTH(args[2]) != 1) {
        PyErr_SetString(PyExc_ValueError, "separators are single characters");
        return NULL;
    }
    Py_UCS4 esep = PyUnicode_READ_CHAR(args[1], 0), csep = PyUnicode_READ_CHAR(args[2], 0);
    const int kind = PyUnicode_KIND(raw);
    const void *data = PyUnicode_DATA(raw);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(raw);
    Py_ssize_t at = -1; /* the first element separator: the end of the tag */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyUnicode_READ(kind, data, i) == esep) {
            at = i;
            break;
        }
    }
    if (restore != Py_None && !PyUnicode_IS_ASCII(raw)) {
        /* Every element, the tag's own included, then the first dropped. */
        PyObject *all = split_from(raw, 0, esep, csep, restore);
        if (all == NULL) {
            return NULL;
        }
        if (PyList_SetSlice(all, 0, 1, NULL) < 0) {
            Py_DECREF(all);
            return NULL;
        }
        return all;
    }
    if (at < 0 || at + 1 >= n) {
        return PyList_New(0); /* no text after the tag */
    }
    return split_from(raw, at + 1, esep, csep, Py_None);
}


static int
single(PyObject *sep, Py_UCS4 *out)
{
    if (!PyUnicode_Check(sep) || PyUnicode_GET_LENGTH(sep) != 1) {
        PyErr_SetString(PyExc_ValueError, "separators are single characters");
        return -1;
    }
    *out = PyUnicode_READ_CHAR(sep, 0);
    return 0;
}

#define TAG_CHAR(c) (((c) >= 'A' && (c) <= 'Z') || ((c) >= '0' && (c) <= '9'))

/* Each pass below is written once for any string kind and compiled twice: for Latin-1
 * text (a constant kind, so every character read is a byte load) and for the others. */
#define BY_KIND(kind, call) ((kind) == PyUnicode_1BYTE_KIND ? call##_kind(PyUnicode_1BYTE_KIND, call##_args) \
                                                            : call##_kind((kind), call##_args))

INLINE int
regular_tags_kind(int kind, const void *data, Py_ssize_t n, Py_UCS4 s, Py_UCS4 e, Py_UCS4 c)
{
    /* A tag at `at`: three tag characters, then a separator or the end. */
#define TAG_AT(at) \
    ((at) + 3 <= n && TAG_CHAR(PyUnicode_READ(kind, data, (at))) && TAG_CHAR(PyUnicode_READ(kind, data, (at) + 1)) \
     && TAG_CHAR(PyUnicode_READ(kind, data, (at) + 2)) \
     && ((at) + 3 == n || PyUnicode_READ(kind, data, (at) + 3) == e || PyUnicode_READ(kind, data, (at) + 3) == c \
         || PyUnicode_READ(kind, data, (at) + 3) == s))
    if (n == 0 || !TAG_AT(0)) {
        return 0;
    }
    for (Py_ssize_t i = find_char(kind, data, 0, n, s); i < n - 1; i = find_char(kind, data, i + 1, n, s)) {
        if (!TAG_AT(i + 1)) {
            return 0;
        }
    }
#undef TAG_AT
    return 1;
}

/* regular_tags(body, ssep, esep, csep) -> bool: whether every segment starts with three
 * capitals or digits followed by a separator or the end (splitting.regular_tags_py). */
static PyObject *
regular_tags(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_UCS4 s, e, c;
    if (nargs != 4 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "regular_tags(body: str, ssep: str, esep: str, csep: str)");
        return NULL;
    }
    if (single(args[1], &s) < 0 || single(args[2], &e) < 0 || single(args[3], &c) < 0) {
        return NULL;
    }
    PyObject *body = args[0];
#define regular_tags_args PyUnicode_DATA(body), PyUnicode_GET_LENGTH(body), s, e, c
    return PyBool_FromLong(BY_KIND(PyUnicode_KIND(body), regular_tags));
}

/* The body with each release character and the character after it replaced by a stand-in,
 * written into `buf` (as long as the body: a stand-in never takes more room); its length. */
INLINE Py_ssize_t
stand_ins_kind(int kind, const void *data, Py_ssize_t n, void *buf, Py_UCS4 r, Py_UCS4 s, Py_UCS4 e, Py_UCS4 c)
{
    Py_ssize_t out = 0, from = 0;
    while (from < n) {
        Py_ssize_t at = find_char(kind, data, from, n, r);
        /* The run before it, copied whole (`buf` has the body's kind). */
        memcpy((char *)buf + out * kind, (const char *)data + from * kind, (size_t)((at - from) * kind));
        out += at - from;
        if (at >= n) {
            break;
        }
        if (at + 1 >= n) {
            PyUnicode_WRITE(kind, buf, out++, 0x84); /* a release character at the very end */
            break;
        }
        Py_UCS4 next = PyUnicode_READ(kind, data, at + 1);
        if (next == c) {
            PyUnicode_WRITE(kind, buf, out++, 0x83);
        } else if (next == e) {
            PyUnicode_WRITE(kind, buf, out++, 0x82);
        } else if (next == s) {
            PyUnicode_WRITE(kind, buf, out++, 0x81);
        } else if (next == r) {
            PyUnicode_WRITE(kind, buf, out++, 0x80);
        } else {
            PyUnicode_WRITE(kind, buf, out++, 0x84);
            PyUnicode_WRITE(kind, buf, out++, next);
        }
        from = at + 2;
    }
    return out;
}

/* stand_ins(body, rel, ssep, esep, csep) -> str: each release character and the character
 * after it replaced by a stand-in, left to right (splitting.stand_ins_py). */
static PyObject *
stand_ins(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_UCS4 r, s, e, c;
    if (nargs != 5 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "stand_ins(body: str, rel: str, ssep: str, esep: str, csep: str)");
        return NULL;
    }
    if (single(args[1], &r) < 0 || single(args[2], &s) < 0 || single(args[3], &e) < 0
        || single(args[4], &c) < 0) {
        return NULL;
    }
    PyObject *body = args[0];
    const int kind = PyUnicode_KIND(body);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(body);
    /* The stand-ins are Latin-1: they fit any kind, and the result keeps the body's. */
    void *buf = PyMem_Malloc((size_t)(n > 0 ? n : 1) * (size_t)kind);
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
#define stand_ins_args PyUnicode_DATA(body), n, buf, r, s, e, c
    Py_ssize_t out = BY_KIND(kind, stand_ins);
    PyObject *result = PyUnicode_FromKindAndData(kind, buf, out);
    PyMem_Free(buf);
    return result;
}

INLINE PyObject *
service_ends_kind(int kind, const void *data, Py_ssize_t n, Py_UCS4 s)
{
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t i = find_char(kind, data, 0, n, s); i < n; i = find_char(kind, data, i + 1, n, s)) {
        count++;
        if (i + 3 < n && PyUnicode_READ(kind, data, i + 1) == 'U' && PyUnicode_READ(kind, data, i + 2) == 'N') {
            Py_UCS4 t = PyUnicode_READ(kind, data, i + 3);
            if (t == 'H' || t == 'T' || t == 'Z' || t == 'E' || t == 'G') {
                PyObject *k = PyLong_FromSsize_t(count);
                if (k == NULL || PyList_Append(out, k) < 0) {
                    Py_XDECREF(k);
                    Py_DECREF(out);
                    return NULL;
                }
                Py_DECREF(k);
            }
        }
    }
    return out;
}

/* service_ends(body, ssep) -> list[int]: for each service segment (UNH, UNT, UNZ, UNE, UNG)
 * after the first segment, how many terminators come up to and including the one before it
 * (its position among the raw segments; splitting.service_ends_py). */
static PyObject *
service_ends(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_UCS4 s;
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "service_ends(body: str, ssep: str)");
        return NULL;
    }
    if (single(args[1], &s) < 0) {
        return NULL;
    }
    PyObject *body = args[0];
#define service_ends_args PyUnicode_DATA(body), PyUnicode_GET_LENGTH(body), s
    return BY_KIND(PyUnicode_KIND(body), service_ends);
}

/* As splitting._wrapped decides: line breaks counted, those right after a terminator (or a
 * terminator and CR) counted as layout; only where there are more breaks than layout does a
 * break after another character count as wrapping. Returns -1 when there is no break at
 * all, else whether the text is wrapped. */
INLINE int
wrapped_kind(int kind, const void *data, Py_ssize_t n, Py_UCS4 s, int cr, int lf)
{
    Py_ssize_t total_cr = 0, total_lf = 0, layout_cr = 0, layout_lf = 0;
    int inside = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch > '\r' || !((ch == '\r' && cr) || (ch == '\n' && lf))) {
            continue;
        }
        Py_UCS4 before = i > 0 ? PyUnicode_READ(kind, data, i - 1) : 0;
        if (ch == '\r') {
            total_cr++;
            layout_cr += i > 0 && before == s;
        } else {
            total_lf++;
            layout_lf += i > 0 && before == s;
            layout_lf += i > 1 && before == '\r' && PyUnicode_READ(kind, data, i - 2) == s;
        }
        if (i > 0 && !inside) {
            inside = before != s && before != '\r' && before != '\n' && before != '\t' && before != ' ';
        }
    }
    if (total_cr + total_lf == 0) {
        return -1;
    }
    return inside && ((total_cr && total_cr > layout_cr) || (total_lf && total_lf > layout_lf));
}

/* The body without its line breaks, into `buf`; its length. */
INLINE Py_ssize_t
unbroken_kind(int kind, const void *data, Py_ssize_t n, void *buf, int cr, int lf)
{
    Py_ssize_t out = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (!((ch == '\r' && cr) || (ch == '\n' && lf))) {
            PyUnicode_WRITE(kind, buf, out++, ch);
        }
    }
    return out;
}

/* The next line break at or after `from` in Latin-1 text (memchr speed), or n. */
static Py_ssize_t
next_break(const Py_UCS1 *data, Py_ssize_t from, Py_ssize_t n, int cr, int lf)
{
    const Py_UCS1 *end = data + n, *at = end;
    if (lf) {
        const Py_UCS1 *p = memchr(data + from, '\n', (size_t)(n - from));
        at = p != NULL ? p : end;
    }
    if (cr) {
        const Py_UCS1 *p = memchr(data + from, '\r', (size_t)((at - data) - from));
        at = p != NULL ? p : at;
    }
    return at - data;
}

/* wrapped_kind for Latin-1 text, from break to break. */
static int
wrapped_latin1(const Py_UCS1 *data, Py_ssize_t n, Py_UCS4 s, int cr, int lf)
{
    Py_ssize_t total_cr = 0, total_lf = 0, layout_cr = 0, layout_lf = 0;
    int inside = 0;
    for (Py_ssize_t i = next_break(data, 0, n, cr, lf); i < n; i = next_break(data, i + 1, n, cr, lf)) {
        Py_UCS4 ch = data[i];
        Py_UCS4 before = i > 0 ? data[i - 1] : 0;
        if (ch == '\r') {
            total_cr++;
            layout_cr += i > 0 && before == s;
        } else {
            total_lf++;
            layout_lf += i > 0 && before == s;
            layout_lf += i > 1 && before == '\r' && data[i - 2] == s;
        }
        if (i > 0 && !inside) {
            inside = before != s && before != '\r' && before != '\n' && before != '\t' && before != ' ';
        }
    }
    if (total_cr + total_lf == 0) {
        return -1;
    }
    return inside && ((total_cr && total_cr > layout_cr) || (total_lf && total_lf > layout_lf));
}

/* unbroken_kind for Latin-1 text: the runs between breaks copied whole. */
static Py_ssize_t
unbroken_latin1(const Py_UCS1 *data, Py_ssize_t n, Py_UCS1 *buf, int cr, int lf)
{
    Py_ssize_t out = 0, from = 0;
    while (from < n) {
        Py_ssize_t at = next_break(data, from, n, cr, lf);
        memcpy(buf + out, data + from, (size_t)(at - from));
        out += at - from;
        from = at + 1;
    }
    return out;
}

/* unwrap(body, ssep, breaks) -> (str, bool): the body without the characters of `breaks`
 * (line breaks that are not delimiters), and whether one sat inside a segment
 * (splitting.unwrap_py, whose decision this repeats exactly). */
static PyObject *
unwrap(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_UCS4 s;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "unwrap(body: str, ssep: str, breaks: str)");
        return NULL;
    }
    if (single(args[1], &s) < 0) {
        return NULL;
    }
    PyObject *body = args[0], *breaks = args[2];
    const Py_ssize_t nb = PyUnicode_GET_LENGTH(breaks);
    int cr = 0, lf = 0;
    for (Py_ssize_t j = 0; j < nb; j++) {
        Py_UCS4 b = PyUnicode_READ_CHAR(breaks, j);
        if (b == '\r') {
            cr = 1;
        } else if (b == '\n') {
            lf = 1;
        } else {
            PyErr_SetString(PyExc_ValueError, "breaks are CR and LF");
            return NULL;
        }
    }
    const int kind = PyUnicode_KIND(body);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(body);
#define wrapped_args PyUnicode_DATA(body), n, s, cr, lf
    int wrapped = kind == PyUnicode_1BYTE_KIND ? wrapped_latin1(PyUnicode_DATA(body), n, s, cr, lf)
                                               : wrapped_kind(kind, wrapped_args);
    if (wrapped < 0) {
        return Py_BuildValue("(OO)", body, Py_False);
    }
    void *buf = PyMem_Malloc((size_t)(n > 0 ? n : 1) * (size_t)kind);
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t out = kind == PyUnicode_1BYTE_KIND ? unbroken_latin1(PyUnicode_DATA(body), n, buf, cr, lf)
                                                  : unbroken_kind(kind, PyUnicode_DATA(body), n, buf, cr, lf);
    PyObject *text = PyUnicode_FromKindAndData(kind, buf, out);
    PyMem_Free(buf);
    if (text == NULL) {
        return NULL;
    }
    return Py_BuildValue("(NO)", text, wrapped ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"split_elements", (PyCFunction)(void (*)(void))split_elements, METH_FASTCALL,
     "The elements (lists of components) of one raw segment after its tag."},
    {"regular_tags", (PyCFunction)(void (*)(void))regular_tags, METH_FASTCALL,
     "Whether every segment starts with a regular tag."},
    {"stand_ins", (PyCFunction)(void (*)(void))stand_ins, METH_FASTCALL,
     "Released characters replaced by their stand-ins."},
    {"service_ends", (PyCFunction)(void (*)(void))service_ends, METH_FASTCALL,
     "Positions of the service segments among the raw segments."},
    {"unwrap", (PyCFunction)(void (*)(void))unwrap, METH_FASTCALL,
     "The body without line breaks, and whether one sat inside a segment."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_csplit", "C accelerator of pnrguard.formats.edifact.splitting.", -1, methods,
};

PyMODINIT_FUNC
PyInit__csplit(void)
{
    return PyModule_Create(&module);
}
