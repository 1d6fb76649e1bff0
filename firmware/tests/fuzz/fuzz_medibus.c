/* Arbitrary bytes as a MEDIBUS line. */
#include "protocols/delimited_frame.h"
#include "protocols/medibus.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length)
{
    static uint8_t buffer[MEDIBUS_MAX_FRAME_BYTES];
    reading readings[16];
    delimited_frame state;
    delimited_frame_init(&state, MEDIBUS_STARTS, MEDIBUS_TERMINATOR, buffer, sizeof buffer);
    for (size_t i = 0; i < length; i++)
        if (delimited_frame_push(&state, bytes[i]) == DELIMITED_FRAME)
            medibus_parse(state.buffer, state.length, readings, 16);
    medibus_parse(bytes, length, readings, 16);
    return 0;
}
