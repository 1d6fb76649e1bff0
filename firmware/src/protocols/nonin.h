/* Nonin pulse oximeter, serial data format 7.
 *
 * Frames of 5 bytes: STATUS, PLETH high, PLETH low, DATA, CHK, where CHK is the sum of the first four modulo
 * 256, STATUS bit 7 is always set and bit 0 marks the first frame of a packet. 25 frames make a packet
 * (3 a second); DATA carries the heart rate's high bits (frame 0) and low 7 bits (frame 1) and the SpO2
 * (frame 2). The collector selects the format with 02 70 02 02 07 03; the device answers ACK (06) or NAK (15).
 * Which DATA bits hold the rate is inferred from public descriptions, not checked against a device. */
#ifndef COLLECTOR_NONIN_H
#define COLLECTOR_NONIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/reading.h"

#define NONIN_FRAME_BYTES 5u
#define NONIN_FRAMES_PER_PACKET 25u
#define NONIN_STATUS_ALWAYS 0x80u
#define NONIN_STATUS_SYNC 0x01u
#define NONIN_HEART_RATE_MISSING 511
#define NONIN_SPO2_MISSING 127
#define NONIN_ACK 0x06u
#define NONIN_NAK 0x15u

extern const uint8_t NONIN_SELECT_FORMAT_7[6];

/* Whether 5 bytes are a frame: the status bit and the checksum. */
int nonin_frame_valid(const uint8_t frame[NONIN_FRAME_BYTES]);

/* The readings of a packet's first three DATA bytes: a count (missing values are left out). */
int nonin_parse(const uint8_t data[3], reading *readings, size_t capacity);

/* Resynchronising reader: bytes in, a packet's readings out once its third frame arrives. */
typedef struct {
    uint8_t window[NONIN_FRAME_BYTES];
    uint8_t filled;
    int8_t frame_in_packet; /* -1 until a frame with the sync bit */
    uint8_t data[3];
    uint32_t dropped_bytes; /* bytes skipped to find a frame boundary */
} nonin_reader;

void nonin_reader_init(nonin_reader *reader);
/* The readings completed by `byte` (usually 0). */
int nonin_push(nonin_reader *reader, uint8_t byte, reading *readings, size_t capacity);

#endif
