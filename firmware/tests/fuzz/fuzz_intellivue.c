/* Arbitrary bytes as an IntelliVue MIB line, and as application data (a poll reply, or any PDU to classify). */
#include "protocols/intellivue.h"
#include "protocols/stuffed_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length)
{
    static uint8_t buffer[INTELLIVUE_HEADER_BYTES + INTELLIVUE_MAX_DATA_BYTES + 2];
    reading readings[16];
    stuffed_frame state;
    stuffed_frame_init(&state, INTELLIVUE_BOF, INTELLIVUE_EOF, buffer, sizeof buffer);
    for (size_t i = 0; i < length; i++) {
        if (stuffed_frame_push(&state, bytes[i]) != STUFFED_FRAME)
            continue;
        int data = intellivue_unwrap(state.buffer, state.length);
        if (data >= 0)
            intellivue_parse(state.buffer + INTELLIVUE_HEADER_BYTES, (size_t)data, readings, 16);
    }
    intellivue_parse(bytes, length, readings, 16);
    intellivue_event event;
    static uint8_t confirmation[INTELLIVUE_MAX_REQUEST_FRAME_BYTES];
    if (intellivue_classify(bytes, length, &event) == INTELLIVUE_MDS_CREATED)
        intellivue_mds_create_result(&event, confirmation, sizeof confirmation);
    return 0;
}
