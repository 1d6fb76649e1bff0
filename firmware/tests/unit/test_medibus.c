/* Draeger MEDIBUS: the documented commands byte for byte, and current measured data parsed back. */
#include "check.h"
#include "find_reading.h"
#include "feed.h"
#include "protocols/medibus.h"

static void the_commands_are_the_documented_bytes(void)
{
    uint8_t out[16];
    CHECK_INT(medibus_frame(MEDIBUS_ESC, MEDIBUS_ICC, NULL, 0, out, sizeof out), 5);
    CHECK(memcmp(out, "\x1bQ6C\r", 5) == 0);
    CHECK_INT(medibus_frame(MEDIBUS_SOH, MEDIBUS_ICC, NULL, 0, out, sizeof out), 5);
    CHECK(memcmp(out, "\x01Q52\r", 5) == 0);
    CHECK_INT(medibus_frame(MEDIBUS_ESC, MEDIBUS_CURRENT_DATA_CP1, NULL, 0, out, sizeof out), 5);
    CHECK(memcmp(out, "\x1b$3F\r", 5) == 0);
    CHECK_INT(medibus_frame(MEDIBUS_ESC, MEDIBUS_ICC, NULL, 0, out, 4), 0);
}

/* A reply as the framer hands it over (no CR). */
static size_t reply(const char *data, uint8_t *frame)
{
    uint8_t wire[256];
    size_t length = medibus_frame(MEDIBUS_SOH, MEDIBUS_CURRENT_DATA_CP1, (const uint8_t *)data, strlen(data), wire,
                                  sizeof wire);
    memcpy(frame, wire, length - 1);
    return length - 1;
}

static void current_data_gives_each_known_code_with_its_unit(void)
{
    uint8_t frame[256];
    /* PIP 18 mbar, PEEP 5.0 mbar, tidal volume 450 mL, SpO2 97 %, etCO2 36 mmHg, and an unknown code. */
    size_t length = reply("7D  1878 5.088 450EB  97E6  36011234", frame);
    reading readings[8];
    int count = medibus_parse(frame, length, readings, 8);
    CHECK_INT(count, 5);
    const reading *peep = find(readings, count, MDC_PRESS_AWAY_END_EXP_POS);
    CHECK(peep && peep->mantissa == 50 && peep->exponent == -1 && peep->unit == MDC_DIM_HECTO_PASCAL);
    const reading *tidal = find(readings, count, MDC_VOL_AWAY_TIDAL);
    CHECK(tidal && tidal->mantissa == 450 && tidal->unit == MDC_DIM_MILLI_L);
    const reading *co2 = find(readings, count, MDC_AWAY_CO2_ET);
    CHECK(co2 && co2->mantissa == 36 && co2->unit == MDC_DIM_MMHG);
}

static void blank_and_dashed_values_are_not_measurements(void)
{
    uint8_t frame[256];
    size_t length = reply("7D    78----EB  97", frame);
    reading readings[8];
    int count = medibus_parse(frame, length, readings, 8);
    CHECK_INT(count, 1);
    CHECK(find(readings, count, MDC_PULS_OXIM_SAT_O2) != NULL);
}

static void a_wrong_checksum_or_broken_record_is_refused(void)
{
    uint8_t frame[256];
    size_t length = reply("EB  97", frame);
    reading readings[8];
    frame[length - 1] = frame[length - 1] == 'A' ? 'B' : 'A';
    CHECK_INT(medibus_parse(frame, length, readings, 8), PARSE_BAD_CHECKSUM);
    frame[length - 1] = 'g';
    CHECK_INT(medibus_parse(frame, length, readings, 8), PARSE_MALFORMED);
    length = reply("EB  9", frame);
    CHECK_INT(medibus_parse(frame, length, readings, 8), PARSE_MALFORMED);
    length = reply("XY  97", frame);
    CHECK_INT(medibus_parse(frame, length, readings, 8), PARSE_MALFORMED);
    CHECK_INT(medibus_parse(frame, 3, readings, 8), PARSE_TRUNCATED);
}

static void replies_to_other_commands_give_nothing(void)
{
    uint8_t frame[8];
    size_t length = medibus_frame(MEDIBUS_SOH, MEDIBUS_ICC, NULL, 0, frame, sizeof frame) - 1;
    reading readings[8];
    CHECK_INT(medibus_check(frame, length), 0);
    CHECK_INT(medibus_parse(frame, length, readings, 8), 0);
}

static void frames_come_out_of_a_noisy_line(void)
{
    uint8_t wire[300], buffer[MEDIBUS_MAX_FRAME_BYTES];
    size_t n = 0;
    memcpy(wire, "zz\r", 3);
    n += 3;
    n += medibus_frame(MEDIBUS_ESC, MEDIBUS_NOP, NULL, 0, wire + n, sizeof wire - n);
    n += medibus_frame(MEDIBUS_SOH, MEDIBUS_CURRENT_DATA_CP1, (const uint8_t *)"EB  97", 6, wire + n, sizeof wire - n);
    delimited_frame state;
    delimited_frame_init(&state, MEDIBUS_STARTS, MEDIBUS_TERMINATOR, buffer, sizeof buffer);
    static fed out;
    memset(&out, 0, sizeof out);
    feed_delimited(&state, wire, n, &out);
    CHECK_INT(out.frames, 2);
    CHECK_INT(out.bytes[0][1], MEDIBUS_NOP);
    reading readings[4];
    CHECK_INT(medibus_parse(out.bytes[1], out.lengths[1], readings, 4), 1);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(the_commands_are_the_documented_bytes),
        TEST(current_data_gives_each_known_code_with_its_unit),
        TEST(blank_and_dashed_values_are_not_measurements),
        TEST(a_wrong_checksum_or_broken_record_is_refused),
        TEST(replies_to_other_commands_give_nothing),
        TEST(frames_come_out_of_a_noisy_line),
    };
    return CHECK_MAIN("medibus", tests);
}
