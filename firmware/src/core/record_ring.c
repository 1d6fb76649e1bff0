#include "record_ring.h"

void record_ring_init(record_ring *ring)
{
    ring->next_sequence = 1;
    ring->oldest = 1;
    ring->next_to_send = 1;
    ring->dropped = 0;
}

uint32_t record_ring_held(const record_ring *ring) { return ring->next_sequence - ring->oldest; }

uint32_t record_ring_push(record_ring *ring, uint8_t port, const reading *value)
{
    if (record_ring_held(ring) == RECORD_RING_SLOTS) {
        ring->oldest++;
        ring->dropped++;
        if (ring->next_to_send < ring->oldest)
            ring->next_to_send = ring->oldest;
    }
    uint32_t sequence = ring->next_sequence++;
    ring->slots[sequence % RECORD_RING_SLOTS] = (queued_reading){sequence, port, *value};
    return sequence;
}

void record_ring_acknowledge(record_ring *ring, uint32_t sequence)
{
    /* An acknowledgement of what was never sent, or of what is already acknowledged, changes nothing. */
    if (sequence < ring->oldest || sequence >= ring->next_to_send)
        return;
    ring->oldest = sequence + 1;
}

const queued_reading *record_ring_next(record_ring *ring)
{
    if (ring->next_to_send == ring->next_sequence)
        return 0;
    return &ring->slots[ring->next_to_send++ % RECORD_RING_SLOTS];
}

void record_ring_rewind(record_ring *ring) { ring->next_to_send = ring->oldest; }
