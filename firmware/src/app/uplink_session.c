#include "uplink_session.h"

#include "board/board.h"
#include "core/record_ring.h"
#include "protocols/stuffed_frame.h"

/* No acknowledgement for this long while records are out: send again from the oldest unacknowledged. */
#define ACKNOWLEDGEMENT_TIMEOUT_MS 2000u
/* At most this many records out beyond the oldest unacknowledged, and this many sent per pass. */
#define WINDOW 128u
#define SENT_PER_PASS 8u

static record_ring ring;
static const uplink_identity *identity;
static stuffed_frame framer;
static uint8_t frame_buffer[UPLINK_ACKNOWLEDGEMENT_BYTES + 8];
static uint32_t last_progress_ms;
static uplink_counters counters;

void uplink_session_init(const uplink_identity *provisioned, uint32_t now_ms)
{
    identity = provisioned;
    record_ring_init(&ring);
    stuffed_frame_init(&framer, UPLINK_BOF, UPLINK_EOF, frame_buffer, sizeof frame_buffer);
    last_progress_ms = now_ms;
}

void uplink_session_queue(unsigned port, const reading *value) { record_ring_push(&ring, (uint8_t)port, value); }

static void receive_acknowledgements(uint32_t now_ms)
{
    uint8_t byte;
    for (int n = 0; n < 64 && board_port_read(UPLINK_PORT, &byte); n++) {
        if (stuffed_frame_push(&framer, byte) != STUFFED_FRAME)
            continue;
        uint32_t sequence;
        if (uplink_acknowledgement(identity, framer.buffer, framer.length, &sequence) != 0) {
            counters.bad_acknowledgements++;
            continue;
        }
        uint32_t before = ring.oldest;
        record_ring_acknowledge(&ring, sequence);
        if (ring.oldest != before) {
            counters.acknowledged += ring.oldest - before;
            last_progress_ms = now_ms;
        }
    }
}

void uplink_session_poll(uint32_t now_ms)
{
    if (!identity)
        return;
    receive_acknowledgements(now_ms);
    uint32_t in_flight = ring.next_to_send - ring.oldest;
    if (in_flight == 0)
        last_progress_ms = now_ms;
    else if (now_ms - last_progress_ms >= ACKNOWLEDGEMENT_TIMEOUT_MS) {
        record_ring_rewind(&ring);
        counters.resent_after_timeout++;
        last_progress_ms = now_ms;
    }
    uint8_t frame[UPLINK_MAX_FRAME_BYTES];
    for (unsigned n = 0; n < SENT_PER_PASS && ring.next_to_send - ring.oldest < WINDOW; n++) {
        const queued_reading *next = record_ring_next(&ring);
        if (!next)
            break;
        size_t length = uplink_record(identity, next, frame, sizeof frame);
        board_port_write(UPLINK_PORT, frame, length);
        counters.sent++;
    }
    counters.dropped_when_full = ring.dropped;
}

uplink_counters uplink_session_statistics(void) { return counters; }
