/* Masimo Radical-7 / Rad-8 serial output "ASCII 1": 9600 baud, 8N1, output only, no checksum.
 *
 * About once a second a line such as
 *   02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% ... ALARM=0000 EXC=000800
 * ends in CR LF: the device's date and time, then KEY=VALUE fields. "---" marks a value not measured; EXC is a
 * hex bit field of exceptions (0x001 no sensor, 0x020 sensor off: no value of that line is a measurement). */
#ifndef COLLECTOR_MASIMO_H
#define COLLECTOR_MASIMO_H

#include <stddef.h>
#include <stdint.h>

#include "core/reading.h"

#define MASIMO_TERMINATOR "\r\n"
#define MASIMO_MAX_LINE_BYTES 256u

#define MASIMO_EXC_NO_SENSOR 0x001u
#define MASIMO_EXC_SENSOR_OFF 0x020u

/* The readings of one line (without its CR LF): a count, or a parse_error. */
int masimo_parse(const uint8_t *line, size_t length, reading *readings, size_t capacity);

#endif
