#include "hl7.h"

#include <string.h>

#include "core/civil_time.h"

typedef struct {
    const uint8_t *at;
    size_t length;
} span;

static int span_is(span s, const char *text)
{
    size_t n = strlen(text);
    return s.length == n && memcmp(s.at, text, n) == 0;
}

/* The `index`th piece of `whole` split on `separator` (an empty span if there are fewer). */
static span piece(span whole, uint8_t separator, size_t index)
{
    size_t start = 0;
    for (size_t i = 0; i <= whole.length; i++) {
        if (i == whole.length || whole.at[i] == separator) {
            if (index == 0)
                return (span){whole.at + start, i - start};
            index--;
            start = i + 1;
        }
    }
    return (span){whole.at + whole.length, 0};
}

/* Field n of a segment as HL7 numbers it: in MSH the separator itself is MSH-1, so MSH-n is piece n-1. */
static span field(span segment, uint8_t separator, size_t n)
{
    int is_msh = segment.length >= 3 && memcmp(segment.at, "MSH", 3) == 0;
    return piece(segment, separator, is_msh ? n - 1 : n);
}

static int digits(span s, size_t from, size_t count, int *value)
{
    if (from + count > s.length)
        return 0;
    int v = 0;
    for (size_t i = from; i < from + count; i++) {
        if (s.at[i] < '0' || s.at[i] > '9')
            return 0;
        v = v * 10 + (s.at[i] - '0');
    }
    *value = v;
    return 1;
}

/* An HL7 DTM (YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]) in seconds since 1970 UTC; 0 if absent or malformed. */
static uint32_t timestamp_of(span s)
{
    int year, month, day, hour, minute, second = 0;
    if (!digits(s, 0, 4, &year) || !digits(s, 4, 2, &month) || !digits(s, 6, 2, &day) || !digits(s, 8, 2, &hour) ||
        !digits(s, 10, 2, &minute))
        return 0;
    size_t at = 12;
    if (digits(s, 12, 2, &second))
        at = 14;
    if (at < s.length && s.at[at] == '.')
        for (at++; at < s.length && s.at[at] >= '0' && s.at[at] <= '9'; at++)
            ;
    uint32_t local = civil_to_unix(year, month, day, hour, minute, second);
    if (local == 0 || at == s.length)
        return local;
    int offset_hours, offset_minutes;
    if ((s.at[at] != '+' && s.at[at] != '-') || !digits(s, at + 1, 2, &offset_hours) ||
        !digits(s, at + 3, 2, &offset_minutes) || at + 5 != s.length)
        return 0;
    int32_t offset = offset_hours * 3600 + offset_minutes * 60;
    return s.at[at] == '+' ? local - (uint32_t)offset : local + (uint32_t)offset;
}

/* A decimal number: an optional sign, digits, at most one point, at most 9 significant digits. */
static int decimal_of(span s, int32_t *mantissa, int8_t *exponent)
{
    size_t i = 0;
    int negative = 0, digit_count = 0, decimals = -1;
    int32_t value = 0;
    if (i < s.length && (s.at[i] == '-' || s.at[i] == '+'))
        negative = s.at[i++] == '-';
    for (; i < s.length; i++) {
        if (s.at[i] == '.' && decimals < 0) {
            decimals = 0;
        } else if (s.at[i] >= '0' && s.at[i] <= '9' && digit_count < 9) {
            value = value * 10 + (s.at[i] - '0');
            digit_count++;
            if (decimals >= 0)
                decimals++;
        } else {
            return 0;
        }
    }
    if (digit_count == 0)
        return 0;
    *mantissa = negative ? -value : value;
    *exponent = (int8_t)(decimals > 0 ? -decimals : 0);
    return 1;
}

/* An MDC-coded CWE (code^name^MDC): its numeric code, or 0. */
static uint32_t mdc_code(span cwe, uint8_t component)
{
    span code = piece(cwe, component, 0), system = piece(cwe, component, 2);
    if (!span_is(system, "MDC") || code.length == 0 || code.length > 9)
        return 0;
    uint32_t value = 0;
    for (size_t i = 0; i < code.length; i++) {
        if (code.at[i] < '0' || code.at[i] > '9')
            return 0;
        value = value * 10 + (uint32_t)(code.at[i] - '0');
    }
    return value;
}

static span strip_frame(const uint8_t *message, size_t length)
{
    span s = {message, length};
    if (s.length > 0 && s.at[0] == HL7_MLLP_START) {
        s.at++;
        s.length--;
    }
    return s;
}

/* The MSH segment's separators; 0 if the message does not start with a well-formed MSH. */
static int separators(span message, uint8_t *field_separator, uint8_t *component_separator)
{
    if (message.length < 8 || memcmp(message.at, "MSH", 3) != 0)
        return 0;
    *field_separator = message.at[3];
    *component_separator = message.at[4];
    return *field_separator != '\r' && *component_separator != '\r' && *field_separator != *component_separator;
}

int hl7_parse(const uint8_t *message, size_t length, reading *readings, size_t capacity)
{
    span whole = strip_frame(message, length);
    if (whole.length > HL7_MAX_MESSAGE_BYTES)
        return PARSE_OVERSIZED;
    uint8_t bar, hat;
    if (!separators(whole, &bar, &hat))
        return PARSE_MALFORMED;
    span msh = piece(whole, '\r', 0);
    span type = field(msh, bar, 9);
    if (!span_is(piece(type, hat, 0), "ORU") || !span_is(piece(type, hat, 1), "R01"))
        return 0;
    uint32_t message_time = timestamp_of(field(msh, bar, 7));
    size_t count = 0;
    for (size_t n = 1;; n++) {
        span segment = piece(whole, '\r', n);
        if (segment.at >= whole.at + whole.length)
            break;
        if (segment.length < 3 || memcmp(segment.at, "OBX", 3) != 0 || !span_is(field(segment, bar, 2), "NM"))
            continue;
        uint32_t metric = mdc_code(field(segment, bar, 3), hat), unit = mdc_code(field(segment, bar, 6), hat);
        int32_t mantissa;
        int8_t exponent;
        /* OBX-11 "X": the result cannot be obtained. */
        if (!metric || !unit || span_is(field(segment, bar, 11), "X") ||
            !decimal_of(field(segment, bar, 5), &mantissa, &exponent))
            continue;
        uint32_t time = timestamp_of(field(segment, bar, 14));
        count = reading_append(readings, count, capacity, metric, unit, mantissa, exponent,
                               time ? time : message_time);
    }
    return (int)count;
}

typedef struct {
    uint8_t *out;
    size_t capacity, length;
    int overflowed;
} writer;

static void put(writer *w, const uint8_t *bytes, size_t length)
{
    if (w->length + length > w->capacity) {
        w->overflowed = 1;
        return;
    }
    memcpy(w->out + w->length, bytes, length);
    w->length += length;
}

static void put_text(writer *w, const char *text) { put(w, (const uint8_t *)text, strlen(text)); }
static void put_span(writer *w, span s) { put(w, s.at, s.length); }
static void put_byte(writer *w, uint8_t byte) { put(w, &byte, 1); }

size_t hl7_ack(const uint8_t *message, size_t length, const char *timestamp, uint8_t *out, size_t capacity)
{
    span whole = strip_frame(message, length);
    uint8_t bar, hat;
    if (!separators(whole, &bar, &hat))
        return 0;
    span msh = piece(whole, '\r', 0);
    writer w = {out, capacity, 0, 0};
    put_byte(&w, HL7_MLLP_START);
    put(&w, msh.at, 3);
    put_byte(&w, bar);
    put_span(&w, field(msh, bar, 2));
    /* MSH-3..6: the receiver's application and facility become the sender's. */
    static const size_t swapped[] = {5, 6, 3, 4};
    for (size_t i = 0; i < 4; i++) {
        put_byte(&w, bar);
        put_span(&w, field(msh, bar, swapped[i]));
    }
    put_byte(&w, bar);
    put_text(&w, timestamp);
    put_byte(&w, bar);
    put_byte(&w, bar);
    put_text(&w, "ACK");
    put_byte(&w, hat);
    put_span(&w, piece(field(msh, bar, 9), hat, 1));
    put_byte(&w, hat);
    put_text(&w, "ACK");
    for (size_t n = 10; n <= 12; n++) {
        put_byte(&w, bar);
        put_span(&w, field(msh, bar, n));
    }
    put_text(&w, "\rMSA");
    put_byte(&w, bar);
    put_text(&w, "AA");
    put_byte(&w, bar);
    put_span(&w, field(msh, bar, 10));
    put_text(&w, "\r\x1c\r");
    return w.overflowed ? 0 : w.length;
}
