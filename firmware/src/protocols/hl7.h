/* HL7 v2 over MLLP, as Mindray and other monitors send it (IHE PCD-01, Device Enterprise Communication).
 *
 * A frame is VT (0B) | message | FS CR (1C 0D); segments end in CR; there is no checksum, and each message is
 * answered with an ACK in a frame of its own. The collector reads ORU^R01 observations: each OBX of value type
 * NM whose identifier (OBX-3) and unit (OBX-6) are MDC codes, at the observation's time (OBX-14, else MSH-7). */
#ifndef COLLECTOR_HL7_H
#define COLLECTOR_HL7_H

#include <stddef.h>
#include <stdint.h>

#include "core/reading.h"

#define HL7_MLLP_START 0x0Bu
#define HL7_MLLP_STARTS "\x0b"
#define HL7_MLLP_TERMINATOR "\x1c\r"
#define HL7_MAX_MESSAGE_BYTES 4096u

/* The readings of an ORU^R01 message (the frame without its VT, or with it): a count, or a parse_error.
 * Other message types give 0 readings. */
int hl7_parse(const uint8_t *message, size_t length, reading *readings, size_t capacity);

/* The MLLP-framed ACK (MSA|AA) of `message`, its sending and receiving applications swapped, its control ID
 * acknowledged, stamped with `timestamp` (YYYYMMDDHHMMSS); its length, or 0 if the message has no MSH or
 * `capacity` is too small. */
size_t hl7_ack(const uint8_t *message, size_t length, const char *timestamp, uint8_t *out, size_t capacity);

#endif
