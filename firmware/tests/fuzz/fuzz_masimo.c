/* Arbitrary bytes as a Masimo serial line. */
#include "protocols/delimited_frame.h"
#include "protocols/masimo.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length)
{
    static uint8_t buffer[MASIMO_MAX_LINE_BYTES];
    reading readings[16];
    delimited_frame state;
    delimited_frame_init(&state, NULL, MASIMO_TERMINATOR, buffer, sizeof buffer);
    for (size_t i = 0; i < length; i++)
        if (delimited_frame_push(&state, bytes[i]) == DELIMITED_FRAME)
            masimo_parse(state.buffer, state.length, readings, 16);
    masimo_parse(bytes, length, readings, 16);
    return 0;
}
