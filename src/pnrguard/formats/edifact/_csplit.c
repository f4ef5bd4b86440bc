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
 *
 * Also: scan_body (a whole body cut into raw segments in one pass, with what the tokenizer
 * needs to know of them), the older single passes it replaces on the hot path (unwrap,
 * stand_ins, regular_tags, service_ends; still the pure twins' building blocks), find_unz
 * (interchange boundaries) and the commonest PNRGOV date and time shapes (date6, time,
 * datetime, date7; their pure twins are formats/pnrgov/values.py's readers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* Short ASCII components recur (carrier codes, airports, dates, element qualifiers): the
 * last one seen for each slot of a small table is handed out again rather than built anew
 * (strings are immutable; which object holds a value is invisible to the readers). Saves
 * an allocation, a copy and a deallocation each time, and the shared string keeps its hash
 * for the readers' dictionary look-ups. At most RECENT strings of up to RECENT_LEN
 * characters stay alive. */
#define RECENT 4096
#define RECENT_LEN 8
static PyObject *recent[RECENT];

INLINE PyObject *
short_ascii(const Py_UCS1 *p, Py_ssize_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (Py_ssize_t k = 0; k < len; k++) {
        h = (h ^ p[k]) * 16777619u;
    }
    PyObject **slot = &recent[(h ^ (h >> 15)) & (RECENT - 1)];
    PyObject *hit = *slot;
    if (hit != NULL && PyUnicode_GET_LENGTH(hit) == len && memcmp(PyUnicode_DATA(hit), p, (size_t)len) == 0) {
        Py_INCREF(hit);
        return hit;
    }
    PyObject *comp = PyUnicode_New(len, 127);
    if (comp == NULL) {
        return NULL;
    }
    memcpy(PyUnicode_DATA(comp), p, (size_t)len);
    Py_INCREF(comp);
    *slot = comp;
    Py_XDECREF(hit);
    return comp;
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
        if (len > 1 && len <= RECENT_LEN) {
            return short_ascii((const Py_UCS1 *)data + start, len);
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
    Py_ssize_t i = start;
#define NOTE_SEPARATOR(at, ch)                                                                      \
    do {                                                                                           \
        if (found == MAX_SEPARATORS) {                                                             \
            return split_from_kind(raw, kind, start, esep, csep, restore);                         \
        }                                                                                          \
        pos[found] = (at);                                                                         \
        is_element[found] = (ch) == esep;                                                          \
        count += (ch) == esep;                                                                     \
        found++;                                                                                   \
    } while (0)
#if defined(__SSE2__)
    /* Latin-1 text, sixteen characters at a time (the separators' positions, in order). */
    if (kind == PyUnicode_1BYTE_KIND && esep < 256 && csep < 256) {
        const Py_UCS1 *bytes = data;
        const __m128i ve = _mm_set1_epi8((char)esep), vc = _mm_set1_epi8((char)csep);
        for (; i + 16 <= n; i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(bytes + i));
            unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, ve), _mm_cmpeq_epi8(x, vc)));
            while (mask != 0) {
                Py_ssize_t at = i + __builtin_ctz(mask);
                mask &= mask - 1;
                NOTE_SEPARATOR(at, bytes[at]);
            }
        }
    }
#endif
    for (; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch == esep || ch == csep) {
            NOTE_SEPARATOR(i, ch);
        }
    }
#undef NOTE_SEPARATOR
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

/* segment(cls, tag, raw, esep, csep, restore, index) -> cls((tag, split_elements(...), index)):
 * the named tuple built here (tuple_subtype_new's own way: tp_alloc, then the items), where
 * `tuple.__new__(Segment, (...))` went through a keyword-capable call, an argument tuple
 * and a temporary tuple copied into the new one (splitting.segment_py). */
static PyObject *
segment(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &PyTuple_Type)
        || !PyUnicode_Check(args[1]) || !PyLong_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError,
                        "segment(cls: type[tuple], tag: str, raw: str, esep: str, csep: str, restore, index: int)");
        return NULL;
    }
    PyObject *elements = split_elements(self, args + 2, 4);
    if (elements == NULL) {
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    PyObject *seg = cls->tp_alloc(cls, 3);
    if (seg == NULL) {
        Py_DECREF(elements);
        return NULL;
    }
    Py_INCREF(args[1]);
    PyTuple_SET_ITEM(seg, 0, args[1]);
    PyTuple_SET_ITEM(seg, 1, elements);
    Py_INCREF(args[6]);
    PyTuple_SET_ITEM(seg, 2, args[6]);
    return seg;
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

/* Which of CR and LF the text `breaks` names (the UNA-dependent set of layout line breaks). */
static int
line_breaks(PyObject *breaks, int *cr, int *lf)
{
    *cr = *lf = 0;
    for (Py_ssize_t j = 0; j < PyUnicode_GET_LENGTH(breaks); j++) {
        Py_UCS4 b = PyUnicode_READ_CHAR(breaks, j);
        if (b == '\r') {
            *cr = 1;
        } else if (b == '\n') {
            *lf = 1;
        } else {
            PyErr_SetString(PyExc_ValueError, "breaks are CR and LF");
            return -1;
        }
    }
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
    PyObject *body = args[0];
    int cr, lf;
    if (line_breaks(args[2], &cr, &lf) < 0) {
        return NULL;
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

/* ---- scan_body: the whole interchange body cut into raw segments in one pass ----------
 *
 * What `unwrap`, `stand_ins`, `str.split`, `regular_tags` and `service_ends` give one after
 * the other (splitting.scan_body_py composes exactly those), in one pass over the text: a
 * raw segment without line break or release character is copied once, straight from the
 * body; the others go through a buffer. No intermediate body is built. */

/* One raw segment as a string: ASCII text copied as is, anything else narrowed by Python. */
INLINE PyObject *
raw_string(int kind, const void *from, Py_ssize_t len, int ascii)
{
    if (ascii) {
        PyObject *str = PyUnicode_New(len, 127);
        if (str != NULL && len > 0) {
            memcpy(PyUnicode_DATA(str), from, (size_t)len);
        }
        return str;
    }
    return PyUnicode_FromKindAndData(kind, from, len);
}

/* The first of the four characters at or after `i` in Latin-1 text, or n: sixteen bytes at a
 * time where SSE2 is there (every x86-64), else byte by byte through `special`. */
static inline Py_ssize_t
next_special_latin1(const Py_UCS1 *data, Py_ssize_t i, Py_ssize_t n, const unsigned char *special, Py_UCS1 a,
                    Py_UCS1 b, Py_UCS1 c, Py_UCS1 d)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b), vc = _mm_set1_epi8((char)c),
                  vd = _mm_set1_epi8((char)d);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(data + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)));
        int mask = _mm_movemask_epi8(hit);
        if (mask != 0) {
            return i + __builtin_ctz((unsigned)mask);
        }
        i += 16;
    }
#else
    (void)a, (void)b, (void)c, (void)d;
#endif
    while (i < n && !special[data[i]]) {
        i++;
    }
    return i;
}

typedef struct {
    PyObject *raws, *service;
    int regular, blanks;
    Py_UCS4 e, c;
} Scanned;

/* A raw segment done: kept, and its tag checked (regular_tags_py), its place noted when it
 * is a service segment (service_ends_py), a blank at its start noted. */
INLINE int
emit(Scanned *out, PyObject *raw, int last)
{
    if (raw == NULL) {
        return -1;
    }
    Py_ssize_t k = PyList_GET_SIZE(out->raws);
    if (PyList_Append(out->raws, raw) < 0) {
        Py_DECREF(raw);
        return -1;
    }
    Py_DECREF(raw);
    const Py_ssize_t len = PyUnicode_GET_LENGTH(raw);
    const int kind = PyUnicode_KIND(raw);
    const void *d = PyUnicode_DATA(raw);
    Py_UCS4 x0 = len > 0 ? PyUnicode_READ(kind, d, 0) : 0;
    Py_UCS4 x1 = len > 1 ? PyUnicode_READ(kind, d, 1) : 0;
    Py_UCS4 x2 = len > 2 ? PyUnicode_READ(kind, d, 2) : 0;
    if (out->regular && !(last && len == 0 && k > 0)) {
        Py_UCS4 x3 = len > 3 ? PyUnicode_READ(kind, d, 3) : 0;
        out->regular = len >= 3 && TAG_CHAR(x0) && TAG_CHAR(x1) && TAG_CHAR(x2)
                       && (len == 3 || x3 == out->e || x3 == out->c);
    }
    out->blanks |= x0 == ' ' || x0 == '\t';
    if (k > 0 && x0 == 'U' && x1 == 'N' && (x2 == 'H' || x2 == 'T' || x2 == 'Z' || x2 == 'E' || x2 == 'G')) {
        PyObject *at = PyLong_FromSsize_t(k);
        if (at == NULL || PyList_Append(out->service, at) < 0) {
            Py_XDECREF(at);
            return -1;
        }
        Py_DECREF(at);
    }
    return 0;
}

#define NO_CHAR ((Py_UCS4)0xFFFFFFFF)

/* The pass itself; `buf` holds room for the whole body. Returns the wrapping verdict as
 * wrapped_kind does (-1: no line break at all), or -2 on error. */
INLINE int
scan_body_kind(int kind, const void *data, Py_ssize_t n, void *buf, Scanned *out, Py_UCS4 s, Py_UCS4 r,
               int cr, int lf, int ascii)
{
    Py_ssize_t total_cr = 0, total_lf = 0, layout_cr = 0, layout_lf = 0;
    int inside = 0;
    Py_ssize_t start = 0; /* where the current raw segment starts in `data` */
    Py_ssize_t run = 0;   /* where its text not yet copied to `buf` starts */
    Py_ssize_t used = -1; /* its length in `buf`, or -1: still one run of `data`, unbuffered */
    int high = 0;         /* a stand-in written: not ASCII any more */
    Py_ssize_t i = 0;
    unsigned char special[256] = {0};
    special[s & 0xff] = s < 256;
    if (r < 256) {
        special[r] = 1;
    }
    special['\r'] |= cr;
    special['\n'] |= lf;
#define IS_BREAK(ch) (((ch) == '\r' && cr) || ((ch) == '\n' && lf))
#define COUNT_BREAK(at)                                                                                \
    do {                                                                                               \
        Py_UCS4 ch_ = PyUnicode_READ(kind, data, (at));                                                \
        Py_UCS4 before_ = (at) > 0 ? PyUnicode_READ(kind, data, (at) - 1) : 0;                         \
        if (ch_ == '\r') {                                                                             \
            total_cr++;                                                                                \
            layout_cr += (at) > 0 && before_ == s;                                                     \
        } else {                                                                                       \
            total_lf++;                                                                                \
            layout_lf += (at) > 0 && before_ == s;                                                     \
            layout_lf += (at) > 1 && before_ == '\r' && PyUnicode_READ(kind, data, (at) - 2) == s;     \
        }                                                                                              \
        if ((at) > 0 && !inside) {                                                                     \
            inside = before_ != s && before_ != '\r' && before_ != '\n' && before_ != '\t' && before_ != ' '; \
        }                                                                                              \
    } while (0)
#define FLUSH(to)                                                                                      \
    do {                                                                                               \
        if (used < 0) {                                                                                \
            used = 0;                                                                                  \
        }                                                                                              \
        memcpy((char *)buf + used * kind, (const char *)data + run * kind, (size_t)(((to) - run) * kind)); \
        used += (to) - run;                                                                            \
    } while (0)
    while (i < n) {
        if (kind == PyUnicode_1BYTE_KIND) {
            i = next_special_latin1((const Py_UCS1 *)data, i, n, special, (Py_UCS1)s, r < 256 ? (Py_UCS1)r : (Py_UCS1)s,
                                    cr ? '\r' : (Py_UCS1)s, lf ? '\n' : (Py_UCS1)s);
            if (i >= n) {
                break;
            }
        }
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 256 ? !special[ch] : ch != s) {
            i++;
            continue;
        }
        if (ch == s) {
            PyObject *raw;
            if (used < 0) {
                raw = raw_string(kind, (const char *)data + start * kind, i - start, ascii);
            } else {
                FLUSH(i);
                raw = raw_string(kind, buf, used, ascii && !high);
            }
            if (emit(out, raw, 0) < 0) {
                return -2;
            }
            start = run = i + 1;
            used = -1;
            high = 0;
            i++;
            continue;
        }
        if (ch != r && used < 0 && i == start) { /* a line break before the segment (layout) */
            COUNT_BREAK(i);
            start = run = ++i;
            continue;
        }
        FLUSH(i);
        if (ch != r) { /* a line break: dropped, and counted */
            COUNT_BREAK(i);
            run = ++i;
            continue;
        }
        /* A release character: it and the next character (line breaks skipped) as one
         * stand-in (stand_ins_kind, on the text without its breaks). */
        Py_ssize_t j = i + 1;
        while (j < n && IS_BREAK(PyUnicode_READ(kind, data, j))) {
            COUNT_BREAK(j);
            j++;
        }
        high = 1;
        if (j >= n) {
            PyUnicode_WRITE(kind, buf, used++, 0x84);
            run = i = n;
            break;
        }
        Py_UCS4 next = PyUnicode_READ(kind, data, j);
        if (next == out->c) {
            PyUnicode_WRITE(kind, buf, used++, 0x83);
        } else if (next == out->e) {
            PyUnicode_WRITE(kind, buf, used++, 0x82);
        } else if (next == s) {
            PyUnicode_WRITE(kind, buf, used++, 0x81);
        } else if (next == r) {
            PyUnicode_WRITE(kind, buf, used++, 0x80);
        } else {
            PyUnicode_WRITE(kind, buf, used++, 0x84);
            PyUnicode_WRITE(kind, buf, used++, next);
        }
        run = i = j + 1;
    }
    PyObject *raw;
    if (used < 0) {
        raw = raw_string(kind, (const char *)data + start * kind, n - start, ascii);
    } else {
        FLUSH(n);
        raw = raw_string(kind, buf, used, ascii && !high);
    }
    if (emit(out, raw, 1) < 0) {
        return -2;
    }
#undef FLUSH
#undef COUNT_BREAK
#undef IS_BREAK
    if (total_cr + total_lf == 0) {
        return -1;
    }
    return inside && ((total_cr && total_cr > layout_cr) || (total_lf && total_lf > layout_lf));
}

/* scan_body(body, ssep, esep, csep, rel, breaks) -> (raws, wrapped, released, regular,
 * blanks, service) or None (splitting.scan_body_py: the same, decided the same way). */
static PyObject *
scan_body(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_UCS4 s, e, c, r = NO_CHAR;
    if (nargs != 6 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[4]) || !PyUnicode_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "scan_body(body: str, ssep: str, esep: str, csep: str, rel: str, breaks: str)");
        return NULL;
    }
    if (single(args[1], &s) < 0 || single(args[2], &e) < 0 || single(args[3], &c) < 0) {
        return NULL;
    }
    PyObject *body = args[0], *rel = args[4], *breaks = args[5];
    if (PyUnicode_GET_LENGTH(rel) > 1) {
        PyErr_SetString(PyExc_ValueError, "the release character is one character or none");
        return NULL;
    }
    int cr, lf;
    if (line_breaks(breaks, &cr, &lf) < 0) {
        return NULL;
    }
    const int kind = PyUnicode_KIND(body);
    const void *data = PyUnicode_DATA(body);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(body);
    int released = 0;
    if (PyUnicode_GET_LENGTH(rel) == 1) {
        Py_UCS4 rc = PyUnicode_READ_CHAR(rel, 0);
        if ((rc == '\r' && cr) || (rc == '\n' && lf)) {
            Py_RETURN_NONE; /* a release character that is also a line break: the long way */
        }
        released = find_char(kind, data, 0, n, rc) < n;
        if (released) {
            r = rc;
            if (!PyUnicode_IS_ASCII(body)) {
                for (Py_UCS4 x = 0x80; x <= 0x84; x++) {
                    if (find_char(kind, data, 0, n, x) < n) {
                        Py_RETURN_NONE; /* stand-ins unavailable: the escaped path */
                    }
                }
            }
        }
    }
    void *buf = PyMem_Malloc((size_t)(n > 0 ? n : 1) * (size_t)kind);
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    Scanned out = {PyList_New(0), PyList_New(0), 1, 0, e, c};
    int wrapped = -2;
    if (out.raws != NULL && out.service != NULL) {
        const int ascii = PyUnicode_IS_ASCII(body);
        wrapped = kind == PyUnicode_1BYTE_KIND
                      ? scan_body_kind(PyUnicode_1BYTE_KIND, data, n, buf, &out, s, r, cr, lf, ascii)
                      : scan_body_kind(kind, data, n, buf, &out, s, r, cr, lf, 0);
    }
    PyMem_Free(buf);
    if (wrapped == -2) {
        Py_XDECREF(out.raws);
        Py_XDECREF(out.service);
        return NULL;
    }
    if (!out.regular && PyList_SetSlice(out.service, 0, PyList_GET_SIZE(out.service), NULL) < 0) {
        Py_DECREF(out.raws);
        Py_DECREF(out.service);
        return NULL;
    }
    return Py_BuildValue("(NOOOON)", out.raws, wrapped > 0 ? Py_True : Py_False, released ? Py_True : Py_False,
                         out.regular ? Py_True : Py_False, out.blanks && !out.regular ? Py_True : Py_False,
                         out.service);
}

/* find_unz(text, esep, start) -> int: text.find("UNZ" + esep, start) (boundaries.py looks
 * for the end of each interchange this way), by `memchr` for the rare Z rather than the
 * general substring search, which scanned a push at a tenth of the speed. */
static PyObject *
find_unz(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_UCS4 e;
    Py_ssize_t start;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "find_unz(text: str, esep: str, start: int)");
        return NULL;
    }
    if (single(args[1], &e) < 0 || (start = PyLong_AsSsize_t(args[2])) == -1) {
        return NULL;
    }
    PyObject *text = args[0];
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (start < 0) {
        PyErr_SetString(PyExc_ValueError, "start is not negative");
        return NULL;
    }
    for (Py_ssize_t z = find_char(kind, data, start + 2, n, 'Z'); z < n; z = find_char(kind, data, z + 1, n, 'Z')) {
        if (z + 1 < n && PyUnicode_READ(kind, data, z + 1) == e && PyUnicode_READ(kind, data, z - 1) == 'N'
            && PyUnicode_READ(kind, data, z - 2) == 'U') {
            return PyLong_FromSsize_t(z - 2);
        }
    }
    return PyLong_FromLong(-1);
}

/* ---- PNRGOV dates and times (formats/pnrgov/values.py) ------------------------------------
 *
 * The commonest shapes only: ASCII digits (and a month name) of the exact length, no blank.
 * For those the result is what values._read_date6, _read_time, _read_datetime and
 * _read_date7 return (a value, or None where the digits name no real day or time); any
 * other text gives False, and the pure function decides (tests/unit/formats/test_csplit.py
 * holds the two equal). No cache is needed: building the value is cheaper than the cached
 * look-up of a tuple key, and a day's traffic no longer empties the caches. */

#include <datetime.h>

static int
days_in(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) {
        return 29;
    }
    return days[month - 1];
}

/* The number of `len` ASCII digits at p, or -1. */
INLINE int
digits(const Py_UCS1 *p, int len)
{
    int v = 0;
    for (int k = 0; k < len; k++) {
        if (p[k] < '0' || p[k] > '9') {
            return -1;
        }
        v = v * 10 + (p[k] - '0');
    }
    return v;
}

/* ASCII text of one of the lengths, or NULL. */
INLINE const Py_UCS1 *
ascii_of(PyObject *value, Py_ssize_t a, Py_ssize_t b, Py_ssize_t *len)
{
    if (!PyUnicode_Check(value) || !PyUnicode_IS_ASCII(value)) {
        return NULL;
    }
    *len = PyUnicode_GET_LENGTH(value);
    return *len == a || *len == b ? PyUnicode_1BYTE_DATA(value) : NULL;
}

/* DDMMYY: 1 (and the day) when read, 0 when it names no day, -1 another shape. */
static int
read_date6(PyObject *value, int *y, int *m, int *d)
{
    Py_ssize_t len;
    const Py_UCS1 *p = ascii_of(value, 6, 6, &len);
    if (p == NULL || (*d = digits(p, 2)) < 0 || (*m = digits(p + 2, 2)) < 0 || (*y = digits(p + 4, 2)) < 0) {
        return -1;
    }
    *y += 2000;
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in(*y, *m);
}

/* HHMM or HHMMSS: as read_date6. */
static int
read_time(PyObject *value, int *h, int *m, int *sec)
{
    Py_ssize_t len;
    const Py_UCS1 *p = ascii_of(value, 4, 6, &len);
    if (p == NULL || (*h = digits(p, 2)) < 0 || (*m = digits(p + 2, 2)) < 0) {
        return -1;
    }
    *sec = 0;
    if (len == 6 && (*sec = digits(p + 4, 2)) < 0) {
        return -1;
    }
    return *h < 24 && *m < 60 && *sec < 60;
}

/* date6(value) -> date | None | False */
static PyObject *
date6(PyObject *self, PyObject *arg)
{
    int y, m, d;
    int found = read_date6(arg, &y, &m, &d);
    if (found < 0) {
        Py_RETURN_FALSE;
    }
    if (!found) {
        Py_RETURN_NONE;
    }
    return PyDate_FromDate(y, m, d);
}

/* time(value) -> time | None | False */
static PyObject *
time_of(PyObject *self, PyObject *arg)
{
    int h, m, sec;
    int found = read_time(arg, &h, &m, &sec);
    if (found < 0) {
        Py_RETURN_FALSE;
    }
    if (!found) {
        Py_RETURN_NONE;
    }
    return PyTime_FromTime(h, m, sec, 0);
}

/* datetime(date_value, time_value) -> datetime | None | False: an empty time is midnight. */
static PyObject *
datetime_of(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "datetime(date_value: str, time_value: str)");
        return NULL;
    }
    int day = read_date6(args[0], &y, &mo, &d);
    if (day < 0) {
        Py_RETURN_FALSE;
    }
    if (!day) {
        Py_RETURN_NONE;
    }
    if (!PyUnicode_Check(args[1])) {
        Py_RETURN_FALSE;
    }
    if (PyUnicode_GET_LENGTH(args[1]) > 0) {
        int tm = read_time(args[1], &h, &mi, &sec);
        if (tm < 0) {
            Py_RETURN_FALSE;
        }
        if (!tm) {
            Py_RETURN_NONE;
        }
    }
    return PyDateTime_FromDateAndTime(y, mo, d, h, mi, sec, 0);
}

/* date7(value, past, today) -> date | None | False: DDMMMYY (20YY, a century earlier where
 * `past` and that lies after `today`) or DDMMMYYYY, the month's letters in either case. */
static PyObject *
date7(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static const char months[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";
    Py_ssize_t len;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "date7(value: str, past: bool, today: date)");
        return NULL;
    }
    const Py_UCS1 *p = ascii_of(args[0], 7, 9, &len);
    int d, y;
    if (p == NULL || !PyDate_CheckExact(args[2]) || (d = digits(p, 2)) < 0 || (y = digits(p + 5, (int)len - 5)) < 0) {
        Py_RETURN_FALSE;
    }
    char name[3];
    for (int k = 0; k < 3; k++) {
        name[k] = (char)(p[2 + k] >= 'a' && p[2 + k] <= 'z' ? p[2 + k] - ('a' - 'A') : p[2 + k]);
    }
    int m = 0;
    for (int k = 0; k < 12 && !m; k++) {
        if (memcmp(months + 3 * k, name, 3) == 0) {
            m = k + 1;
        }
    }
    if (!m) {
        Py_RETURN_NONE;
    }
    if (len == 7) {
        y += 2000;
    }
    if (y < 1 || d < 1 || d > days_in(y, m)) {
        Py_RETURN_NONE;
    }
    if (len == 7) {
        int past = PyObject_IsTrue(args[1]);
        if (past < 0) {
            return NULL;
        }
        PyObject *today = args[2];
        int ty = PyDateTime_GET_YEAR(today), tm = PyDateTime_GET_MONTH(today), td = PyDateTime_GET_DAY(today);
        if (past && (y > ty || (y == ty && (m > tm || (m == tm && d > td))))) {
            y -= 100;
            if (d > days_in(y, m)) {
                Py_RETURN_NONE;
            }
        }
    }
    return PyDate_FromDate(y, m, d);
}

static PyMethodDef methods[] = {
    {"segment", (PyCFunction)(void (*)(void))segment, METH_FASTCALL,
     "cls((tag, split_elements(raw, esep, csep, restore), index)), built in C."},
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
    {"find_unz", (PyCFunction)(void (*)(void))find_unz, METH_FASTCALL, "text.find(\"UNZ\" + esep, start)."},
    {"date6", (PyCFunction)date6, METH_O, "DDMMYY as a date, None, or False for another shape."},
    {"time", (PyCFunction)time_of, METH_O, "HHMM or HHMMSS as a time, None, or False for another shape."},
    {"datetime", (PyCFunction)(void (*)(void))datetime_of, METH_FASTCALL,
     "DDMMYY and HHMM as a datetime, None, or False for another shape."},
    {"date7", (PyCFunction)(void (*)(void))date7, METH_FASTCALL,
     "DDMMMYY or DDMMMYYYY as a date, None, or False for another shape."},
    {"scan_body", (PyCFunction)(void (*)(void))scan_body, METH_FASTCALL,
     "The body cut into raw segments in one pass, with what the tokenizer needs to know of them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_csplit", "C accelerator of pnrguard.formats.edifact.splitting.", -1, methods,
};

PyMODINIT_FUNC
PyInit__csplit(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) {
        return NULL;
    }
    return PyModule_Create(&module);
}
