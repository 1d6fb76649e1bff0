/* The gateway's side of the uplink, built independently of src/core/uplink.c: what the tests send the
 * collector and how they read what it sent. */
#ifndef COLLECTOR_GATEWAY_FRAMES_H
#define COLLECTOR_GATEWAY_FRAMES_H

#include <stdint.h>
#include <string.h>

#include "core/sha256.h"
#include "core/uplink.h"
#include "feed.h"

static const uplink_identity IDENTITY = {
    .id = "collector-or3-01",
    .key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
            30, 31, 32},
};

static inline void mac_over(const uint8_t *bytes, size_t length, const uint8_t *key, uint8_t *out)
{
    hmac_sha256_context context;
    uint8_t full[SHA256_DIGEST_BYTES];
    hmac_sha256_init(&context, key, UPLINK_KEY_BYTES);
    hmac_sha256_update(&context, bytes, length);
    hmac_sha256_final(&context, full);
    memcpy(out, full, UPLINK_MAC_BYTES);
}

static inline void put_big_endian(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline uint32_t get_big_endian(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An acknowledgement ('A': session, sequence) or a session ('S': named, granted), unescaped, MAC'd with `key`. */
static inline size_t gateway_frame(uint8_t type, uint32_t first, uint32_t second, const uint8_t *key, uint8_t *out)
{
    out[0] = type;
    out[1] = UPLINK_VERSION;
    memcpy(out + 2, IDENTITY.id, UPLINK_ID_BYTES);
    put_big_endian(out + 18, first);
    put_big_endian(out + 22, second);
    mac_over(out, 26, key, out + 26);
    return UPLINK_GATEWAY_FRAME_BYTES;
}

#endif
