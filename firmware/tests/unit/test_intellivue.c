/* Philips IntelliVue MIB/RS232: the FCS, the frame header, and numerics out of poll replies built as the
 * monitor sends them. */
#include "check.h"
#include "find_reading.h"
#include "feed.h"
#include "protocols/byte_order.h"
#include "protocols/intellivue.h"

static uint8_t pdu[512];
static size_t pdu_length;

static void word(uint16_t value)
{
    write_be16(pdu + pdu_length, value);
    pdu_length += 2;
}

static void numeric_value(uint16_t physio, uint16_t state, uint16_t unit, uint32_t value)
{
    word(physio);
    word(state);
    word(unit);
    word((uint16_t)(value >> 16));
    word((uint16_t)value);
}

/* A poll reply (RORS, or a linked result) at 2026-11-28 04:00:00 with one context and two observations: SpO2
 * 98 % and HR 72 /min as plain numerics, and NIBP 120/80/93 mmHg as a compound one. `state` marks the
 * SpO2 value. */
static void build_reply(uint16_t ro_type, uint16_t spo2_state)
{
    pdu_length = 0;
    word(0xE100);
    word(0x0002);
    word(ro_type);
    size_t ro_length_at = pdu_length;
    word(0);
    if (ro_type == 5)
        word(0x0101);
    word(1);      /* invoke id */
    word(7);      /* confirmed action */
    word(0);      /* length, unchecked */
    word(33);     /* MDS */
    word(0);
    word(0);
    word(0x0C16); /* poll MDIB data */
    word(0);
    word(1);      /* poll number */
    word(0);
    word(0);      /* relative time */
    static const uint8_t when[8] = {0x20, 0x26, 0x11, 0x28, 0x04, 0x00, 0x00, 0x00};
    memcpy(pdu + pdu_length, when, 8);
    pdu_length += 8;
    word(1);
    word(6);      /* numerics */
    word(0);      /* attribute group */
    word(1);      /* one context */
    word(0);
    word(0);      /* context id */
    word(2);      /* two observations */
    word(0);
    word(0x0101); /* handle */
    word(2);      /* two attributes */
    word(0);
    word(0x0950);
    word(10);
    numeric_value(19384, spo2_state, 544, 0x00000062);     /* 98 % */
    word(0x0950);
    word(10);
    numeric_value(16770, 0, 2720, 0xFF0002D0);             /* 72.0 = 720 x 10^-1 /min */
    word(0x0102);
    word(1);
    word(0);
    word(0x094B);
    word(4 + 3 * 10);
    word(3);
    word(3 * 10);
    numeric_value(18949, 0, 3872, 120);
    numeric_value(18950, 0, 3872, 80);
    numeric_value(18951, 0, 3872, 93);
    write_be16(pdu + ro_length_at, (uint16_t)(pdu_length - ro_length_at - 2));
}

static void the_fcs_is_crc16_x25(void)
{
    CHECK_INT(intellivue_fcs((const uint8_t *)"123456789", 9), 0x906E);
    /* RFC 1662's good residue: the FCS over data and its own FCS (low byte first). */
    uint8_t bytes[6] = {0x11, 0x01, 0x00, 0x00};
    write_le16(bytes + 4, intellivue_fcs(bytes, 4));
    CHECK_INT((uint16_t)~intellivue_fcs(bytes, 6), 0xF0B8);
}

static void a_poll_reply_gives_plain_and_compound_numerics(void)
{
    build_reply(2, 0);
    reading readings[8];
    int count = intellivue_parse(pdu, pdu_length, readings, 8);
    CHECK_INT(count, 5);
    const reading *spo2 = find(readings, count, MDC_PULS_OXIM_SAT_O2);
    CHECK(spo2 && spo2->mantissa == 98 && spo2->exponent == 0 && spo2->unit == MDC_DIM_PERCENT);
    CHECK(spo2 && spo2->device_time == 1795838400u);
    const reading *hr = find(readings, count, MDC_ECG_HEART_RATE);
    CHECK(hr && hr->mantissa == 720 && hr->exponent == -1 && hr->unit == MDC_DIM_BEAT_PER_MIN);
    const reading *dia = find(readings, count, MDC_PRESS_BLD_NONINV_DIA);
    CHECK(dia && dia->mantissa == 80 && dia->unit == MDC_DIM_MMHG);
}

static void a_linked_reply_is_read_like_a_single_one(void)
{
    build_reply(5, 0);
    reading readings[8];
    CHECK_INT(intellivue_parse(pdu, pdu_length, readings, 8), 5);
}

static void invalid_and_special_values_are_left_out(void)
{
    build_reply(2, 0x8000);
    reading readings[8];
    int count = intellivue_parse(pdu, pdu_length, readings, 8);
    CHECK_INT(count, 4);
    CHECK(find(readings, count, MDC_PULS_OXIM_SAT_O2) == NULL);
    build_reply(2, 0);
    /* The HR's FLOAT becomes NaN (0x007FFFFF). */
    for (size_t i = 0; i + 10 <= pdu_length; i++)
        if (read_be16(pdu + i) == 16770 && read_be16(pdu + i + 4) == 2720) {
            write_be16(pdu + i + 6, 0x007F);
            write_be16(pdu + i + 8, 0xFFFF);
        }
    count = intellivue_parse(pdu, pdu_length, readings, 8);
    CHECK(find(readings, count, MDC_ECG_HEART_RATE) == NULL);
}

static void a_reply_cut_anywhere_is_refused_without_reading_past_it(void)
{
    build_reply(2, 0);
    reading readings[8];
    for (size_t cut = 0; cut < pdu_length; cut++) {
        int result = intellivue_parse(pdu, cut, readings, 8);
        CHECK(result == PARSE_TRUNCATED || result == PARSE_MALFORMED || (result >= 0 && result < 5));
    }
}

static void an_attribute_claiming_more_bytes_than_there_are_is_malformed(void)
{
    build_reply(2, 0);
    /* The first attribute's length (right after its id 0x0950) grows past the PDU. */
    for (size_t i = 0; i + 4 <= pdu_length; i++)
        if (read_be16(pdu + i) == 0x0950) {
            write_be16(pdu + i + 2, 0x4000);
            break;
        }
    reading readings[8];
    CHECK_INT(intellivue_parse(pdu, pdu_length, readings, 8), PARSE_MALFORMED);
}

static void other_pdus_give_nothing(void)
{
    build_reply(1, 0); /* a remote invoke, not a result */
    reading readings[8];
    CHECK_INT(intellivue_parse(pdu, pdu_length, readings, 8), 0);
}

static size_t wrap(const uint8_t *data, size_t length, uint8_t *frame)
{
    frame[0] = 0x11;
    frame[1] = 0x01;
    write_be16(frame + 2, (uint16_t)length);
    memcpy(frame + 4, data, length);
    write_le16(frame + 4 + length, intellivue_fcs(frame, 4 + length));
    return length + 6;
}

static void a_frame_over_the_wire_unwraps_to_its_data(void)
{
    build_reply(2, 0);
    static uint8_t frame[600], wire[1300], buffer[INTELLIVUE_MAX_FRAME_BYTES];
    size_t frame_length = wrap(pdu, pdu_length, frame);
    size_t length = stuffed_frame_encode(INTELLIVUE_BOF, INTELLIVUE_EOF, frame, frame_length, wire, sizeof wire);
    static fed out;
    unstuff(INTELLIVUE_BOF, INTELLIVUE_EOF, wire, length, buffer, sizeof buffer, &out);
    CHECK_INT(out.frames, 1);
    CHECK_INT(intellivue_unwrap(out.bytes[0], out.lengths[0]), (int)pdu_length);
    reading readings[8];
    CHECK_INT(intellivue_parse(out.bytes[0] + INTELLIVUE_HEADER_BYTES, pdu_length, readings, 8), 5);
}

static void a_frame_with_a_bad_fcs_or_length_is_refused(void)
{
    build_reply(2, 0);
    static uint8_t frame[600];
    size_t length = wrap(pdu, pdu_length, frame);
    frame[10] ^= 0x40;
    CHECK_INT(intellivue_unwrap(frame, length), PARSE_BAD_CHECKSUM);
    length = wrap(pdu, pdu_length, frame);
    CHECK_INT(intellivue_unwrap(frame, length - 1), PARSE_TRUNCATED);
    CHECK_INT(intellivue_unwrap(frame, 3), PARSE_TRUNCATED);
    frame[0] = 0x12;
    CHECK_INT(intellivue_unwrap(frame, length), PARSE_UNSUPPORTED);
    frame[0] = 0x11;
    write_be16(frame + 2, INTELLIVUE_MAX_DATA_BYTES + 1);
    CHECK_INT(intellivue_unwrap(frame, length), PARSE_OVERSIZED);
}

static void the_poll_request_is_the_documented_one(void)
{
    static uint8_t wire[100], buffer[100];
    size_t length = intellivue_poll_request(0x0102, 7, wire, sizeof wire);
    CHECK(length > 0);
    static fed out;
    unstuff(INTELLIVUE_BOF, INTELLIVUE_EOF, wire, length, buffer, sizeof buffer, &out);
    CHECK_INT(out.frames, 1);
    CHECK_INT(intellivue_unwrap(out.bytes[0], out.lengths[0]), 36);
    const uint8_t *data = out.bytes[0] + INTELLIVUE_HEADER_BYTES;
    static const uint8_t documented[] = {0xE1, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x1C};
    CHECK(memcmp(data, documented, sizeof documented) == 0);
    CHECK_INT(read_be16(data + 8), 0x0102);
    CHECK_INT(read_be16(data + 24), 0x0C16);
    CHECK_INT(read_be16(data + 28), 7);
    CHECK_INT(read_be16(data + 32), 6);
    CHECK_INT(intellivue_poll_request(1, 1, wire, 30), 0);
}

/* The one frame of `wire` unescaped and unwrapped: its application data's length (its bytes in `out`). */
static int request_data(const uint8_t *wire, size_t length, const uint8_t **data)
{
    static uint8_t buffer[INTELLIVUE_MAX_REQUEST_FRAME_BYTES];
    static fed out;
    unstuff(INTELLIVUE_BOF, INTELLIVUE_EOF, wire, length, buffer, sizeof buffer, &out);
    CHECK_INT(out.frames, 1);
    *data = out.bytes[0] + INTELLIVUE_HEADER_BYTES;
    return intellivue_unwrap(out.bytes[0], out.lengths[0]);
}

static void the_association_request_asks_for_numerics_once_a_second(void)
{
    static uint8_t wire[INTELLIVUE_MAX_REQUEST_FRAME_BYTES];
    const uint8_t *data;
    CHECK_INT(request_data(wire, intellivue_association_request(wire, sizeof wire), &data), 238);
    /* The session header names a connect SPDU and what follows; the presentation header its own rest. */
    CHECK(data[0] == 0x0D && data[1] == 236);
    CHECK(data[16] == 0xC1 && data[17] == 220);
    /* The user information (72 bytes, announced by 81 48 right before it). */
    const uint8_t *user = data + 150;
    CHECK(user[-2] == 0x81 && user[-1] == 72);
    CHECK_INT(read_be32(user), 0x80000000u);      /* MDDL version 1 */
    CHECK_INT(read_be32(user + 12), 0x80000000u); /* a client */
    CHECK_INT(read_be16(user + 28), 0x0001);      /* the poll profile */
    CHECK_INT(read_be32(user + 36), 8000);        /* at most once a second */
    CHECK_INT(read_be16(user + 60), 0xF001);      /* its extension */
    static const uint8_t closing[16] = {0};
    CHECK(memcmp(data + 222, closing, sizeof closing) == 0);
    CHECK_INT(intellivue_association_request(wire, 240), 0); /* not even room for the frame unescaped */
}

static void the_monitors_answers_are_told_apart(void)
{
    intellivue_event event = {0};
    static const uint8_t accepted[] = {0x0E, 0x02, 0x05, 0x08}, refused[] = {0x0C, 0x00}, released[] = {0x0A, 0x00},
                         aborted[] = {0x19, 0x00}, unknown[] = {0x42};
    CHECK_INT(intellivue_classify(accepted, sizeof accepted, &event), INTELLIVUE_ACCEPTED);
    CHECK_INT(intellivue_classify(refused, sizeof refused, &event), INTELLIVUE_ENDED);
    CHECK_INT(intellivue_classify(released, sizeof released, &event), INTELLIVUE_ENDED);
    CHECK_INT(intellivue_classify(aborted, sizeof aborted, &event), INTELLIVUE_ENDED);
    CHECK_INT(intellivue_classify(unknown, sizeof unknown, &event), INTELLIVUE_OTHER);
    CHECK_INT(intellivue_classify(unknown, 0, &event), INTELLIVUE_OTHER);
    build_reply(2, 0);
    CHECK_INT(intellivue_classify(pdu, pdu_length, &event), INTELLIVUE_DATA);
    CHECK_INT(event.invoke_id, 0);
}

/* The monitor's MDS Create event report: invoke 0x0033, the MDS object {33, 0, 0}, its create event. */
static void build_mds_create_event(void)
{
    pdu_length = 0;
    static const uint16_t words[] = {0xE100, 0x0002, 1, 0x2A, 0x0033, 1, 0x24, 33, 0, 0, 0, 0, 0x0D06, 0x18};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        word(words[i]);
    for (int i = 0; i < 0x18; i++)
        pdu[pdu_length++] = (uint8_t)i; /* the MDS's attributes, which the collector does not read */
}

static void the_mds_create_event_is_confirmed_with_its_invoke_id_and_object(void)
{
    build_mds_create_event();
    intellivue_event event = {0};
    CHECK_INT(intellivue_classify(pdu, pdu_length, &event), INTELLIVUE_MDS_CREATED);
    CHECK_INT(event.invoke_id, 0x0033);
    static uint8_t wire[INTELLIVUE_MAX_REQUEST_FRAME_BYTES];
    const uint8_t *data;
    CHECK_INT(request_data(wire, intellivue_mds_create_result(&event, wire, sizeof wire), &data), 28);
    static const uint8_t documented[] = {0xE1, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0x14, 0x00, 0x33, 0x00, 0x01, 0x00,
                                         0x0E, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0D, 0x06,
                                         0x00, 0x00};
    CHECK(memcmp(data, documented, sizeof documented) == 0);
    /* Cut before its event type, it is some other data export PDU. */
    CHECK_INT(intellivue_classify(pdu, 22, &event), INTELLIVUE_DATA);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(the_fcs_is_crc16_x25),
        TEST(a_poll_reply_gives_plain_and_compound_numerics),
        TEST(a_linked_reply_is_read_like_a_single_one),
        TEST(invalid_and_special_values_are_left_out),
        TEST(a_reply_cut_anywhere_is_refused_without_reading_past_it),
        TEST(an_attribute_claiming_more_bytes_than_there_are_is_malformed),
        TEST(other_pdus_give_nothing),
        TEST(a_frame_over_the_wire_unwraps_to_its_data),
        TEST(a_frame_with_a_bad_fcs_or_length_is_refused),
        TEST(the_poll_request_is_the_documented_one),
        TEST(the_association_request_asks_for_numerics_once_a_second),
        TEST(the_monitors_answers_are_told_apart),
        TEST(the_mds_create_event_is_confirmed_with_its_invoke_id_and_object),
    };
    return CHECK_MAIN("intellivue", tests);
}
