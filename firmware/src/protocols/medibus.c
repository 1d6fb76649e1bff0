#include "medibus.h"

static const char HEX[] = "0123456789ABCDEF";

typedef struct {
    uint8_t code;
    uint32_t metric, unit;
} medibus_code;

/* Code page 1. Pressures come in mbar, which is hPa. */
static const medibus_code CODE_PAGE_1[] = {
    {0x7D, MDC_PRESS_AWAY_INSP_PEAK, MDC_DIM_HECTO_PASCAL},
    {0x78, MDC_PRESS_AWAY_END_EXP_POS, MDC_DIM_HECTO_PASCAL},
    {0x88, MDC_VOL_AWAY_TIDAL, MDC_DIM_MILLI_L},
    {0xEB, MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT},
    {0xE6, MDC_AWAY_CO2_ET, MDC_DIM_MMHG},
};

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex_byte(const uint8_t *two)
{
    int high = hex_digit(two[0]), low = hex_digit(two[1]);
    return high < 0 || low < 0 ? -1 : high * 16 + low;
}

int medibus_check(const uint8_t *frame, size_t length)
{
    if (length < 4)
        return PARSE_TRUNCATED;
    if (length > MEDIBUS_MAX_FRAME_BYTES)
        return PARSE_OVERSIZED;
    if (frame[0] != MEDIBUS_ESC && frame[0] != MEDIBUS_SOH)
        return PARSE_MALFORMED;
    uint8_t sum = 0;
    for (size_t i = 0; i < length - 2; i++)
        sum = (uint8_t)(sum + frame[i]);
    int sent = hex_byte(frame + length - 2);
    if (sent < 0)
        return PARSE_MALFORMED;
    if (sent != sum)
        return PARSE_BAD_CHECKSUM;
    return (int)(length - 4);
}

/* A 4-character value: spaces, an optional sign, digits and at most one decimal point. */
static int decimal(const uint8_t *text, int32_t *mantissa, int8_t *exponent)
{
    int32_t value = 0;
    int negative = 0, digits = 0, decimals = -1;
    for (int i = 0; i < 4; i++) {
        uint8_t c = text[i];
        if (c == ' ' && digits == 0 && decimals < 0 && !negative)
            continue;
        if (c == '-' && digits == 0 && decimals < 0 && !negative) {
            negative = 1;
        } else if (c == '.' && decimals < 0) {
            decimals = 0;
        } else if (c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
            digits++;
            if (decimals >= 0)
                decimals++;
        } else if (c == ' ') {
            /* Trailing spaces end a value. */
            for (int j = i; j < 4; j++)
                if (text[j] != ' ')
                    return 0;
            break;
        } else {
            return 0;
        }
    }
    if (digits == 0)
        return 0;
    *mantissa = negative ? -value : value;
    *exponent = (int8_t)(decimals > 0 ? -decimals : 0);
    return 1;
}

int medibus_parse(const uint8_t *frame, size_t length, reading *readings, size_t capacity)
{
    int data_length = medibus_check(frame, length);
    if (data_length < 0)
        return data_length;
    if (frame[0] != MEDIBUS_SOH || frame[1] != MEDIBUS_CURRENT_DATA_CP1)
        return 0;
    if (data_length % 6 != 0)
        return PARSE_MALFORMED;
    size_t count = 0;
    for (const uint8_t *record = frame + 2; record < frame + 2 + data_length; record += 6) {
        int code = hex_byte(record);
        if (code < 0)
            return PARSE_MALFORMED;
        int32_t mantissa;
        int8_t exponent;
        if (!decimal(record + 2, &mantissa, &exponent))
            continue; /* a blank or dashed value: not measured now */
        for (size_t i = 0; i < sizeof CODE_PAGE_1 / sizeof CODE_PAGE_1[0]; i++)
            if (CODE_PAGE_1[i].code == code)
                count = reading_append(readings, count, capacity, CODE_PAGE_1[i].metric, CODE_PAGE_1[i].unit,
                                       mantissa, exponent, 0);
    }
    return (int)count;
}

size_t medibus_frame(uint8_t lead, uint8_t command, const uint8_t *data, size_t data_length, uint8_t *out,
                     size_t capacity)
{
    size_t length = data_length + 5;
    if (capacity < length)
        return 0;
    out[0] = lead;
    out[1] = command;
    uint8_t sum = (uint8_t)(lead + command);
    for (size_t i = 0; i < data_length; i++) {
        out[2 + i] = data[i];
        sum = (uint8_t)(sum + data[i]);
    }
    out[2 + data_length] = (uint8_t)HEX[sum >> 4];
    out[3 + data_length] = (uint8_t)HEX[sum & 0x0F];
    out[4 + data_length] = MEDIBUS_CR;
    return length;
}
