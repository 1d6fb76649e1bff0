/* The readings not yet acknowledged by the gateway, in order, with their sequence numbers: what the
 * collector replays after the uplink comes back. When full, the oldest is dropped (and counted): during a
 * long outage the newest readings of a surgery matter most. */
#ifndef COLLECTOR_RECORD_RING_H
#define COLLECTOR_RECORD_RING_H

#include <stdint.h>

#include "reading.h"

/* About 30 readings a second from six instruments: 2,048 hold a minute of outage (48 KB of RAM). */
#define RECORD_RING_SLOTS 2048u

typedef struct {
    uint32_t sequence;
    uint8_t port;
    reading value;
} queued_reading;

typedef struct {
    queued_reading slots[RECORD_RING_SLOTS];
    uint32_t next_sequence; /* the sequence the next reading gets; the first is 1 */
    uint32_t oldest;        /* the oldest sequence held (== next_sequence when empty) */
    uint32_t next_to_send;
    uint32_t dropped;
} record_ring;

void record_ring_init(record_ring *ring);
uint32_t record_ring_push(record_ring *ring, uint8_t port, const reading *value);
/* The gateway has every reading up to and including `sequence`. */
void record_ring_acknowledge(record_ring *ring, uint32_t sequence);
/* The next reading to send, or NULL when every held one was sent. */
const queued_reading *record_ring_next(record_ring *ring);
/* Send again from the oldest unacknowledged reading (no acknowledgement came in time). */
void record_ring_rewind(record_ring *ring);
uint32_t record_ring_held(const record_ring *ring);

#endif
