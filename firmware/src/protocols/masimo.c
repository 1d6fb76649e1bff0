#include "masimo.h"

#include <string.h>

#include "core/civil_time.h"

typedef struct {
    const char *key;
    uint32_t metric, unit;
} masimo_field;

static const masimo_field FIELDS[] = {
    {"SPO2", MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT},
    {"BPM", MDC_PULS_OXIM_PULS_RATE, MDC_DIM_BEAT_PER_MIN},
    {"PI", MDC_PULS_OXIM_PERF_REL, MDC_DIM_PERCENT},
};

static int two_digits(const uint8_t *p)
{
    return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' ? (p[0] - '0') * 10 + (p[1] - '0') : -1;
}

/* "MM/DD/YY HH:MM:SS" (17 characters); the years are this century's. */
static uint32_t line_time(const uint8_t *line)
{
    if (line[2] != '/' || line[5] != '/' || line[8] != ' ' || line[11] != ':' || line[14] != ':')
        return 0;
    int month = two_digits(line), day = two_digits(line + 3), year = two_digits(line + 6);
    int hour = two_digits(line + 9), minute = two_digits(line + 12), second = two_digits(line + 15);
    if (year < 0)
        return 0;
    return civil_to_unix(2000 + year, month, day, hour, minute, second);
}

/* A value such as 098, 03.60, with an optional unit character after it; 0 if not a number ("---"). */
static int value_of(const uint8_t *text, size_t length, int32_t *mantissa, int8_t *exponent)
{
    int32_t value = 0;
    int digits = 0, decimals = -1;
    size_t i = 0;
    for (; i < length; i++) {
        if (text[i] >= '0' && text[i] <= '9' && digits < 9) {
            value = value * 10 + (text[i] - '0');
            digits++;
            if (decimals >= 0)
                decimals++;
        } else if (text[i] == '.' && decimals < 0 && digits > 0) {
            decimals = 0;
        } else {
            break;
        }
    }
    /* At most a unit after the number. */
    if (digits == 0 || length - i > 1 || (i < length && text[i] != '%'))
        return 0;
    *mantissa = value;
    *exponent = (int8_t)(decimals > 0 ? -decimals : 0);
    return 1;
}

static int hex_of(const uint8_t *text, size_t length, uint32_t *value)
{
    if (length == 0 || length > 8)
        return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < length; i++) {
        uint8_t c = text[i];
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return 0;
        v = v << 4 | (uint32_t)digit;
    }
    *value = v;
    return 1;
}

int masimo_parse(const uint8_t *line, size_t length, reading *readings, size_t capacity)
{
    if (length > MASIMO_MAX_LINE_BYTES)
        return PARSE_OVERSIZED;
    if (length < 17)
        return PARSE_TRUNCATED;
    uint32_t time = line_time(line);
    if (time == 0)
        return PARSE_MALFORMED;
    size_t count = 0;
    uint32_t exceptions = 0;
    int saw_exceptions = 0;
    for (size_t at = 17; at < length;) {
        while (at < length && line[at] == ' ')
            at++;
        size_t start = at;
        while (at < length && line[at] != ' ')
            at++;
        const uint8_t *token = line + start, *equals = memchr(token, '=', at - start);
        if (!equals)
            continue;
        size_t key_length = (size_t)(equals - token), value_length = at - start - key_length - 1;
        const uint8_t *value = equals + 1;
        if (key_length == 3 && memcmp(token, "EXC", 3) == 0) {
            if (!hex_of(value, value_length, &exceptions))
                return PARSE_MALFORMED;
            saw_exceptions = 1;
            continue;
        }
        for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
            int32_t mantissa;
            int8_t exponent;
            if (strlen(FIELDS[i].key) == key_length && memcmp(token, FIELDS[i].key, key_length) == 0 &&
                value_of(value, value_length, &mantissa, &exponent))
                count = reading_append(readings, count, capacity, FIELDS[i].metric, FIELDS[i].unit, mantissa,
                                       exponent, time);
        }
    }
    if (saw_exceptions && (exceptions & (MASIMO_EXC_NO_SENSOR | MASIMO_EXC_SENSOR_OFF)))
        return 0;
    return (int)count;
}
