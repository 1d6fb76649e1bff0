/* What the collector sends an IntelliVue monitor: the association request, the confirmation of the monitor's
 * MDS Create event, and polls for numerics. */
#include "byte_order.h"
#include "intellivue.h"
#include "intellivue_pdu.h"
#include "stuffed_frame.h"

/* The header, the FCS and the escaping around `data_bytes` of application data already in `frame`. */
static size_t seal(uint8_t *frame, size_t data_bytes, uint8_t *out, size_t capacity)
{
    frame[0] = 0x11;
    frame[1] = 0x01;
    write_be16(frame + 2, (uint16_t)data_bytes);
    size_t covered = INTELLIVUE_HEADER_BYTES + data_bytes;
    write_le16(frame + covered, intellivue_fcs(frame, covered));
    return stuffed_frame_encode(INTELLIVUE_BOF, INTELLIVUE_EOF, frame, covered + 2, out, capacity);
}

/* The association request: the session header and data, the presentation layer's ASN.1 (BER, indefinite
 * lengths: a presentation context for the data export protocol and an AARQ naming its application context),
 * then the MDSE user information, big-endian, and the 16 zero bytes that close the indefinite lengths. */
static const uint8_t ASSOCIATION_SESSION[] = {
    SPDU_CONNECT, 0xEC, /* the rest: 236 bytes */
    0x05, 0x08, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02, 0x80, 0x00, 0x14, 0x02, 0x00, 0x02,
};
static const uint8_t ASSOCIATION_PRESENTATION[] = {
    0xC1, 0xDC, /* the rest: 220 bytes */
    0x31, 0x80, 0xA0, 0x80, 0x80, 0x01, 0x01, 0x00, 0x00, 0xA2, 0x80, 0xA0, 0x03, 0x00, 0x00, 0x01, 0xA4, 0x80,
    0x30, 0x80, 0x02, 0x01, 0x01, 0x06, 0x04, 0x52, 0x01, 0x00, 0x01, 0x30, 0x80, 0x06, 0x02, 0x51, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x30, 0x80, 0x02, 0x01, 0x02, 0x06, 0x0C, 0x2A, 0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00,
    0x00, 0x00, 0x01, 0x01, 0x30, 0x80, 0x06, 0x0C, 0x2A, 0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00,
    0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0xA0, 0x80, 0x60,
    0x80, 0xA1, 0x80, 0x06, 0x0C, 0x2A, 0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00,
    0x00, 0xBE, 0x80, 0x28, 0x80, 0x06, 0x0C, 0x2A, 0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x01, 0x02, 0x01, 0x02, 0x81, 0x48, /* the user information: 72 bytes */
};
static const uint32_t ASSOCIATION_USER_INFORMATION[] = {
    0x80000000u, /* protocol version: MDDL version 1 */
    0x40000000u, /* nomenclature version */
    0,           /* functional units */
    0x80000000u, /* system type: a client */
    0x20000000u, /* startup mode: cold */
    0x00000000u, /* option list: none */
    0x0001002Cu, /* supported profiles: one, 44 bytes */
    0x00010028u, /* the poll profile, 40 bytes: */
    0x80000000u, /*   revision 0 */
    8000u,       /*   polled at most once a second (1/8 ms units) */
    1000u,       /*   the largest frame received, */
    1000u,       /*   and sent */
    0xFFFFFFFFu, /*   no bandwidth limit */
    0x60000000u, /*   objects created and deleted dynamically */
    0x0001000Cu, /*   optional packages: one, 12 bytes: */
    0xF0010008u, /*   the poll profile extension, 8 bytes: */
    0x80000000u, /*     numerics once a second */
    0x00000000u, /*     no extended attributes */
};
#define ASSOCIATION_TRAILER_BYTES 16u
#define ASSOCIATION_BYTES                                                                                      \
    (sizeof ASSOCIATION_SESSION + sizeof ASSOCIATION_PRESENTATION + sizeof ASSOCIATION_USER_INFORMATION +       \
     ASSOCIATION_TRAILER_BYTES)
_Static_assert(ASSOCIATION_BYTES == INTELLIVUE_ASSOCIATION_REQUEST_BYTES, "the association request's length");

size_t intellivue_association_request(uint8_t *out, size_t capacity)
{
    uint8_t frame[INTELLIVUE_HEADER_BYTES + ASSOCIATION_BYTES + 2] = {0};
    uint8_t *data = frame + INTELLIVUE_HEADER_BYTES;
    for (size_t i = 0; i < sizeof ASSOCIATION_SESSION; i++)
        *data++ = ASSOCIATION_SESSION[i];
    for (size_t i = 0; i < sizeof ASSOCIATION_PRESENTATION; i++)
        *data++ = ASSOCIATION_PRESENTATION[i];
    for (size_t i = 0; i < sizeof ASSOCIATION_USER_INFORMATION / sizeof ASSOCIATION_USER_INFORMATION[0]; i++, data += 4)
        write_be32(data, ASSOCIATION_USER_INFORMATION[i]);
    return seal(frame, ASSOCIATION_BYTES, out, capacity);
}

size_t intellivue_mds_create_result(const intellivue_event *event, uint8_t *out, size_t capacity)
{
    uint8_t frame[INTELLIVUE_HEADER_BYTES + 28 + 2];
    uint8_t *data = frame + INTELLIVUE_HEADER_BYTES;
    static const uint16_t words[] = {
        SESSION_DATA, PRESENTATION_CONTEXT,
        RORS_APDU, 20,                        /* ROapdus: the remote result, 20 bytes */
        0, CMD_CONFIRMED_EVENT_REPORT, 14,    /* RORSapdu: invoke id (set below), the event report, 14 bytes */
        0, 0, 0,                              /* the managed object (set below) */
        0, 0,                                 /* current time */
        NOM_NOTI_MDS_CREAT, 0,                /* the event confirmed, no more */
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        write_be16(data + 2 * i, words[i]);
    write_be16(data + 8, event->invoke_id);
    for (int i = 0; i < 6; i++)
        data[14 + i] = event->managed_object[i];
    return seal(frame, 28, out, capacity);
}

size_t intellivue_poll_request(uint16_t invoke_id, uint16_t poll_number, uint8_t *out, size_t capacity)
{
    uint8_t frame[INTELLIVUE_HEADER_BYTES + 36 + 2];
    uint8_t *data = frame + INTELLIVUE_HEADER_BYTES;
    static const uint16_t words[] = {
        SESSION_DATA, PRESENTATION_CONTEXT,
        ROIV_APDU, 28,                                /* ROapdus: the remote invoke, 28 bytes */
        0, CMD_CONFIRMED_ACTION, 22,                  /* ROIVapdu: invoke id (set below), action, 22 bytes */
        NOM_MOC_VMS_MDS, 0, 0,                        /* the MDS object */
        0, 0,                                         /* scope */
        NOM_ACT_POLL_MDIB_DATA, 8,                    /* the poll, 8 bytes */
        0, NOM_PART_OBJ, NOM_MOC_VMO_METRIC_NU, 0,    /* poll number (set below), numerics, all attributes */
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        write_be16(data + 2 * i, words[i]);
    write_be16(data + 8, invoke_id);
    write_be16(data + 28, poll_number);
    return seal(frame, 36, out, capacity);
}
