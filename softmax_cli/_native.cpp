// Parse and format float64 text blocks in C++, with the GIL released.
//
// parse_table: a chunk of delimited text of plain decimal numbers into float64
// bytes, or None whenever anything needs a closer look (the Python path then
// reads the chunk and reports any error at its line).
// format_rows: float64 rows as text, each value written as orjson writes it,
// or None when a value is not finite (the Python path writes those).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// One field, white space around it dropped: true and the value when it is a
// plain decimal number that Python's float reads to the same value.
inline bool parse_field(const char* start, const char* stop, double* out) {
    while (start < stop && is_space(*start)) ++start;
    while (stop > start && is_space(stop[-1])) --stop;
    if (start == stop) return false;
    // A digit, '.' or '-' first, and a digit or '.' after a '-': this leaves out
    // inf, nan and their spellings, which take the Python path.
    const char* body = start;
    if (*body == '-') {
        ++body;
        if (body == stop) return false;
    }
    if (!((*body >= '0' && *body <= '9') || *body == '.')) return false;
    auto result = std::from_chars(start, stop, *out, std::chars_format::general);
    // Out of range (overflow or underflow to zero) is left to Python's float.
    return result.ec == std::errc() && result.ptr == stop;
}

// Rows of exactly ``width`` fields; ``delimiter`` 0 means runs of white space.
bool parse_rows(const char* data, size_t size, char delimiter, size_t width,
                std::vector<double>* values) {
    const char* p = data;
    const char* end = data + size;
    bool blank_seen = false;
    while (p < end) {
        const char* line_end = static_cast<const char*>(std::memchr(p, '\n', end - p));
        if (line_end == nullptr) line_end = end;
        const char* q = p;
        while (q < line_end && is_space(*q)) ++q;
        if (q == line_end) {
            blank_seen = true;  // only blank lines may follow
        } else {
            if (blank_seen) return false;
            size_t fields = 0;
            if (delimiter == 0) {
                while (q < line_end) {
                    const char* field_end = q;
                    while (field_end < line_end && !is_space(*field_end)) ++field_end;
                    double value;
                    if (++fields > width || !parse_field(q, field_end, &value)) return false;
                    values->push_back(value);
                    q = field_end;
                    while (q < line_end && is_space(*q)) ++q;
                }
            } else {
                q = p;
                while (true) {
                    const char* field_end =
                        static_cast<const char*>(std::memchr(q, delimiter, line_end - q));
                    if (field_end == nullptr) field_end = line_end;
                    double value;
                    if (++fields > width || !parse_field(q, field_end, &value)) return false;
                    values->push_back(value);
                    if (field_end == line_end) break;
                    q = field_end + 1;
                }
            }
            if (fields != width) return false;
        }
        p = line_end + 1;
    }
    return true;
}

// One finite value as orjson writes it: the shortest round-trip digits, in
// fixed point from 1e-5 to below 1e16 (``1.0``, ``0.00001``), else as
// ``d.ddde-X`` / ``d.ddde+X`` with no leading zeros in the exponent.
inline char* write_number(char* out, double value) {
    double size = std::fabs(value);
    if (size == 0.0 || (size >= 1e-5 && size < 1e16)) {
        char* start = out;
        out = std::to_chars(out, out + 32, value, std::chars_format::fixed).ptr;
        if (!std::memchr(start, '.', out - start)) {
            *out++ = '.';
            *out++ = '0';
        }
        return out;
    }
    out = std::to_chars(out, out + 32, value, std::chars_format::scientific).ptr;
    // to_chars writes at least two exponent digits (e-07): drop a leading zero.
    if (out[-2] == '0' && (out[-3] == '-' || out[-3] == '+')) {
        out[-2] = out[-1];
        --out;
    }
    return out;
}

// Each row: ``opening``, the values between ``separator``s, ``closing``; false
// as soon as a value is not finite.  ``out`` has room for 25 bytes a value.
char* format_rows(const double* values, size_t rows, size_t width, char separator,
                  const char* opening, size_t opening_size, const char* closing,
                  size_t closing_size, char* out) {
    for (size_t row = 0; row < rows; ++row) {
        std::memcpy(out, opening, opening_size);
        out += opening_size;
        for (size_t column = 0; column < width; ++column) {
            double value = *values++;
            if (!std::isfinite(value)) return nullptr;
            out = write_number(out, value);
            *out++ = separator;
        }
        --out;  // no separator after the last value
        std::memcpy(out, closing, closing_size);
        out += closing_size;
    }
    return out;
}

PyObject* parse_table(PyObject*, PyObject* args) {
    Py_buffer raw;
    int delimiter;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*Cn", &raw, &delimiter, &width)) return nullptr;
    if (width <= 0 || delimiter > 127) {
        PyBuffer_Release(&raw);
        Py_RETURN_NONE;
    }
    std::vector<double> values;
    bool ok;
    Py_BEGIN_ALLOW_THREADS
    values.reserve(raw.len / 4 + 1);
    ok = parse_rows(static_cast<const char*>(raw.buf), raw.len, static_cast<char>(delimiter),
                    static_cast<size_t>(width), &values);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&raw);
    if (!ok) Py_RETURN_NONE;
    return PyByteArray_FromStringAndSize(reinterpret_cast<const char*>(values.data()),
                                         values.size() * sizeof(double));
}

PyObject* format_table(PyObject*, PyObject* args) {
    Py_buffer values;
    Py_ssize_t width;
    int separator;
    const char* opening;
    Py_ssize_t opening_size;
    const char* closing;
    Py_ssize_t closing_size;
    if (!PyArg_ParseTuple(args, "y*nCy#y#", &values, &width, &separator, &opening,
                          &opening_size, &closing, &closing_size))
        return nullptr;
    size_t count = values.len / sizeof(double);
    if (width <= 0 || separator > 127 || count % width) {
        PyBuffer_Release(&values);
        Py_RETURN_NONE;
    }
    size_t rows = count / width;
    Py_ssize_t room = count * 25 + rows * (opening_size + closing_size);
    PyObject* text = PyBytes_FromStringAndSize(nullptr, room);
    if (text == nullptr) {
        PyBuffer_Release(&values);
        return nullptr;
    }
    char* start = PyBytes_AS_STRING(text);
    char* end;
    // Nothing else holds ``text`` yet, so it is written without the GIL.
    Py_BEGIN_ALLOW_THREADS
    end = format_rows(static_cast<const double*>(values.buf), rows, static_cast<size_t>(width),
                      static_cast<char>(separator), opening, opening_size, closing, closing_size,
                      start);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&values);
    if (end == nullptr) {
        Py_DECREF(text);
        Py_RETURN_NONE;
    }
    if (_PyBytes_Resize(&text, end - start) < 0) return nullptr;
    return text;
}

// How many bytes of ``data`` are ``wanted``: 16 at a time where SSE2 is there (every
// x86-64), about 6x faster than bytes.count, which the reader ran on every chunk.
size_t count_byte(const char* data, size_t size, char wanted) {
    size_t count = 0;
    size_t at = 0;
#if defined(__SSE2__)
    const __m128i needle = _mm_set1_epi8(wanted);
    const __m128i zero = _mm_setzero_si128();
    while (size - at >= 16) {
        // Each byte lane counts at most 255 matches before the lanes are added up.
        size_t blocks = std::min<size_t>((size - at) / 16, 255);
        __m128i lanes = zero;
        for (size_t block = 0; block < blocks; ++block, at += 16) {
            __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + at));
            lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(bytes, needle));
        }
        __m128i sums = _mm_sad_epu8(lanes, zero);  // two 64-bit lanes of byte sums
        count += static_cast<size_t>(_mm_cvtsi128_si32(sums)) +
                 static_cast<size_t>(_mm_extract_epi16(sums, 4));
    }
#endif
    for (; at < size; ++at) count += data[at] == wanted;
    return count;
}

PyObject* count_lines(PyObject*, PyObject* args) {
    Py_buffer raw;
    if (!PyArg_ParseTuple(args, "y*", &raw)) return nullptr;
    size_t lines;
    Py_BEGIN_ALLOW_THREADS
    lines = count_byte(static_cast<const char*>(raw.buf), static_cast<size_t>(raw.len), '\n');
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&raw);
    return PyLong_FromSize_t(lines);
}

PyMethodDef methods[] = {
    {"parse_table", parse_table, METH_VARARGS,
     "parse_table(raw, delimiter, width) -> bytearray of float64, or None"},
    {"format_table", format_table, METH_VARARGS,
     "format_table(values, width, separator, opening, closing) -> bytes, or None"},
    {"count_lines", count_lines, METH_VARARGS, "count_lines(raw) -> the number of LF bytes"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", nullptr, -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
