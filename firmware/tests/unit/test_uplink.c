/* The uplink's records and acknowledgements: layout, MAC, and what a forged or foreign frame gets. */
#include "check.h"
#include "core/sha256.h"
#include "core/uplink.h"
#include "feed.h"

static const uplink_identity IDENTITY = {
    .id = "collector-or3-01",
    .key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
            30, 31, 32},
};

static void mac_over(const uint8_t *bytes, size_t length, const uint8_t *key, uint8_t *out)
{
    hmac_sha256_context context;
    uint8_t full[SHA256_DIGEST_BYTES];
    hmac_sha256_init(&context, key, UPLINK_KEY_BYTES);
    hmac_sha256_update(&context, bytes, length);
    hmac_sha256_final(&context, full);
    memcpy(out, full, UPLINK_MAC_BYTES);
}

static size_t acknowledgement(uint32_t sequence, const uint8_t *key, uint8_t *out)
{
    out[0] = UPLINK_ACKNOWLEDGEMENT;
    out[1] = UPLINK_VERSION;
    memcpy(out + 2, IDENTITY.id, UPLINK_ID_BYTES);
    out[18] = (uint8_t)(sequence >> 24);
    out[19] = (uint8_t)(sequence >> 16);
    out[20] = (uint8_t)(sequence >> 8);
    out[21] = (uint8_t)sequence;
    mac_over(out, 22, key, out + 22);
    return UPLINK_ACKNOWLEDGEMENT_BYTES;
}

static void a_record_carries_the_reading_and_a_mac_over_all_of_it(void)
{
    queued_reading queued = {0x01020304, 5, {MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT, -42, -2, 1795838400u}};
    uint8_t wire[UPLINK_MAX_FRAME_BYTES], buffer[UPLINK_RECORD_BYTES + 8];
    size_t length = uplink_record(&IDENTITY, &queued, wire, sizeof wire);
    CHECK(length >= UPLINK_RECORD_BYTES + 2);
    static fed out;
    unstuff(UPLINK_BOF, UPLINK_EOF, wire, length, buffer, sizeof buffer, &out);
    CHECK_INT(out.frames, 1);
    CHECK_INT(out.lengths[0], UPLINK_RECORD_BYTES);
    const uint8_t *record = out.bytes[0];
    CHECK(record[0] == 'R' && record[1] == 1 && memcmp(record + 2, "collector-or3-01", 16) == 0);
    static const uint8_t fields[] = {0x01, 0x02, 0x03, 0x04, 5, 0x00, 0x02, 0x4B, 0xB8, 0x00, 0x04, 0x02, 0x20,
                                     0xFF, 0xFF, 0xFF, 0xD6, 0xFE, 0x6B, 0x0A, 0x51, 0xC0};
    CHECK(memcmp(record + 18, fields, sizeof fields) == 0);
    uint8_t expected[UPLINK_MAC_BYTES];
    mac_over(record, 40, IDENTITY.key, expected);
    CHECK(memcmp(record + 40, expected, UPLINK_MAC_BYTES) == 0);
}

static void an_acknowledgement_from_the_gateway_gives_its_sequence(void)
{
    uint8_t frame[64];
    size_t length = acknowledgement(77, IDENTITY.key, frame);
    uint32_t sequence = 0;
    CHECK_INT(uplink_acknowledgement(&IDENTITY, frame, length, &sequence), 0);
    CHECK_INT(sequence, 77);
}

static void a_forged_or_foreign_acknowledgement_is_refused(void)
{
    uint8_t frame[64], other_key[UPLINK_KEY_BYTES] = {9};
    uint32_t sequence = 0;
    size_t length = acknowledgement(77, other_key, frame);
    CHECK_INT(uplink_acknowledgement(&IDENTITY, frame, length, &sequence), PARSE_BAD_CHECKSUM);
    length = acknowledgement(77, IDENTITY.key, frame);
    frame[21] = 78; /* the sequence changed after the MAC */
    CHECK_INT(uplink_acknowledgement(&IDENTITY, frame, length, &sequence), PARSE_BAD_CHECKSUM);
    /* A record of ours sent back is not an acknowledgement, though its MAC is good. */
    uint8_t record[UPLINK_MAX_FRAME_BYTES];
    queued_reading queued = {77, 1, {0}};
    uint8_t buffer[UPLINK_RECORD_BYTES + 8];
    length = uplink_record(&IDENTITY, &queued, record, sizeof record);
    static fed out;
    unstuff(UPLINK_BOF, UPLINK_EOF, record, length, buffer, sizeof buffer, &out);
    CHECK(uplink_acknowledgement(&IDENTITY, out.bytes[0], out.lengths[0], &sequence) < 0);
    CHECK_INT(uplink_acknowledgement(&IDENTITY, frame, 20, &sequence), PARSE_TRUNCATED);
    CHECK_INT(sequence, 0);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(a_record_carries_the_reading_and_a_mac_over_all_of_it),
        TEST(an_acknowledgement_from_the_gateway_gives_its_sequence),
        TEST(a_forged_or_foreign_acknowledgement_is_refused),
    };
    return CHECK_MAIN("uplink", tests);
}
