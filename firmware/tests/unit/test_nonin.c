/* Nonin data format 7: frames, packets, and finding the frame boundary in a stream that starts anywhere. */
#include "check.h"
#include "protocols/nonin.h"

static void frame(uint8_t *out, uint8_t status, uint16_t pleth, uint8_t data)
{
    out[0] = (uint8_t)(NONIN_STATUS_ALWAYS | status);
    out[1] = (uint8_t)(pleth >> 8);
    out[2] = (uint8_t)pleth;
    out[3] = data;
    out[4] = (uint8_t)(out[0] + out[1] + out[2] + out[3]);
}

/* A packet of 25 frames: heart rate `rate`, SpO2 `spo2`. */
static size_t packet(uint8_t *out, int rate, int spo2)
{
    for (unsigned i = 0; i < NONIN_FRAMES_PER_PACKET; i++) {
        uint8_t data = i == 0 ? (uint8_t)(rate >> 7) : i == 1 ? (uint8_t)(rate & 0x7F) : i == 2 ? (uint8_t)spo2 : 0;
        frame(out + i * NONIN_FRAME_BYTES, i == 0 ? NONIN_STATUS_SYNC : 0, (uint16_t)(1000 + i), data);
    }
    return NONIN_FRAMES_PER_PACKET * NONIN_FRAME_BYTES;
}

static int feed(nonin_reader *reader, const uint8_t *bytes, size_t length, reading *readings, int *total)
{
    int packets = 0;
    for (size_t i = 0; i < length; i++) {
        int count = nonin_push(reader, bytes[i], readings, 4);
        if (count > 0) {
            packets++;
            *total = count;
        }
    }
    return packets;
}

static void a_packet_gives_heart_rate_and_spo2(void)
{
    uint8_t bytes[200];
    size_t length = packet(bytes, 300, 97);
    nonin_reader reader;
    nonin_reader_init(&reader);
    reading readings[4];
    int count = 0;
    CHECK_INT(feed(&reader, bytes, length, readings, &count), 1);
    CHECK_INT(count, 2);
    CHECK(readings[0].metric == MDC_PULS_OXIM_PULS_RATE && readings[0].mantissa == 300);
    CHECK(readings[1].metric == MDC_PULS_OXIM_SAT_O2 && readings[1].mantissa == 97);
    CHECK(readings[1].unit == MDC_DIM_PERCENT);
}

static void missing_values_are_left_out(void)
{
    uint8_t data[3] = {NONIN_HEART_RATE_MISSING >> 7, NONIN_HEART_RATE_MISSING & 0x7F, 97};
    reading readings[4];
    CHECK_INT(nonin_parse(data, readings, 4), 1);
    data[2] = NONIN_SPO2_MISSING;
    CHECK_INT(nonin_parse(data, readings, 4), 0);
}

static void a_stream_joined_mid_frame_finds_the_boundary(void)
{
    static uint8_t bytes[600];
    size_t length = 0;
    static const uint8_t noise[] = {0x13, 0x99, 0x80};
    memcpy(bytes, noise, sizeof noise);
    length += sizeof noise;
    uint8_t first[200];
    packet(first, 80, 95);
    /* The first packet joined 7 bytes in: no readings from it (its frame 0 is lost). */
    memcpy(bytes + length, first + 7, 125 - 7);
    length += 125 - 7;
    length += packet(bytes + length, 81, 96);
    nonin_reader reader;
    nonin_reader_init(&reader);
    reading readings[4];
    int count = 0;
    CHECK_INT(feed(&reader, bytes, length, readings, &count), 1);
    CHECK(readings[0].mantissa == 81 && readings[1].mantissa == 96);
    CHECK(reader.dropped_bytes > 0);
}

static void a_corrupted_frame_loses_its_packet_not_the_next(void)
{
    static uint8_t bytes[400];
    size_t length = packet(bytes, 70, 99);
    bytes[2 * NONIN_FRAME_BYTES + 3] ^= 0x01; /* frame 2's SpO2 no longer matches its checksum */
    length += packet(bytes + length, 71, 98);
    nonin_reader reader;
    nonin_reader_init(&reader);
    reading readings[4];
    int count = 0;
    CHECK_INT(feed(&reader, bytes, length, readings, &count), 1);
    CHECK(readings[0].mantissa == 71 && readings[1].mantissa == 98);
}

static void the_format_command_is_the_documented_one(void)
{
    static const uint8_t documented[] = {0x02, 0x70, 0x02, 0x02, 0x07, 0x03};
    CHECK(memcmp(NONIN_SELECT_FORMAT_7, documented, sizeof documented) == 0);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(a_packet_gives_heart_rate_and_spo2),
        TEST(missing_values_are_left_out),
        TEST(a_stream_joined_mid_frame_finds_the_boundary),
        TEST(a_corrupted_frame_loses_its_packet_not_the_next),
        TEST(the_format_command_is_the_documented_one),
    };
    return CHECK_MAIN("nonin", tests);
}
