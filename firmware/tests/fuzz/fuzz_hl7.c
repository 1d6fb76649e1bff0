/* Arbitrary bytes as an MLLP connection: every message parsed and acknowledged. */
#include "protocols/delimited_frame.h"
#include "protocols/hl7.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length)
{
    static uint8_t buffer[HL7_MAX_MESSAGE_BYTES], ack[512];
    reading readings[16];
    delimited_frame state;
    delimited_frame_init(&state, HL7_MLLP_STARTS, HL7_MLLP_TERMINATOR, buffer, sizeof buffer);
    for (size_t i = 0; i < length; i++) {
        if (delimited_frame_push(&state, bytes[i]) != DELIMITED_FRAME)
            continue;
        hl7_parse(state.buffer, state.length, readings, 16);
        hl7_ack(state.buffer, state.length, "20261128000000", ack, sizeof ack);
    }
    hl7_parse(bytes, length, readings, 16);
    return 0;
}
