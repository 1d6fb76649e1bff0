#include "delimited_frame.h"

#include <string.h>

void delimited_frame_init(delimited_frame *state, const char *starts, const char *terminator, uint8_t *buffer,
                          size_t capacity)
{
    *state = (delimited_frame){.starts = starts, .terminator = terminator, .buffer = buffer, .capacity = capacity};
}

static int opens(const delimited_frame *state, uint8_t byte)
{
    if (byte == 0)
        return 0;
    if (state->starts)
        return strchr(state->starts, byte) != NULL;
    return strchr(state->terminator, byte) == NULL;
}

static void open_frame(delimited_frame *state, uint8_t byte)
{
    state->in_frame = 1;
    state->matched = 0;
    state->buffer[0] = byte;
    state->length = state->capacity > 0;
    state->overflowed = state->capacity == 0;
}

static void keep(delimited_frame *state, uint8_t byte)
{
    if (state->length < state->capacity)
        state->buffer[state->length++] = byte;
    else
        state->overflowed = 1;
}

delimited_event delimited_frame_push(delimited_frame *state, uint8_t byte)
{
    size_t terminator_bytes = strlen(state->terminator);
    if (state->completed) {
        state->completed = 0;
        state->length = 0;
    }
    if (!state->in_frame) {
        if (opens(state, byte))
            open_frame(state, byte);
        return DELIMITED_NONE;
    }
    if (byte == (uint8_t)state->terminator[state->matched]) {
        if (++state->matched < terminator_bytes)
            return DELIMITED_NONE;
        state->in_frame = 0;
        state->completed = 1;
        return state->overflowed ? DELIMITED_OVERSIZED : DELIMITED_FRAME;
    }
    /* A partial terminator followed by something else was data after all. */
    for (size_t i = 0; i < state->matched; i++)
        keep(state, (uint8_t)state->terminator[i]);
    state->matched = 0;
    if (state->starts && strchr(state->starts, byte) && byte != 0) {
        /* A start byte inside a frame: its end was lost; resynchronise on the new frame. */
        open_frame(state, byte);
        return DELIMITED_NONE;
    }
    if (byte == (uint8_t)state->terminator[0]) {
        state->matched = 1;
        return DELIMITED_NONE;
    }
    keep(state, byte);
    return DELIMITED_NONE;
}
