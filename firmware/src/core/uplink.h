/* What the collector and the gateway say over the uplink (the paper's 4G link; a serial line here).
 *
 * Both directions are C0 ... C1 frames with 7D escapes (the IntelliVue stuffing), big-endian inside, each
 * authenticated by HMAC-SHA-256 with the collector's own key, truncated to 128 bits. Every frame starts with
 * its type, the version (2) and the collector's id (16 bytes); then:
 *   hello (collector -> gateway), 38 bytes: 'H', the session the collector is in (0 after a boot)
 *   session (gateway -> collector), 42 bytes: 'S', the session the hello named, the session to use from now
 *   record (collector -> gateway), 60 bytes: 'R', session u32, sequence u32, port u8, metric u32, unit u32,
 *     mantissa i32, exponent i8, device time u32
 *   acknowledgement (gateway -> collector), 42 bytes: 'A', session u32, sequence u32 (every record of the
 *     session up to it is stored)
 * each followed by its MAC (16). The type byte is under the MAC, so no frame can pass for another.
 *
 * Sessions are the gateway's numbers, never reused: sequences restart at 1 after a boot, and a record of a
 * past session, replayed, cannot pass for a new one. A session granted to a hello that named a live session
 * continues its sequences (the collector's ring survived), so nothing is stored twice. */
#ifndef COLLECTOR_UPLINK_H
#define COLLECTOR_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "record_ring.h"

#define UPLINK_BOF 0xC0u
#define UPLINK_EOF 0xC1u
#define UPLINK_VERSION 2u
#define UPLINK_HELLO 'H'
#define UPLINK_SESSION 'S'
#define UPLINK_RECORD 'R'
#define UPLINK_ACKNOWLEDGEMENT 'A'
#define UPLINK_ID_BYTES 16u
#define UPLINK_KEY_BYTES 32u
#define UPLINK_MAC_BYTES 16u
#define UPLINK_HELLO_BYTES 38u
#define UPLINK_RECORD_BYTES 60u
/* A session and an acknowledgement both carry two numbers. */
#define UPLINK_GATEWAY_FRAME_BYTES 42u
#define UPLINK_MAX_FRAME_BYTES (2u * UPLINK_RECORD_BYTES + 2u)

typedef struct {
    uint8_t id[UPLINK_ID_BYTES];
    uint8_t key[UPLINK_KEY_BYTES];
} uplink_identity;

/* A frame from the gateway: an acknowledgement (first: the session, second: the sequence) or a session
 * (first: the session the hello named, second: the session granted). */
typedef struct {
    uint8_t type;
    uint32_t first, second;
} uplink_message;

/* The escaped frame of a hello or a record; its length, or 0 if `capacity` is too small. */
size_t uplink_hello(const uplink_identity *identity, uint32_t session, uint8_t *out, size_t capacity);
size_t uplink_record(const uplink_identity *identity, uint32_t session, const queued_reading *queued, uint8_t *out,
                     size_t capacity);

/* An unescaped frame from the gateway: 0 and the message, or a parse_error (PARSE_BAD_CHECKSUM for a wrong
 * MAC, PARSE_UNSUPPORTED for another collector, version or type). */
int uplink_from_gateway(const uplink_identity *identity, const uint8_t *frame, size_t length,
                        uplink_message *message);

#endif
