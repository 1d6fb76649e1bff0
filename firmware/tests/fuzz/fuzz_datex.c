/* Arbitrary bytes as a Datex line: through the framer, every frame parsed. */
#include "protocols/datex.h"
#include "protocols/stuffed_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length)
{
    static uint8_t buffer[DATEX_MAX_RECORD_BYTES + 1];
    reading readings[16];
    stuffed_frame state;
    stuffed_frame_init(&state, DATEX_FLAG, DATEX_FLAG, buffer, sizeof buffer);
    for (size_t i = 0; i < length; i++)
        if (stuffed_frame_push(&state, bytes[i]) == STUFFED_FRAME)
            datex_parse(state.buffer, state.length, readings, 16);
    datex_parse(bytes, length, readings, 16);
    return 0;
}
