#include "datex.h"

#include "byte_order.h"
#include "stuffed_frame.h"

/* Offsets in a dri_phdb subrecord (its time, then the basic class's groups, each after a 6-byte group
 * header {status u32, label u16}), as the public S/5 interface declarations lay it out. */
enum {
    PHDB_TIME = 0,
    PHDB_ECG_HR = 10,
    PHDB_NIBP_SYS = 82,
    PHDB_NIBP_DIA = 84,
    PHDB_NIBP_MEAN = 86,
    PHDB_T1 = 96,
    PHDB_SPO2 = 128,
    PHDB_SPO2_PULSE_RATE = 130,
    PHDB_CO2_ET = 142,
    PHDB_CO2_RR = 146,
    PHDB_CO2_AMBIENT_PRESSURE = 148,
    PHDB_BASIC_BYTES = 150,
};

/* Values at or below this are "no data" or flags, not measurements. */
#define DATEX_LOWEST_VALID (-32001)

static uint8_t sum8(const uint8_t *bytes, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + bytes[i]);
    return sum;
}

static int16_t value_at(const uint8_t *subrecord, size_t offset)
{
    return (int16_t)read_le16(subrecord + offset);
}

static size_t append_if_valid(reading *readings, size_t count, size_t capacity, uint32_t metric, uint32_t unit,
                              int16_t value, int8_t exponent, uint32_t time)
{
    if (value <= DATEX_LOWEST_VALID)
        return count;
    return reading_append(readings, count, capacity, metric, unit, value, exponent, time);
}

static size_t displayed_values(const uint8_t *phdb, uint32_t record_time, reading *readings, size_t capacity)
{
    uint32_t time = read_le32(phdb + PHDB_TIME);
    if (time == 0)
        time = record_time;
    size_t count = 0;
    count = append_if_valid(readings, count, capacity, MDC_ECG_HEART_RATE, MDC_DIM_BEAT_PER_MIN,
                            value_at(phdb, PHDB_ECG_HR), 0, time);
    count = append_if_valid(readings, count, capacity, MDC_PRESS_BLD_NONINV_SYS, MDC_DIM_MMHG,
                            value_at(phdb, PHDB_NIBP_SYS), -2, time);
    count = append_if_valid(readings, count, capacity, MDC_PRESS_BLD_NONINV_DIA, MDC_DIM_MMHG,
                            value_at(phdb, PHDB_NIBP_DIA), -2, time);
    count = append_if_valid(readings, count, capacity, MDC_PRESS_BLD_NONINV_MEAN, MDC_DIM_MMHG,
                            value_at(phdb, PHDB_NIBP_MEAN), -2, time);
    count = append_if_valid(readings, count, capacity, MDC_TEMP_BODY, MDC_DIM_DEGC, value_at(phdb, PHDB_T1), -2,
                            time);
    count = append_if_valid(readings, count, capacity, MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT,
                            value_at(phdb, PHDB_SPO2), -2, time);
    count = append_if_valid(readings, count, capacity, MDC_PULS_OXIM_PULS_RATE, MDC_DIM_BEAT_PER_MIN,
                            value_at(phdb, PHDB_SPO2_PULSE_RATE), 0, time);
    count = append_if_valid(readings, count, capacity, MDC_RESP_RATE, MDC_DIM_RESP_PER_MIN,
                            value_at(phdb, PHDB_CO2_RR), 0, time);
    /* End-tidal CO2 comes as a fraction (0.01 %) of the ambient pressure (0.1 mmHg): their product is mmHg
     * at 1e-5, exact in 32 bits. */
    int16_t et = value_at(phdb, PHDB_CO2_ET), ambient = value_at(phdb, PHDB_CO2_AMBIENT_PRESSURE);
    if (et > DATEX_LOWEST_VALID && ambient > 0)
        count = reading_append(readings, count, capacity, MDC_AWAY_CO2_ET, MDC_DIM_MMHG, (int32_t)et * ambient, -5,
                               time);
    return count;
}

int datex_parse(const uint8_t *frame, size_t length, reading *readings, size_t capacity)
{
    if (length < DATEX_HEADER_BYTES + 1)
        return PARSE_TRUNCATED;
    size_t record_bytes = length - 1;
    if (record_bytes > DATEX_MAX_RECORD_BYTES)
        return PARSE_OVERSIZED;
    if (sum8(frame, record_bytes) != frame[record_bytes])
        return PARSE_BAD_CHECKSUM;
    if (read_le16(frame) != record_bytes)
        return PARSE_MALFORMED;
    if ((int16_t)read_le16(frame + 14) != DATEX_MAINTYPE_PHDB)
        return 0;
    uint32_t record_time = read_le32(frame + 6);
    const uint8_t *data = frame + DATEX_HEADER_BYTES;
    size_t data_bytes = record_bytes - DATEX_HEADER_BYTES;
    size_t count = 0;
    for (size_t n = 0; n < 8; n++) {
        const uint8_t *descriptor = frame + 16 + 3 * n;
        uint8_t type = descriptor[2];
        if (type == DATEX_SUBRECORD_END)
            break;
        int16_t offset = (int16_t)read_le16(descriptor);
        if (offset < 0 || (size_t)offset + PHDB_BASIC_BYTES > data_bytes)
            return PARSE_MALFORMED;
        if (type == DATEX_SUBRECORD_DISPLAYED)
            count += displayed_values(data + offset, record_time, readings + count, capacity - count);
    }
    return (int)count;
}

size_t datex_request_displayed(int16_t interval_s, uint8_t *out, size_t capacity)
{
    uint8_t record[DATEX_REQUEST_BYTES + 1] = {0};
    write_le16(record, DATEX_REQUEST_BYTES);
    /* Main type 0 (physiological data); one subrecord (the request, type 0) at offset 0, then the end mark. */
    record[16 + 3 + 2] = DATEX_SUBRECORD_END;
    uint8_t *request = record + DATEX_HEADER_BYTES;
    request[0] = DATEX_SUBRECORD_DISPLAYED;
    write_le16(request + 1, (uint16_t)interval_s);
    /* class_bf 0: the basic class only; then a reserved word. */
    record[DATEX_REQUEST_BYTES] = sum8(record, DATEX_REQUEST_BYTES);
    return stuffed_frame_encode(DATEX_FLAG, DATEX_FLAG, record, sizeof record, out, capacity);
}
