#include "stuffed_frame.h"

void stuffed_frame_init(stuffed_frame *state, uint8_t start_flag, uint8_t end_flag, uint8_t *buffer,
                        size_t capacity)
{
    *state = (stuffed_frame){.start_flag = start_flag, .end_flag = end_flag, .buffer = buffer, .capacity = capacity};
}

static void restart(stuffed_frame *state)
{
    state->in_frame = 1;
    state->length = 0;
    state->escaped = 0;
    state->overflowed = 0;
}

stuffed_event stuffed_frame_push(stuffed_frame *state, uint8_t byte)
{
    int is_start = byte == state->start_flag, is_end = byte == state->end_flag;
    if (state->completed) {
        /* The caller has read the frame the previous byte completed. */
        state->completed = 0;
        state->length = 0;
        state->overflowed = 0;
    }
    if (!state->in_frame) {
        /* Garbage between frames is skipped until a start flag. */
        if (is_start)
            restart(state);
        return STUFFED_NONE;
    }
    if (is_end && (state->length > 0 || state->start_flag != state->end_flag)) {
        /* With equal flags (HDLC's rule) two flags in a row are no frame, and the flag that ends one frame
         * may open the next: stay in a frame. Garbage between frames then ends as a frame of its own, which
         * its checksum rejects, and the frame after it is still read whole. */
        stuffed_event event = state->escaped      ? STUFFED_BAD_ESCAPE
                              : state->overflowed ? STUFFED_OVERSIZED
                                                  : STUFFED_FRAME;
        state->in_frame = state->start_flag == state->end_flag;
        state->escaped = 0;
        state->completed = 1;
        return event;
    }
    if (is_start) {
        /* A start flag inside a frame (the end was lost): resynchronise on it. */
        int was_escaped = state->escaped;
        restart(state);
        return was_escaped ? STUFFED_BAD_ESCAPE : STUFFED_NONE;
    }
    if (byte == STUFFED_ESCAPE && !state->escaped) {
        state->escaped = 1;
        return STUFFED_NONE;
    }
    if (state->escaped) {
        byte ^= STUFFED_XOR;
        state->escaped = 0;
    }
    if (state->length < state->capacity)
        state->buffer[state->length++] = byte;
    else
        state->overflowed = 1;
    return STUFFED_NONE;
}

static int needs_escape(uint8_t byte, uint8_t start_flag, uint8_t end_flag)
{
    return byte == start_flag || byte == end_flag || byte == STUFFED_ESCAPE;
}

size_t stuffed_frame_encode(uint8_t start_flag, uint8_t end_flag, const uint8_t *payload, size_t length,
                            uint8_t *out, size_t capacity)
{
    size_t written = 0;
    if (capacity < 2)
        return 0;
    out[written++] = start_flag;
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = payload[i];
        if (needs_escape(byte, start_flag, end_flag)) {
            if (written + 2 > capacity - 1)
                return 0;
            out[written++] = STUFFED_ESCAPE;
            out[written++] = byte ^ STUFFED_XOR;
        } else {
            if (written + 1 > capacity - 1)
                return 0;
            out[written++] = byte;
        }
    }
    out[written++] = end_flag;
    return written;
}
