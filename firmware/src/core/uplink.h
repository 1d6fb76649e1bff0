/* What the collector and the gateway say over the uplink (the paper's 4G link; a serial line here).
 *
 * Both directions are C0 ... C1 frames with 7D escapes (the IntelliVue stuffing), big-endian inside, each
 * authenticated by HMAC-SHA-256 with the collector's own key, truncated to 128 bits:
 *   record (collector -> gateway), 56 bytes: 'R', version 1, collector id (16), sequence u32, port u8,
 *     metric u32, unit u32, mantissa i32, exponent i8, device time u32, MAC (16)
 *   acknowledgement (gateway -> collector), 38 bytes: 'A', version 1, collector id (16), sequence u32 (every
 *     record up to it is stored), MAC (16)
 * The type byte is under the MAC, so neither can pass for the other. */
#ifndef COLLECTOR_UPLINK_H
#define COLLECTOR_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "record_ring.h"

#define UPLINK_BOF 0xC0u
#define UPLINK_EOF 0xC1u
#define UPLINK_VERSION 1u
#define UPLINK_RECORD 'R'
#define UPLINK_ACKNOWLEDGEMENT 'A'
#define UPLINK_ID_BYTES 16u
#define UPLINK_KEY_BYTES 32u
#define UPLINK_MAC_BYTES 16u
#define UPLINK_RECORD_BYTES 56u
#define UPLINK_ACKNOWLEDGEMENT_BYTES 38u
#define UPLINK_MAX_FRAME_BYTES (2u * UPLINK_RECORD_BYTES + 2u)

typedef struct {
    uint8_t id[UPLINK_ID_BYTES];
    uint8_t key[UPLINK_KEY_BYTES];
} uplink_identity;

/* The escaped frame of a record; its length, or 0 if `capacity` is too small. */
size_t uplink_record(const uplink_identity *identity, const queued_reading *queued, uint8_t *out, size_t capacity);

/* An unescaped frame from the gateway: 0 and the acknowledged sequence, or a parse_error
 * (PARSE_BAD_CHECKSUM for a wrong MAC, PARSE_UNSUPPORTED for another collector, version or type). */
int uplink_acknowledgement(const uplink_identity *identity, const uint8_t *frame, size_t length,
                           uint32_t *sequence);

#endif
