/* Philips IntelliVue MIB/RS232 ("Data Export" over the MIB port): 115200 baud, 8N1, no flow control.
 *
 * A frame is C0 | 11 01 len_hi len_lo | data | FCS_lo FCS_hi | C1, with 7D, C0 and C1 inside sent as 7D,
 * byte ^ 0x20. The FCS is PPP's (RFC 1662, CRC-16/X-25) over header and data. The data is the LAN protocol's
 * big-endian application PDU. The collector asks for an association (a session SPDU, 0D), waits for the
 * monitor's acceptance (0E) and its MDS Create event report, confirms that event, then polls "MDIB data" for
 * numerics every second and reads them (NuObsValue: physio ID, state, unit, FLOAT) out of the replies. A
 * refusal (0C), a release (0A), an abort (19) or a silence ends the association; the collector asks again. */
#ifndef COLLECTOR_INTELLIVUE_H
#define COLLECTOR_INTELLIVUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/reading.h"

#define INTELLIVUE_BOF 0xC0u
#define INTELLIVUE_EOF 0xC1u
#define INTELLIVUE_HEADER_BYTES 4u
#define INTELLIVUE_MAX_DATA_BYTES 4096u
#define INTELLIVUE_MAX_FRAME_BYTES (2u * (INTELLIVUE_HEADER_BYTES + INTELLIVUE_MAX_DATA_BYTES + 2u) + 2u)
/* The longest frame the collector sends (the association request, every byte escaped). */
#define INTELLIVUE_ASSOCIATION_REQUEST_BYTES 238u
#define INTELLIVUE_MAX_REQUEST_FRAME_BYTES (2u * (INTELLIVUE_HEADER_BYTES + INTELLIVUE_ASSOCIATION_REQUEST_BYTES + 2u) + 2u)

uint16_t intellivue_fcs(const uint8_t *bytes, size_t length);

/* The application data of an unescaped frame (header, data, FCS): its offset is INTELLIVUE_HEADER_BYTES and
 * its length is returned, or a parse_error. */
int intellivue_unwrap(const uint8_t *frame, size_t length);

/* The numerics in a poll reply's application data (single or linked result): a count, or a parse_error.
 * Other PDUs give 0 readings. */
int intellivue_parse(const uint8_t *data, size_t length, reading *readings, size_t capacity);

/* What an unwrapped PDU from the monitor is. */
typedef enum {
    INTELLIVUE_OTHER,
    INTELLIVUE_ACCEPTED,    /* the association is accepted */
    INTELLIVUE_ENDED,       /* refused, released or aborted: there is no association */
    INTELLIVUE_MDS_CREATED, /* the MDS Create event report, which the collector confirms before it polls */
    INTELLIVUE_DATA,        /* any other data export PDU: a poll reply, perhaps */
} intellivue_message;

/* The MDS Create event's invoke ID and managed object, which its confirmation repeats. */
typedef struct {
    uint16_t invoke_id;
    uint8_t managed_object[6];
} intellivue_event;

intellivue_message intellivue_classify(const uint8_t *data, size_t length, intellivue_event *event);

/* Escaped frames, each returning its length, or 0 if `capacity` is too small: the association request (a
 * client asking for numerics polled at most once a second), the confirmation of the MDS Create event, and a
 * "poll MDIB data" request for numerics. */
size_t intellivue_association_request(uint8_t *out, size_t capacity);
size_t intellivue_mds_create_result(const intellivue_event *event, uint8_t *out, size_t capacity);
size_t intellivue_poll_request(uint16_t invoke_id, uint16_t poll_number, uint8_t *out, size_t capacity);

#endif
