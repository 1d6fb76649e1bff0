#include "uplink.h"

#include <string.h>

#include "protocols/stuffed_frame.h"
#include "sha256.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void mac(const uplink_identity *identity, const uint8_t *bytes, size_t length, uint8_t out[UPLINK_MAC_BYTES])
{
    hmac_sha256_context context;
    uint8_t full[SHA256_DIGEST_BYTES];
    hmac_sha256_init(&context, identity->key, sizeof identity->key);
    hmac_sha256_update(&context, bytes, length);
    hmac_sha256_final(&context, full);
    memcpy(out, full, UPLINK_MAC_BYTES);
}

size_t uplink_record(const uplink_identity *identity, const queued_reading *queued, uint8_t *out, size_t capacity)
{
    uint8_t record[UPLINK_RECORD_BYTES];
    const reading *value = &queued->value;
    record[0] = UPLINK_RECORD;
    record[1] = UPLINK_VERSION;
    memcpy(record + 2, identity->id, UPLINK_ID_BYTES);
    put32(record + 18, queued->sequence);
    record[22] = queued->port;
    put32(record + 23, value->metric);
    put32(record + 27, value->unit);
    put32(record + 31, (uint32_t)value->mantissa);
    record[35] = (uint8_t)value->exponent;
    put32(record + 36, value->device_time);
    mac(identity, record, 40, record + 40);
    return stuffed_frame_encode(UPLINK_BOF, UPLINK_EOF, record, sizeof record, out, capacity);
}

int uplink_acknowledgement(const uplink_identity *identity, const uint8_t *frame, size_t length,
                           uint32_t *sequence)
{
    if (length < UPLINK_ACKNOWLEDGEMENT_BYTES)
        return PARSE_TRUNCATED;
    if (length > UPLINK_ACKNOWLEDGEMENT_BYTES)
        return PARSE_OVERSIZED;
    uint8_t expected[UPLINK_MAC_BYTES];
    mac(identity, frame, UPLINK_ACKNOWLEDGEMENT_BYTES - UPLINK_MAC_BYTES, expected);
    if (!mac_equal(expected, frame + UPLINK_ACKNOWLEDGEMENT_BYTES - UPLINK_MAC_BYTES, UPLINK_MAC_BYTES))
        return PARSE_BAD_CHECKSUM;
    /* Checked after the MAC: an unauthenticated frame learns nothing about which check failed. */
    if (frame[0] != UPLINK_ACKNOWLEDGEMENT || frame[1] != UPLINK_VERSION ||
        memcmp(frame + 2, identity->id, UPLINK_ID_BYTES) != 0)
        return PARSE_UNSUPPORTED;
    *sequence = get32(frame + 18);
    return 0;
}
