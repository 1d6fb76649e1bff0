/* Masimo ASCII 1: the documented example line, and what a line may carry instead of values. */
#include "check.h"
#include "feed.h"
#include "protocols/masimo.h"

static const char LINE[] = "02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% "
                           "DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800";

static int parse(const char *line, reading *readings)
{
    return masimo_parse((const uint8_t *)line, strlen(line), readings, 8);
}

static void the_documented_line_gives_spo2_pulse_rate_and_perfusion_index(void)
{
    reading readings[8];
    CHECK_INT(parse(LINE, readings), 3);
    CHECK(readings[0].metric == MDC_PULS_OXIM_SAT_O2 && readings[0].mantissa == 98 && readings[0].exponent == 0);
    CHECK(readings[0].unit == MDC_DIM_PERCENT && readings[0].device_time == 1456181265u);
    CHECK(readings[1].metric == MDC_PULS_OXIM_PULS_RATE && readings[1].mantissa == 97);
    CHECK(readings[2].metric == MDC_PULS_OXIM_PERF_REL && readings[2].mantissa == 360 && readings[2].exponent == -2);
}

static void dashes_are_no_value(void)
{
    reading readings[8];
    CHECK_INT(parse("02/22/16 22:47:45 SN=1 SPO2=---% BPM=097 PI=--.--% ALARM=0000 EXC=000000", readings), 1);
}

static void no_sensor_or_sensor_off_means_no_value_at_all(void)
{
    reading readings[8];
    CHECK_INT(parse("02/22/16 22:47:45 SPO2=098% BPM=097 EXC=000001", readings), 0);
    CHECK_INT(parse("02/22/16 22:47:45 SPO2=098% BPM=097 EXC=000020", readings), 0);
    CHECK_INT(parse("02/22/16 22:47:45 SPO2=098% BPM=097 EXC=000800", readings), 2);
}

static void broken_lines_are_refused(void)
{
    reading readings[8];
    CHECK_INT(parse("02/22/16 22:47", readings), PARSE_TRUNCATED);
    CHECK_INT(parse("02-22-16 22:47:45 SPO2=098%", readings), PARSE_MALFORMED);
    CHECK_INT(parse("13/22/16 22:47:45 SPO2=098%", readings), PARSE_MALFORMED);
    CHECK_INT(parse("02/22/16 22:47:45 SPO2=098% EXC=zz", readings), PARSE_MALFORMED);
    char line[MASIMO_MAX_LINE_BYTES + 2];
    memset(line, 'A', sizeof line - 1);
    line[sizeof line - 1] = 0;
    CHECK_INT(parse(line, readings), PARSE_OVERSIZED);
    /* Junk values and keys stay out. */
    CHECK_INT(parse("02/22/16 22:47:45 SPO2=98x% BPM=97%% =5 BPM", readings), 0);
}

static void lines_come_out_of_the_serial_stream(void)
{
    static uint8_t buffer[MASIMO_MAX_LINE_BYTES];
    delimited_frame state;
    delimited_frame_init(&state, NULL, MASIMO_TERMINATOR, buffer, sizeof buffer);
    static fed out;
    memset(&out, 0, sizeof out);
    /* The collector starts listening mid-line: the first, partial line fails to parse and the next is read. */
    static const char stream[] = "=097 EXC=000800\r\n02/22/16 22:47:46 SPO2=097% BPM=096 EXC=000800\r\n";
    feed_delimited(&state, (const uint8_t *)stream, sizeof stream - 1, &out);
    CHECK_INT(out.frames, 2);
    reading readings[8];
    CHECK(masimo_parse(out.bytes[0], out.lengths[0], readings, 8) < 0);
    CHECK_INT(masimo_parse(out.bytes[1], out.lengths[1], readings, 8), 2);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(the_documented_line_gives_spo2_pulse_rate_and_perfusion_index),
        TEST(dashes_are_no_value),
        TEST(no_sensor_or_sensor_off_means_no_value_at_all),
        TEST(broken_lines_are_refused),
        TEST(lines_come_out_of_the_serial_stream),
    };
    return CHECK_MAIN("masimo", tests);
}
