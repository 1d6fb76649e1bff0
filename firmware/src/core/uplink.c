#include "uplink.h"

#include <string.h>

#include "protocols/byte_order.h"
#include "protocols/stuffed_frame.h"
#include "sha256.h"

#define HEADER_BYTES (2u + UPLINK_ID_BYTES)

static void mac(const uplink_identity *identity, const uint8_t *bytes, size_t length, uint8_t out[UPLINK_MAC_BYTES])
{
    hmac_sha256_context context;
    uint8_t full[SHA256_DIGEST_BYTES];
    hmac_sha256_init(&context, identity->key, sizeof identity->key);
    hmac_sha256_update(&context, bytes, length);
    hmac_sha256_final(&context, full);
    memcpy(out, full, UPLINK_MAC_BYTES);
}

/* Type, version and id in front, the MAC behind, then the escaping. */
static size_t seal(const uplink_identity *identity, uint8_t type, uint8_t *frame, size_t length, uint8_t *out,
                   size_t capacity)
{
    frame[0] = type;
    frame[1] = UPLINK_VERSION;
    memcpy(frame + 2, identity->id, UPLINK_ID_BYTES);
    mac(identity, frame, length - UPLINK_MAC_BYTES, frame + length - UPLINK_MAC_BYTES);
    return stuffed_frame_encode(UPLINK_BOF, UPLINK_EOF, frame, length, out, capacity);
}

size_t uplink_hello(const uplink_identity *identity, uint32_t session, uint8_t *out, size_t capacity)
{
    uint8_t hello[UPLINK_HELLO_BYTES];
    write_be32(hello + HEADER_BYTES, session);
    return seal(identity, UPLINK_HELLO, hello, sizeof hello, out, capacity);
}

size_t uplink_record(const uplink_identity *identity, uint32_t session, const queued_reading *queued, uint8_t *out,
                     size_t capacity)
{
    uint8_t record[UPLINK_RECORD_BYTES];
    const reading *value = &queued->value;
    write_be32(record + 18, session);
    write_be32(record + 22, queued->sequence);
    record[26] = queued->port;
    write_be32(record + 27, value->metric);
    write_be32(record + 31, value->unit);
    write_be32(record + 35, (uint32_t)value->mantissa);
    record[39] = (uint8_t)value->exponent;
    write_be32(record + 40, value->device_time);
    return seal(identity, UPLINK_RECORD, record, sizeof record, out, capacity);
}

int uplink_from_gateway(const uplink_identity *identity, const uint8_t *frame, size_t length,
                        uplink_message *message)
{
    if (length < UPLINK_GATEWAY_FRAME_BYTES)
        return PARSE_TRUNCATED;
    if (length > UPLINK_GATEWAY_FRAME_BYTES)
        return PARSE_OVERSIZED;
    uint8_t expected[UPLINK_MAC_BYTES];
    mac(identity, frame, UPLINK_GATEWAY_FRAME_BYTES - UPLINK_MAC_BYTES, expected);
    if (!mac_equal(expected, frame + UPLINK_GATEWAY_FRAME_BYTES - UPLINK_MAC_BYTES, UPLINK_MAC_BYTES))
        return PARSE_BAD_CHECKSUM;
    /* Checked after the MAC: an unauthenticated frame learns nothing about which check failed. */
    if ((frame[0] != UPLINK_ACKNOWLEDGEMENT && frame[0] != UPLINK_SESSION) || frame[1] != UPLINK_VERSION ||
        memcmp(frame + 2, identity->id, UPLINK_ID_BYTES) != 0)
        return PARSE_UNSUPPORTED;
    message->type = frame[0];
    message->first = read_be32(frame + HEADER_BYTES);
    message->second = read_be32(frame + HEADER_BYTES + 4);
    return 0;
}
