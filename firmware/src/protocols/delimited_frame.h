/* Frames that open with a start byte and close with a terminator, no escaping: MEDIBUS (ESC or SOH ... CR),
 * HL7 over MLLP (VT ... FS CR), Masimo's ASCII lines (... CR LF). One byte at a time, no allocation. */
#ifndef COLLECTOR_DELIMITED_FRAME_H
#define COLLECTOR_DELIMITED_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DELIMITED_NONE,     /* nothing complete yet */
    DELIMITED_FRAME,    /* state->buffer[0 .. state->length) holds a frame, start byte kept, terminator not */
    DELIMITED_OVERSIZED /* a frame longer than the buffer was dropped */
} delimited_event;

typedef struct {
    const char *starts; /* the bytes that open a frame; NULL: any byte that is not part of the terminator */
    const char *terminator; /* one or two bytes */
    uint8_t *buffer;
    size_t capacity;
    size_t length;
    uint8_t in_frame, overflowed, matched, completed;
} delimited_frame;

void delimited_frame_init(delimited_frame *state, const char *starts, const char *terminator, uint8_t *buffer,
                          size_t capacity);
delimited_event delimited_frame_push(delimited_frame *state, uint8_t byte);

#endif
