/* Draeger MEDIBUS (ASCII) over RS232: 19200 baud, 8E1.
 *
 * A command is ESC cmd [data] CS CS CR, its reply SOH cmd [data] CS CS CR; CS CS is the low byte of the sum
 * of every byte before it, as two upper-case hex digits. Either side sends commands: the collector
 * initialises (ICC), asks for current measured data (code page 1) and keeps the link alive with NOP; the
 * device's own commands get an empty reply. A reply to "current measured data" carries 6-character records:
 * a 2-hex-digit code and a 4-character value. */
#ifndef COLLECTOR_MEDIBUS_H
#define COLLECTOR_MEDIBUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/reading.h"

#define MEDIBUS_ESC 0x1Bu
#define MEDIBUS_SOH 0x01u
#define MEDIBUS_CR 0x0Du
#define MEDIBUS_STARTS "\x1b\x01"
#define MEDIBUS_TERMINATOR "\r"
#define MEDIBUS_MAX_FRAME_BYTES 1024u

#define MEDIBUS_ICC 0x51u
#define MEDIBUS_NOP 0x30u
#define MEDIBUS_CURRENT_DATA_CP1 0x24u

/* A frame as the framer gives it (start byte, command, data, two checksum digits; no CR): its data length
 * (the data starts at offset 2), or a parse_error. */
int medibus_check(const uint8_t *frame, size_t length);

/* The readings in a checked reply to MEDIBUS_CURRENT_DATA_CP1: a count, or a parse_error. Codes the
 * collector does not know are skipped. */
int medibus_parse(const uint8_t *frame, size_t length, reading *readings, size_t capacity);

/* A frame (`lead` ESC for a command, SOH for a reply) with its checksum and CR; its length, or 0 if
 * `capacity` is too small. */
size_t medibus_frame(uint8_t lead, uint8_t command, const uint8_t *data, size_t data_length, uint8_t *out,
                     size_t capacity);

#endif
