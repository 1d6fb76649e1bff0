/* Datex-Ohmeda S/5: records built the way the monitor lays them out, framed, escaped and parsed back. */
#include "check.h"
#include "find_reading.h"
#include "feed.h"
#include "protocols/byte_order.h"
#include "protocols/datex.h"

#define SUBRECORD_BYTES 270
#define RECORD_BYTES (DATEX_HEADER_BYTES + SUBRECORD_BYTES)
#define TIME 1795838400u

static uint8_t record[RECORD_BYTES + 1];

/* A displayed-values record: HR 72, NIBP 120/80/93 mmHg, T1 36.60 C, SpO2 98.00 %, pulse 71, etCO2 5.00 % of
 * 760.0 mmHg, respiration 14. */
static void build_record(void)
{
    memset(record, 0, sizeof record);
    write_le16(record, RECORD_BYTES);
    write_le32(record + 6, TIME - 1);
    write_le16(record + 14, DATEX_MAINTYPE_PHDB);
    record[16 + 2] = DATEX_SUBRECORD_DISPLAYED;
    record[16 + 3 + 2] = DATEX_SUBRECORD_END;
    uint8_t *phdb = record + DATEX_HEADER_BYTES;
    write_le32(phdb, TIME);
    write_le16(phdb + 10, 72);
    write_le16(phdb + 82, 12000);
    write_le16(phdb + 84, 8000);
    write_le16(phdb + 86, 9300);
    write_le16(phdb + 96, 3660);
    write_le16(phdb + 128, 9800);
    write_le16(phdb + 130, 71);
    write_le16(phdb + 142, 500);
    write_le16(phdb + 146, 14);
    write_le16(phdb + 148, 7600);
}

static void seal(void)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < RECORD_BYTES; i++)
        sum = (uint8_t)(sum + record[i]);
    record[RECORD_BYTES] = sum;
}

static void a_displayed_values_record_gives_each_vital_sign_with_its_unit_and_time(void)
{
    build_record();
    seal();
    reading readings[16];
    int count = datex_parse(record, sizeof record, readings, 16);
    CHECK_INT(count, 9);
    const reading *hr = find(readings, count, MDC_ECG_HEART_RATE);
    CHECK(hr && hr->mantissa == 72 && hr->exponent == 0 && hr->unit == MDC_DIM_BEAT_PER_MIN && hr->device_time == TIME);
    const reading *sys = find(readings, count, MDC_PRESS_BLD_NONINV_SYS);
    CHECK(sys && sys->mantissa == 12000 && sys->exponent == -2 && sys->unit == MDC_DIM_MMHG);
    const reading *spo2 = find(readings, count, MDC_PULS_OXIM_SAT_O2);
    CHECK(spo2 && spo2->mantissa == 9800 && spo2->exponent == -2 && spo2->unit == MDC_DIM_PERCENT);
    const reading *temp = find(readings, count, MDC_TEMP_BODY);
    CHECK(temp && temp->mantissa == 3660 && temp->unit == MDC_DIM_DEGC);
    /* 5.00 % of 760.0 mmHg is 38.0 mmHg. */
    const reading *co2 = find(readings, count, MDC_AWAY_CO2_ET);
    CHECK(co2 && co2->mantissa == 3800000 && co2->exponent == -5 && co2->unit == MDC_DIM_MMHG);
}

static void invalid_and_absent_values_are_left_out(void)
{
    build_record();
    write_le16(record + DATEX_HEADER_BYTES + 10, (uint16_t)-32767); /* no data */
    write_le16(record + DATEX_HEADER_BYTES + 128, (uint16_t)-32002);
    seal();
    reading readings[16];
    int count = datex_parse(record, sizeof record, readings, 16);
    CHECK_INT(count, 7);
    CHECK(find(readings, count, MDC_ECG_HEART_RATE) == NULL);
    CHECK(find(readings, count, MDC_PULS_OXIM_SAT_O2) == NULL);
}

static void a_wrong_checksum_is_refused(void)
{
    build_record();
    seal();
    record[RECORD_BYTES] ^= 0x01;
    reading readings[16];
    CHECK_INT(datex_parse(record, sizeof record, readings, 16), PARSE_BAD_CHECKSUM);
}

static void truncated_mislabelled_and_oversized_records_are_refused(void)
{
    build_record();
    seal();
    reading readings[16];
    CHECK_INT(datex_parse(record, 20, readings, 16), PARSE_TRUNCATED);
    /* A record cut short: its length field no longer matches (the checksum is fixed to match). */
    uint8_t shorter[RECORD_BYTES];
    memcpy(shorter, record, RECORD_BYTES - 1);
    uint8_t sum = 0;
    for (size_t i = 0; i < RECORD_BYTES - 1; i++)
        sum = (uint8_t)(sum + shorter[i]);
    shorter[RECORD_BYTES - 1] = sum;
    CHECK_INT(datex_parse(shorter, RECORD_BYTES, readings, 16), PARSE_MALFORMED);
    static uint8_t huge[DATEX_MAX_RECORD_BYTES + 2];
    CHECK_INT(datex_parse(huge, sizeof huge, readings, 16), PARSE_OVERSIZED);
}

static void a_subrecord_pointing_past_the_record_is_malformed(void)
{
    build_record();
    write_le16(record + 16, SUBRECORD_BYTES - 100);
    seal();
    reading readings[16];
    CHECK_INT(datex_parse(record, sizeof record, readings, 16), PARSE_MALFORMED);
}

static void other_record_types_give_nothing(void)
{
    build_record();
    write_le16(record + 14, 1); /* an alarm record */
    seal();
    reading readings[16];
    CHECK_INT(datex_parse(record, sizeof record, readings, 16), 0);
}

static void no_more_readings_than_the_caller_has_room_for(void)
{
    build_record();
    seal();
    reading readings[3];
    CHECK_INT(datex_parse(record, sizeof record, readings, 3), 3);
}

static void a_record_with_flag_bytes_survives_the_wire(void)
{
    /* Values holding 7E and 7D, and a checksum that must itself be escaped. */
    build_record();
    write_le16(record + DATEX_HEADER_BYTES + 10, 0x7E);
    write_le16(record + DATEX_HEADER_BYTES + 130, 0x7D);
    seal();
    for (uint8_t pad = 0; record[RECORD_BYTES] != 0x7E; pad++) {
        record[DATEX_HEADER_BYTES + 260] = pad;
        seal();
    }
    static uint8_t wire[DATEX_MAX_FRAME_BYTES], buffer[DATEX_MAX_RECORD_BYTES + 1];
    size_t length = stuffed_frame_encode(DATEX_FLAG, DATEX_FLAG, record, sizeof record, wire, sizeof wire);
    CHECK(length > sizeof record + 2);
    stuffed_frame state;
    stuffed_frame_init(&state, DATEX_FLAG, DATEX_FLAG, buffer, sizeof buffer);
    static fed out;
    memset(&out, 0, sizeof out);
    static const uint8_t noise[] = {0x12, 0x7D, 0x34};
    feed_stuffed(&state, noise, sizeof noise, &out);
    feed_stuffed(&state, wire, length, &out);
    reading readings[16];
    /* The noise before the first flag is skipped; the record comes through whole. */
    CHECK_INT(out.frames, 1);
    int count = datex_parse(out.bytes[0], out.lengths[0], readings, 16);
    CHECK_INT(count, 9);
    const reading *hr = find(readings, count, MDC_ECG_HEART_RATE);
    CHECK(hr && hr->mantissa == 0x7E);
}

static void the_request_asks_for_displayed_basic_values_every_interval(void)
{
    uint8_t wire[2 * DATEX_REQUEST_BYTES + 4], buffer[64];
    size_t length = datex_request_displayed(10, wire, sizeof wire);
    CHECK(length >= DATEX_REQUEST_BYTES + 3);
    static fed out;
    unstuff(DATEX_FLAG, DATEX_FLAG, wire, length, buffer, sizeof buffer, &out);
    CHECK_INT(out.frames, 1);
    const uint8_t *request = out.bytes[0];
    CHECK_INT(out.lengths[0], DATEX_REQUEST_BYTES + 1);
    CHECK_INT(read_le16(request), DATEX_REQUEST_BYTES);
    CHECK_INT(read_le16(request + 14), DATEX_MAINTYPE_PHDB);
    CHECK_INT(request[16 + 2], 0);
    CHECK_INT(request[16 + 3 + 2], DATEX_SUBRECORD_END);
    CHECK_INT(request[40], DATEX_SUBRECORD_DISPLAYED);
    CHECK_INT(read_le16(request + 41), 10);
    CHECK_INT(read_le32(request + 43), 0);
    uint8_t sum = 0;
    for (size_t i = 0; i < DATEX_REQUEST_BYTES; i++)
        sum = (uint8_t)(sum + request[i]);
    CHECK_INT(request[DATEX_REQUEST_BYTES], sum);
    CHECK_INT(datex_request_displayed(10, wire, 20), 0);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(a_displayed_values_record_gives_each_vital_sign_with_its_unit_and_time),
        TEST(invalid_and_absent_values_are_left_out),
        TEST(a_wrong_checksum_is_refused),
        TEST(truncated_mislabelled_and_oversized_records_are_refused),
        TEST(a_subrecord_pointing_past_the_record_is_malformed),
        TEST(other_record_types_give_nothing),
        TEST(no_more_readings_than_the_caller_has_room_for),
        TEST(a_record_with_flag_bytes_survives_the_wire),
        TEST(the_request_asks_for_displayed_basic_values_every_interval),
    };
    return CHECK_MAIN("datex", tests);
}
