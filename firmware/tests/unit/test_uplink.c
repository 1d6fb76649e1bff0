/* The uplink's frames: layout, MAC, and what a forged or foreign frame gets. */
#include "check.h"
#include "gateway_frames.h"

/* The one frame of `wire`, unescaped into `out`; its length. */
static size_t only_frame(const uint8_t *wire, size_t length, uint8_t *out)
{
    static fed frames;
    uint8_t buffer[UPLINK_RECORD_BYTES + 8];
    unstuff(UPLINK_BOF, UPLINK_EOF, wire, length, buffer, sizeof buffer, &frames);
    CHECK_INT(frames.frames, 1);
    memcpy(out, frames.bytes[0], frames.lengths[0]);
    return frames.lengths[0];
}

static void check_mac(const uint8_t *frame, size_t length)
{
    uint8_t expected[UPLINK_MAC_BYTES];
    mac_over(frame, length - UPLINK_MAC_BYTES, IDENTITY.key, expected);
    CHECK(memcmp(frame + length - UPLINK_MAC_BYTES, expected, UPLINK_MAC_BYTES) == 0);
}

static void a_record_carries_its_session_the_reading_and_a_mac_over_all_of_it(void)
{
    queued_reading queued = {0x01020304, 5, {MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT, -42, -2, 1795838400u}};
    uint8_t wire[UPLINK_MAX_FRAME_BYTES], record[UPLINK_MAX_FRAME_BYTES];
    CHECK_INT(only_frame(wire, uplink_record(&IDENTITY, 0xA1B2C3D4, &queued, wire, sizeof wire), record),
              UPLINK_RECORD_BYTES);
    CHECK(record[0] == 'R' && record[1] == 2 && memcmp(record + 2, "collector-or3-01", 16) == 0);
    static const uint8_t fields[] = {0xA1, 0xB2, 0xC3, 0xD4, 0x01, 0x02, 0x03, 0x04, 5,    0x00, 0x02, 0x4B, 0xB8,
                                     0x00, 0x04, 0x02, 0x20, 0xFF, 0xFF, 0xFF, 0xD6, 0xFE, 0x6B, 0x0A, 0x51, 0xC0};
    CHECK(memcmp(record + 18, fields, sizeof fields) == 0);
    check_mac(record, UPLINK_RECORD_BYTES);
}

static void a_hello_names_the_session_the_collector_is_in(void)
{
    uint8_t wire[UPLINK_MAX_FRAME_BYTES], hello[UPLINK_MAX_FRAME_BYTES];
    CHECK_INT(only_frame(wire, uplink_hello(&IDENTITY, 7, wire, sizeof wire), hello), UPLINK_HELLO_BYTES);
    CHECK(hello[0] == 'H' && hello[1] == 2 && memcmp(hello + 2, "collector-or3-01", 16) == 0);
    CHECK_INT(get_big_endian(hello + 18), 7);
    check_mac(hello, UPLINK_HELLO_BYTES);
    CHECK_INT(uplink_hello(&IDENTITY, 7, wire, UPLINK_HELLO_BYTES), 0); /* no room for the escapes */
}

static void acknowledgements_and_sessions_from_the_gateway_give_their_numbers(void)
{
    uint8_t frame[64];
    uplink_message message = {0};
    CHECK_INT(uplink_from_gateway(&IDENTITY, frame, gateway_frame('A', 9, 77, IDENTITY.key, frame), &message), 0);
    CHECK(message.type == 'A' && message.first == 9 && message.second == 77);
    CHECK_INT(uplink_from_gateway(&IDENTITY, frame, gateway_frame('S', 0, 10, IDENTITY.key, frame), &message), 0);
    CHECK(message.type == 'S' && message.first == 0 && message.second == 10);
}

static void a_forged_or_foreign_frame_is_refused(void)
{
    uint8_t frame[64], other_key[UPLINK_KEY_BYTES] = {9};
    uplink_message message = {0};
    size_t length = gateway_frame('A', 9, 77, other_key, frame);
    CHECK_INT(uplink_from_gateway(&IDENTITY, frame, length, &message), PARSE_BAD_CHECKSUM);
    length = gateway_frame('A', 9, 77, IDENTITY.key, frame);
    frame[25] = 78; /* the sequence changed after the MAC */
    CHECK_INT(uplink_from_gateway(&IDENTITY, frame, length, &message), PARSE_BAD_CHECKSUM);
    /* A well-MAC'd frame of a type the gateway does not send is not taken for one it does. */
    length = gateway_frame('H', 9, 77, IDENTITY.key, frame);
    CHECK_INT(uplink_from_gateway(&IDENTITY, frame, length, &message), PARSE_UNSUPPORTED);
    /* A record of ours sent back is not an acknowledgement, though its MAC is good. */
    uint8_t wire[UPLINK_MAX_FRAME_BYTES], record[UPLINK_MAX_FRAME_BYTES];
    queued_reading queued = {77, 1, {0}};
    length = only_frame(wire, uplink_record(&IDENTITY, 9, &queued, wire, sizeof wire), record);
    CHECK(uplink_from_gateway(&IDENTITY, record, length, &message) < 0);
    CHECK_INT(uplink_from_gateway(&IDENTITY, frame, 20, &message), PARSE_TRUNCATED);
    CHECK_INT(message.type, 0);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(a_record_carries_its_session_the_reading_and_a_mac_over_all_of_it),
        TEST(a_hello_names_the_session_the_collector_is_in),
        TEST(acknowledgements_and_sessions_from_the_gateway_give_their_numbers),
        TEST(a_forged_or_foreign_frame_is_refused),
    };
    return CHECK_MAIN("uplink", tests);
}
