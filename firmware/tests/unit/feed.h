/* Feeding bytes through the framers the way a UART would, collecting what comes out. */
#ifndef COLLECTOR_FEED_H
#define COLLECTOR_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocols/delimited_frame.h"
#include "protocols/stuffed_frame.h"

#define FEED_MAX_FRAMES 8
#define FEED_MAX_BYTES 4096

typedef struct {
    size_t frames, oversized, bad_escapes;
    size_t lengths[FEED_MAX_FRAMES];
    uint8_t bytes[FEED_MAX_FRAMES][FEED_MAX_BYTES];
} fed;

static inline void keep_frame(fed *out, const uint8_t *frame, size_t length)
{
    if (out->frames < FEED_MAX_FRAMES && length <= FEED_MAX_BYTES) {
        memcpy(out->bytes[out->frames], frame, length);
        out->lengths[out->frames] = length;
    }
    out->frames++;
}

static inline void feed_stuffed(stuffed_frame *state, const uint8_t *bytes, size_t length, fed *out)
{
    for (size_t i = 0; i < length; i++) {
        stuffed_event event = stuffed_frame_push(state, bytes[i]);
        if (event == STUFFED_FRAME)
            keep_frame(out, state->buffer, state->length);
        out->oversized += event == STUFFED_OVERSIZED;
        out->bad_escapes += event == STUFFED_BAD_ESCAPE;
    }
}

/* Every frame of `wire` through a fresh stuffed framer, into `out` (emptied first). */
static inline void unstuff(uint8_t start, uint8_t end, const uint8_t *wire, size_t length, uint8_t *buffer,
                           size_t capacity, fed *out)
{
    stuffed_frame state;
    stuffed_frame_init(&state, start, end, buffer, capacity);
    memset(out, 0, sizeof *out);
    feed_stuffed(&state, wire, length, out);
}

static inline void feed_delimited(delimited_frame *state, const uint8_t *bytes, size_t length, fed *out)
{
    for (size_t i = 0; i < length; i++) {
        delimited_event event = delimited_frame_push(state, bytes[i]);
        if (event == DELIMITED_FRAME)
            keep_frame(out, state->buffer, state->length);
        out->oversized += event == DELIMITED_OVERSIZED;
    }
}

#endif
