#include "nonin.h"

#include <string.h>

const uint8_t NONIN_SELECT_FORMAT_7[6] = {0x02, 0x70, 0x02, 0x02, 0x07, 0x03};

int nonin_frame_valid(const uint8_t frame[NONIN_FRAME_BYTES])
{
    uint8_t sum = (uint8_t)(frame[0] + frame[1] + frame[2] + frame[3]);
    return (frame[0] & NONIN_STATUS_ALWAYS) && sum == frame[4];
}

int nonin_parse(const uint8_t data[3], reading *readings, size_t capacity)
{
    int heart_rate = ((data[0] & 0x03) << 7) | (data[1] & 0x7F), spo2 = data[2] & 0x7F;
    size_t count = 0;
    if (heart_rate != NONIN_HEART_RATE_MISSING)
        count = reading_append(readings, count, capacity, MDC_PULS_OXIM_PULS_RATE, MDC_DIM_BEAT_PER_MIN, heart_rate,
                               0, 0);
    if (spo2 != NONIN_SPO2_MISSING)
        count = reading_append(readings, count, capacity, MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT, spo2, 0, 0);
    return (int)count;
}

void nonin_reader_init(nonin_reader *reader)
{
    memset(reader, 0, sizeof *reader);
    reader->frame_in_packet = -1;
}

int nonin_push(nonin_reader *reader, uint8_t byte, reading *readings, size_t capacity)
{
    reader->window[reader->filled++] = byte;
    if (reader->filled < NONIN_FRAME_BYTES)
        return 0;
    if (!nonin_frame_valid(reader->window)) {
        /* Not on a frame boundary: slide by one byte, and forget the packet being read. */
        memmove(reader->window, reader->window + 1, NONIN_FRAME_BYTES - 1);
        reader->filled = NONIN_FRAME_BYTES - 1;
        reader->frame_in_packet = -1;
        reader->dropped_bytes++;
        return 0;
    }
    reader->filled = 0;
    if (reader->window[0] & NONIN_STATUS_SYNC)
        reader->frame_in_packet = 0;
    else if (reader->frame_in_packet >= 0 && reader->frame_in_packet < (int8_t)(NONIN_FRAMES_PER_PACKET - 1))
        reader->frame_in_packet++;
    else
        reader->frame_in_packet = -1; /* a packet longer than 25 frames, or no sync seen yet */
    if (reader->frame_in_packet < 0 || reader->frame_in_packet > 2)
        return 0;
    reader->data[reader->frame_in_packet] = reader->window[3];
    return reader->frame_in_packet == 2 ? nonin_parse(reader->data, readings, capacity) : 0;
}
