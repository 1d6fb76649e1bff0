/* Byte-stuffed framing, as Datex-Ohmeda (7E ... 7E) and IntelliVue MIB/RS232 (C0 ... C1) use it: a start
 * flag, the payload with every flag or escape byte sent as ESCAPE, byte ^ 0x20, and an end flag. One byte
 * at a time, no allocation: the caller owns the state and its buffer. */
#ifndef COLLECTOR_STUFFED_FRAME_H
#define COLLECTOR_STUFFED_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define STUFFED_ESCAPE 0x7Du
#define STUFFED_XOR 0x20u

typedef enum {
    STUFFED_NONE,      /* nothing complete yet */
    STUFFED_FRAME,     /* state->buffer[0 .. state->length) holds an unescaped frame */
    STUFFED_OVERSIZED, /* a frame longer than the buffer was dropped */
    STUFFED_BAD_ESCAPE /* an escape followed by a flag: the frame was dropped */
} stuffed_event;

typedef struct {
    uint8_t start_flag, end_flag; /* equal for Datex */
    uint8_t *buffer;
    size_t capacity;
    size_t length;
    uint8_t in_frame, escaped, overflowed, completed;
} stuffed_frame;

void stuffed_frame_init(stuffed_frame *state, uint8_t start_flag, uint8_t end_flag, uint8_t *buffer,
                        size_t capacity);
stuffed_event stuffed_frame_push(stuffed_frame *state, uint8_t byte);

/* Writes start flag, escaped `payload`, end flag into `out`; returns the length, or 0 if `capacity` is too
 * small. */
size_t stuffed_frame_encode(uint8_t start_flag, uint8_t end_flag, const uint8_t *payload, size_t length,
                            uint8_t *out, size_t capacity);

#endif
