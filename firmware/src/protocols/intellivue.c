#include "intellivue.h"

#include "byte_order.h"
#include "core/civil_time.h"
#include "intellivue_pdu.h"

/* A numeric is left out when the monitor marks it invalid or unavailable. */
#define STATE_NOT_USABLE 0xA000u
#define NU_OBS_VALUE_BYTES 10u

uint16_t intellivue_fcs(const uint8_t *bytes, size_t length)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < length; i++) {
        crc ^= bytes[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
    }
    return (uint16_t)~crc;
}

int intellivue_unwrap(const uint8_t *frame, size_t length)
{
    if (length < INTELLIVUE_HEADER_BYTES + 2)
        return PARSE_TRUNCATED;
    if (frame[0] != 0x11 || frame[1] != 0x01)
        return PARSE_UNSUPPORTED;
    size_t data_bytes = read_be16(frame + 2);
    if (data_bytes > INTELLIVUE_MAX_DATA_BYTES)
        return PARSE_OVERSIZED;
    if (length != INTELLIVUE_HEADER_BYTES + data_bytes + 2)
        return length < INTELLIVUE_HEADER_BYTES + data_bytes + 2 ? PARSE_TRUNCATED : PARSE_MALFORMED;
    size_t covered = INTELLIVUE_HEADER_BYTES + data_bytes;
    if (intellivue_fcs(frame, covered) != read_le16(frame + covered))
        return PARSE_BAD_CHECKSUM;
    return (int)data_bytes;
}

/* A bounded reader: every read checks that the bytes are there, so that no length field in a PDU can take
 * a parse past its buffer. */
typedef struct {
    const uint8_t *bytes;
    size_t length, at;
    int failed;
} cursor;

static uint16_t take16(cursor *c)
{
    if (c->failed || c->length - c->at < 2) {
        c->failed = 1;
        return 0;
    }
    c->at += 2;
    return read_be16(c->bytes + c->at - 2);
}

static const uint8_t *take(cursor *c, size_t bytes)
{
    if (c->failed || c->length - c->at < bytes) {
        c->failed = 1;
        return 0;
    }
    c->at += bytes;
    return c->bytes + c->at - bytes;
}

static int bcd(uint8_t byte)
{
    int high = byte >> 4, low = byte & 0x0F;
    return high > 9 || low > 9 ? -1 : high * 10 + low;
}

/* AbsoluteTime: century, year, month, day, hour, minute, second, fraction, in BCD. */
static uint32_t absolute_time(const uint8_t *t)
{
    int century = bcd(t[0]), year = bcd(t[1]);
    if (century < 0 || year < 0)
        return 0;
    return civil_to_unix(century * 100 + year, bcd(t[2]), bcd(t[3]), bcd(t[4]), bcd(t[5]), bcd(t[6]));
}

static size_t numeric(const uint8_t *value, uint32_t time, reading *readings, size_t count, size_t capacity)
{
    uint16_t physio = read_be16(value), state = read_be16(value + 2), unit = read_be16(value + 4);
    uint32_t raw = read_be32(value + 6);
    int32_t mantissa = (int32_t)(raw & 0xFFFFFFu);
    if (mantissa & 0x800000)
        mantissa -= 0x1000000; /* signed 24 bits */
    int8_t exponent = (int8_t)(raw >> 24);
    /* FLOAT's special values: NaN, NRes, +INF, -INF. */
    if ((state & STATE_NOT_USABLE) || mantissa == 0x7FFFFF || mantissa == -0x800000 || mantissa == 0x7FFFFE ||
        mantissa == -0x7FFFFE)
        return count;
    return reading_append(readings, count, capacity, MDC_CODE(MDC_PART_SCADA, physio), MDC_CODE(MDC_PART_DIM, unit),
                          mantissa, exponent, time);
}

static size_t attributes(cursor *c, uint32_t time, reading *readings, size_t count, size_t capacity)
{
    uint16_t entries = take16(c);
    take16(c); /* their length in bytes: each entry carries its own */
    for (uint16_t n = 0; n < entries && !c->failed; n++) {
        uint16_t id = take16(c), bytes = take16(c);
        const uint8_t *value = take(c, bytes);
        if (!value)
            break;
        if (id == NOM_ATTR_NU_VAL_OBS && bytes >= NU_OBS_VALUE_BYTES) {
            count = numeric(value, time, readings, count, capacity);
        } else if (id == NOM_ATTR_NU_CMPD_VAL_OBS && bytes >= 4) {
            size_t values = read_be16(value);
            if (values > (bytes - 4u) / NU_OBS_VALUE_BYTES)
                values = (bytes - 4u) / NU_OBS_VALUE_BYTES;
            for (size_t i = 0; i < values; i++)
                count = numeric(value + 4 + i * NU_OBS_VALUE_BYTES, time, readings, count, capacity);
        }
    }
    return count;
}

int intellivue_parse(const uint8_t *data, size_t length, reading *readings, size_t capacity)
{
    cursor c = {data, length, 0, 0};
    take16(&c); /* session */
    take16(&c); /* presentation context */
    uint16_t ro_type = take16(&c);
    take16(&c);
    if (c.failed)
        return PARSE_TRUNCATED;
    if (ro_type != RORS_APDU && ro_type != ROLRS_APDU)
        return 0;
    if (ro_type == ROLRS_APDU)
        take16(&c); /* linked-reply state and count */
    take16(&c);     /* invoke id */
    uint16_t command = take16(&c);
    take16(&c);
    take(&c, 6); /* the managed object */
    uint16_t action = take16(&c);
    take16(&c);
    if (c.failed)
        return PARSE_TRUNCATED;
    if (command != CMD_CONFIRMED_ACTION || action != NOM_ACT_POLL_MDIB_DATA)
        return 0;
    take16(&c);   /* poll number */
    take(&c, 4);  /* relative time */
    const uint8_t *when = take(&c, 8);
    take(&c, 4);  /* polled object type */
    take16(&c);   /* attribute group */
    uint16_t contexts = take16(&c);
    take16(&c);
    if (c.failed)
        return PARSE_TRUNCATED;
    uint32_t time = absolute_time(when);
    size_t count = 0;
    for (uint16_t n = 0; n < contexts && !c.failed; n++) {
        take16(&c); /* context id */
        uint16_t observations = take16(&c);
        take16(&c);
        for (uint16_t m = 0; m < observations && !c.failed; m++) {
            take16(&c); /* object handle */
            count = attributes(&c, time, readings, count, capacity);
        }
    }
    return c.failed ? PARSE_MALFORMED : (int)count;
}

intellivue_message intellivue_classify(const uint8_t *data, size_t length, intellivue_event *event)
{
    if (length == 0)
        return INTELLIVUE_OTHER;
    switch (data[0]) {
    case SPDU_ACCEPT:
        return INTELLIVUE_ACCEPTED;
    case SPDU_REFUSE:
    case SPDU_DISCONNECT:
    case SPDU_ABORT:
        return INTELLIVUE_ENDED;
    default:
        break;
    }
    cursor c = {data, length, 0, 0};
    if (take16(&c) != SESSION_DATA)
        return INTELLIVUE_OTHER;
    take16(&c); /* presentation context */
    uint16_t ro_type = take16(&c);
    take16(&c);
    uint16_t invoke_id = take16(&c);
    uint16_t command = take16(&c);
    take16(&c);
    const uint8_t *managed_object = take(&c, 6);
    take(&c, 4); /* event time */
    uint16_t event_type = take16(&c);
    if (!c.failed && ro_type == ROIV_APDU && command == CMD_CONFIRMED_EVENT_REPORT && event_type == NOM_NOTI_MDS_CREAT) {
        event->invoke_id = invoke_id;
        for (int i = 0; i < 6; i++)
            event->managed_object[i] = managed_object[i];
        return INTELLIVUE_MDS_CREATED;
    }
    return INTELLIVUE_DATA;
}
