#include "uplink_session.h"

#include <stdbool.h>

#include "board/board.h"
#include "core/record_ring.h"
#include "protocols/stuffed_frame.h"

/* No acknowledgement for this long while records are out: send again from the oldest unacknowledged. */
#define ACKNOWLEDGEMENT_TIMEOUT_MS 2000u
/* This many timeouts in a row: ask for the session again. */
#define TIMEOUTS_BEFORE_HELLO 3u
#define HELLO_INTERVAL_MS 2000u
/* At most this many records out beyond the oldest unacknowledged, and this many sent per pass. */
#define WINDOW 128u
#define SENT_PER_PASS 8u

static record_ring ring;
static const uplink_identity *identity;
static stuffed_frame framer;
static uint8_t frame_buffer[UPLINK_GATEWAY_FRAME_BYTES + 8];
static uint32_t session; /* 0 until the gateway grants one */
static bool asking;      /* a hello is out, no session granted to it yet */
static uint32_t last_hello_ms, last_progress_ms, timeouts_in_a_row;
static uplink_counters counters;

void uplink_session_init(const uplink_identity *provisioned, uint32_t now_ms)
{
    identity = provisioned;
    record_ring_init(&ring);
    stuffed_frame_init(&framer, UPLINK_BOF, UPLINK_EOF, frame_buffer, sizeof frame_buffer);
    session = 0;
    asking = true;
    last_hello_ms = now_ms - HELLO_INTERVAL_MS;
    last_progress_ms = now_ms;
}

void uplink_session_queue(unsigned port, const reading *value) { record_ring_push(&ring, (uint8_t)port, value); }

static void progress(uint32_t now_ms)
{
    last_progress_ms = now_ms;
    timeouts_in_a_row = 0;
}

static void receive(const uplink_message *message, uint32_t now_ms)
{
    if (message->type == UPLINK_SESSION && asking && message->first == session) {
        session = message->second;
        asking = false;
        counters.sessions++;
        record_ring_rewind(&ring);
        progress(now_ms);
    } else if (message->type == UPLINK_ACKNOWLEDGEMENT && !asking && message->first == session) {
        uint32_t before = ring.oldest;
        record_ring_acknowledge(&ring, message->second);
        if (ring.oldest != before) {
            counters.acknowledged += ring.oldest - before;
            progress(now_ms);
        }
    }
}

static void receive_from_gateway(uint32_t now_ms)
{
    uint8_t byte;
    for (int n = 0; n < 64 && board_port_read(UPLINK_PORT, &byte); n++) {
        if (stuffed_frame_push(&framer, byte) != STUFFED_FRAME)
            continue;
        uplink_message message;
        if (uplink_from_gateway(identity, framer.buffer, framer.length, &message) != 0)
            counters.refused_frames++;
        else
            receive(&message, now_ms);
    }
}

static void say_hello(uint32_t now_ms)
{
    if (now_ms - last_hello_ms < HELLO_INTERVAL_MS)
        return;
    uint8_t frame[UPLINK_MAX_FRAME_BYTES];
    board_port_write(UPLINK_PORT, frame, uplink_hello(identity, session, frame, sizeof frame));
    last_hello_ms = now_ms;
}

static void send_records(uint32_t now_ms)
{
    if (ring.next_to_send == ring.oldest)
        progress(now_ms);
    else if (now_ms - last_progress_ms >= ACKNOWLEDGEMENT_TIMEOUT_MS) {
        record_ring_rewind(&ring);
        counters.resent_after_timeout++;
        last_progress_ms = now_ms;
        if (++timeouts_in_a_row >= TIMEOUTS_BEFORE_HELLO) {
            asking = true;
            return;
        }
    }
    uint8_t frame[UPLINK_MAX_FRAME_BYTES];
    for (unsigned n = 0; n < SENT_PER_PASS && ring.next_to_send - ring.oldest < WINDOW; n++) {
        const queued_reading *next = record_ring_next(&ring);
        if (!next)
            break;
        board_port_write(UPLINK_PORT, frame, uplink_record(identity, session, next, frame, sizeof frame));
        counters.sent++;
    }
}

void uplink_session_poll(uint32_t now_ms)
{
    if (!identity)
        return;
    receive_from_gateway(now_ms);
    if (asking)
        say_hello(now_ms);
    else
        send_records(now_ms);
    counters.dropped_when_full = ring.dropped;
}

uplink_counters uplink_session_statistics(void) { return counters; }
