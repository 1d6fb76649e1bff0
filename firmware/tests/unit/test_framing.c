/* The two framers every driver stands on, and the calendar arithmetic of instrument clocks. */
#include "check.h"
#include "core/civil_time.h"
#include "feed.h"

static uint8_t frame_buffer[64];
static fed out;

static void reset(void) { memset(&out, 0, sizeof out); }

static void escapes_round_trip_at_every_position(void)
{
    /* Each of the three special bytes at each position of a payload comes back unchanged. */
    static const uint8_t special[] = {0xC0, 0xC1, 0x7D};
    for (size_t s = 0; s < sizeof special; s++) {
        for (size_t position = 0; position < 16; position++) {
            uint8_t payload[16], wire[40];
            for (size_t i = 0; i < sizeof payload; i++)
                payload[i] = (uint8_t)(0x30 + i);
            payload[position] = special[s];
            size_t length = stuffed_frame_encode(0xC0, 0xC1, payload, sizeof payload, wire, sizeof wire);
            CHECK_INT(length, sizeof payload + 3);
            stuffed_frame state;
            stuffed_frame_init(&state, 0xC0, 0xC1, frame_buffer, sizeof frame_buffer);
            reset();
            feed_stuffed(&state, wire, length, &out);
            CHECK_INT(out.frames, 1);
            CHECK_INT(out.lengths[0], sizeof payload);
            CHECK(memcmp(out.bytes[0], payload, sizeof payload) == 0);
        }
    }
}

static void garbage_between_frames_is_skipped(void)
{
    static const uint8_t wire[] = {0x55, 0xC1, 0x7D, 0xC0, 0x01, 0x02, 0xC1, 0x99, 0x98, 0xC0, 0x03, 0xC1};
    stuffed_frame state;
    stuffed_frame_init(&state, 0xC0, 0xC1, frame_buffer, sizeof frame_buffer);
    reset();
    feed_stuffed(&state, wire, sizeof wire, &out);
    CHECK_INT(out.frames, 2);
    CHECK_INT(out.lengths[0], 2);
    CHECK_INT(out.bytes[1][0], 0x03);
}

static void a_lost_end_flag_resynchronises_on_the_next_start(void)
{
    static const uint8_t wire[] = {0xC0, 0x01, 0x02, 0xC0, 0x03, 0x04, 0xC1};
    stuffed_frame state;
    stuffed_frame_init(&state, 0xC0, 0xC1, frame_buffer, sizeof frame_buffer);
    reset();
    feed_stuffed(&state, wire, sizeof wire, &out);
    CHECK_INT(out.frames, 1);
    CHECK_INT(out.bytes[0][0], 0x03);
}

static void equal_flags_share_one_flag_between_frames(void)
{
    /* 7E a 7E b 7E: two frames, the middle flag ending one and opening the next; 7E 7E is no frame. */
    static const uint8_t wire[] = {0x7E, 0x7E, 0x0A, 0x7E, 0x0B, 0x7E};
    stuffed_frame state;
    stuffed_frame_init(&state, 0x7E, 0x7E, frame_buffer, sizeof frame_buffer);
    reset();
    feed_stuffed(&state, wire, sizeof wire, &out);
    CHECK_INT(out.frames, 2);
    CHECK_INT(out.bytes[0][0], 0x0A);
    CHECK_INT(out.bytes[1][0], 0x0B);
}

static void an_oversized_frame_is_dropped_and_the_next_one_read(void)
{
    uint8_t wire[80];
    size_t n = 0;
    wire[n++] = 0xC0;
    for (int i = 0; i < 70; i++)
        wire[n++] = 0x11;
    wire[n++] = 0xC1;
    wire[n++] = 0xC0;
    wire[n++] = 0x22;
    wire[n++] = 0xC1;
    stuffed_frame state;
    stuffed_frame_init(&state, 0xC0, 0xC1, frame_buffer, sizeof frame_buffer);
    reset();
    feed_stuffed(&state, wire, n, &out);
    CHECK_INT(out.oversized, 1);
    CHECK_INT(out.frames, 1);
    CHECK_INT(out.bytes[0][0], 0x22);
}

static void an_escape_before_the_end_flag_drops_the_frame(void)
{
    static const uint8_t wire[] = {0xC0, 0x01, 0x7D, 0xC1, 0xC0, 0x02, 0xC1};
    stuffed_frame state;
    stuffed_frame_init(&state, 0xC0, 0xC1, frame_buffer, sizeof frame_buffer);
    reset();
    feed_stuffed(&state, wire, sizeof wire, &out);
    CHECK_INT(out.bad_escapes, 1);
    CHECK_INT(out.frames, 1);
    CHECK_INT(out.bytes[0][0], 0x02);
}

static void an_encoder_refuses_a_buffer_too_small(void)
{
    uint8_t payload[4] = {0x7D, 0x7D, 0x7D, 0x7D}, wire[10];
    CHECK_INT(stuffed_frame_encode(0xC0, 0xC1, payload, sizeof payload, wire, sizeof wire - 1), 0);
    CHECK_INT(stuffed_frame_encode(0xC0, 0xC1, payload, sizeof payload, wire, sizeof wire), 10);
}

static void a_two_byte_terminator_split_by_data_is_data(void)
{
    /* VT a FS x CR FS CR: the first FS is not followed by CR, so it is part of the message. */
    static const uint8_t wire[] = {'z', 0x0B, 'a', 0x1C, 'x', '\r', 0x1C, '\r'};
    delimited_frame state;
    delimited_frame_init(&state, "\x0b", "\x1c\r", frame_buffer, sizeof frame_buffer);
    reset();
    feed_delimited(&state, wire, sizeof wire, &out);
    CHECK_INT(out.frames, 1);
    CHECK_INT(out.lengths[0], 5);
    CHECK(memcmp(out.bytes[0], "\x0b" "a\x1cx\r", 5) == 0);
}

static void lines_without_a_start_byte_begin_at_any_other_byte(void)
{
    static const uint8_t wire[] = "\r\nab\r\n\r\ncd\r\n";
    delimited_frame state;
    delimited_frame_init(&state, NULL, "\r\n", frame_buffer, sizeof frame_buffer);
    reset();
    feed_delimited(&state, wire, sizeof wire - 1, &out);
    CHECK_INT(out.frames, 2);
    CHECK(memcmp(out.bytes[1], "cd", 2) == 0);
}

static void a_start_byte_inside_a_delimited_frame_restarts_it(void)
{
    static const uint8_t wire[] = {0x1B, 'Q', 0x01, 'Q', '5', '2', '\r'};
    delimited_frame state;
    delimited_frame_init(&state, "\x1b\x01", "\r", frame_buffer, sizeof frame_buffer);
    reset();
    feed_delimited(&state, wire, sizeof wire, &out);
    CHECK_INT(out.frames, 1);
    CHECK_INT(out.bytes[0][0], 0x01);
}

static void an_oversized_line_is_dropped(void)
{
    uint8_t wire[100];
    memset(wire, 'x', sizeof wire);
    wire[98] = '\r';
    wire[99] = '\n';
    delimited_frame state;
    delimited_frame_init(&state, NULL, "\r\n", frame_buffer, sizeof frame_buffer);
    reset();
    feed_delimited(&state, wire, sizeof wire, &out);
    CHECK_INT(out.oversized, 1);
    CHECK_INT(out.frames, 0);
}

static void civil_times_match_known_instants(void)
{
    CHECK_INT(civil_to_unix(1970, 1, 1, 0, 0, 0), 0);
    CHECK_INT(civil_to_unix(2016, 2, 22, 22, 47, 45), 1456181265);
    CHECK_INT(civil_to_unix(2000, 2, 29, 12, 0, 0), 951825600);
    CHECK_INT(civil_to_unix(2026, 11, 28, 4, 0, 0), 1795838400);
    CHECK_INT(civil_to_unix(2025, 2, 29, 0, 0, 0), 0);
    CHECK_INT(civil_to_unix(2025, 13, 1, 0, 0, 0), 0);
    CHECK_INT(civil_to_unix(2025, 1, 1, 24, 0, 0), 0);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(escapes_round_trip_at_every_position),
        TEST(garbage_between_frames_is_skipped),
        TEST(a_lost_end_flag_resynchronises_on_the_next_start),
        TEST(equal_flags_share_one_flag_between_frames),
        TEST(an_oversized_frame_is_dropped_and_the_next_one_read),
        TEST(an_escape_before_the_end_flag_drops_the_frame),
        TEST(an_encoder_refuses_a_buffer_too_small),
        TEST(a_two_byte_terminator_split_by_data_is_data),
        TEST(lines_without_a_start_byte_begin_at_any_other_byte),
        TEST(a_start_byte_inside_a_delimited_frame_restarts_it),
        TEST(an_oversized_line_is_dropped),
        TEST(civil_times_match_known_instants),
    };
    return CHECK_MAIN("framing", tests);
}
