/* GE Datex-Ohmeda S/5 Computer Interface (AS3) over RS232: 19200 baud, 8E1, RTS/CTS.
 *
 * A frame is 7E | record | checksum | 7E, with 7E and 7D inside sent as 7D, byte ^ 0x20; the checksum is the
 * 8-bit sum of the unescaped record. A record is a 40-byte little-endian header (length, number, DRI level,
 * plug ID, time, main type, and up to 8 subrecord descriptors {offset, type} ending in type 0xFF) and its
 * subrecords. The collector asks for physiological data (main type 0) of the basic class, displayed values
 * (subrecord type 1), every N seconds, and reads them from the subrecords that come back. */
#ifndef COLLECTOR_DATEX_H
#define COLLECTOR_DATEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/reading.h"

#define DATEX_FLAG 0x7Eu
#define DATEX_HEADER_BYTES 40u
#define DATEX_MAX_RECORD_BYTES 1490u
/* The largest frame on the wire: every byte of a record and its checksum escaped, and two flags. */
#define DATEX_MAX_FRAME_BYTES (2u * (DATEX_MAX_RECORD_BYTES + 1u) + 2u)
#define DATEX_REQUEST_BYTES 49u

#define DATEX_MAINTYPE_PHDB 0
#define DATEX_SUBRECORD_DISPLAYED 1u
#define DATEX_SUBRECORD_END 0xFFu

/* The readings in an unescaped frame (`record` followed by its checksum byte): a count, or a parse_error.
 * Records of other main types or without displayed values give 0 readings. */
int datex_parse(const uint8_t *frame, size_t length, reading *readings, size_t capacity);

/* The escaped frame asking for displayed basic values every `interval_s` seconds (0 stops them); its length,
 * or 0 if `capacity` is too small. */
size_t datex_request_displayed(int16_t interval_s, uint8_t *out, size_t capacity);

#endif
