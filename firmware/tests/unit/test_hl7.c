/* HL7 v2 over MLLP: PCD-01 observation messages in, ACKs out. */
#include "check.h"
#include "find_reading.h"
#include "feed.h"
#include "protocols/hl7.h"

/* A PCD-01 ORU^R01 as a Mindray monitor sends it, with the PCD-01 example OBX for SpO2. */
static const char ORU[] =
    "MSH|^~\\&|MINDRAY_D-SERIES^00A037009A0053DE^EUI-64|MINDRAY|CIS|HOSPITAL|20261128120000+0800||"
    "ORU^R01^ORU_R01|MSG00042|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\r"
    "PID|||P-0001^^^HOSP^PI||Doe^Jane\r"
    "PV1||I|OR^3^1\r"
    "OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20261128120000+0800\r"
    "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||20261128115955+0800\r"
    "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.6.1.1|98|262688^MDC_DIM_PERCENT^MDC|||||R\r"
    "OBX|3|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.3.1.1|-|266016^MDC_DIM_MMHG^MDC|||||X\r"
    "OBX|4|ST|184327^MDC_ECG_RHY_STAT^MDC|1.1.1.2|sinus|||||||R\r"
    "OBX|5|NM|150344^MDC_TEMP^MDC|1.7.1.1|36.6|268192^MDC_DIM_DEGC^MDC|||||R\r";

static void numeric_observations_come_with_their_codes_units_and_times(void)
{
    reading readings[8];
    int count = hl7_parse((const uint8_t *)ORU, sizeof ORU - 1, readings, 8);
    CHECK_INT(count, 3);
    const reading *hr = find(readings, count, 147842);
    /* OBX-14 is 11:59:55 at +08:00, 03:59:55 UTC. */
    CHECK(hr && hr->mantissa == 72 && hr->unit == 264864 && hr->device_time == 1795838400u - 5);
    const reading *spo2 = find(readings, count, MDC_PULS_OXIM_SAT_O2);
    /* No OBX-14: the message's time. */
    CHECK(spo2 && spo2->mantissa == 98 && spo2->unit == MDC_DIM_PERCENT && spo2->device_time == 1795838400u);
    const reading *temp = find(readings, count, 150344);
    CHECK(temp && temp->mantissa == 366 && temp->exponent == -1 && temp->unit == MDC_DIM_DEGC);
}

static void other_messages_give_nothing_and_broken_ones_are_refused(void)
{
    reading readings[8];
    static const char adt[] = "MSH|^~\\&|A|B|C|D|20261128120000||ADT^A01|1|P|2.6\rPID|||1\r";
    CHECK_INT(hl7_parse((const uint8_t *)adt, sizeof adt - 1, readings, 8), 0);
    static const char no_msh[] = "PID|||1\rOBX|1|NM|150456^X^MDC||98|262688^Y^MDC\r";
    CHECK_INT(hl7_parse((const uint8_t *)no_msh, sizeof no_msh - 1, readings, 8), PARSE_MALFORMED);
    static const char same_separators[] = "MSH||||A\r";
    CHECK_INT(hl7_parse((const uint8_t *)same_separators, sizeof same_separators - 1, readings, 8), PARSE_MALFORMED);
    static uint8_t huge[HL7_MAX_MESSAGE_BYTES + 8];
    memset(huge, 'A', sizeof huge);
    memcpy(huge, "MSH|^~\\&|", 9);
    CHECK_INT(hl7_parse(huge, sizeof huge, readings, 8), PARSE_OVERSIZED);
}

static void codes_that_are_not_mdc_or_values_that_are_not_numbers_are_skipped(void)
{
    static const char message[] =
        "MSH|^~\\&|A|B|C|D|20261128120000||ORU^R01|1|P|2.6\r"
        "OBX|1|NM|8867-4^Heart rate^LN||72|/min^per minute^UCUM|||||F\r"
        "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||9x8|262688^MDC_DIM_PERCENT^MDC|||||F\r"
        "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|262688^MDC_DIM_PERCENT^MDC|||||F\r";
    reading readings[8];
    CHECK_INT(hl7_parse((const uint8_t *)message, sizeof message - 1, readings, 8), 1);
    CHECK_INT(readings[0].mantissa, 97);
}

static void a_framed_message_is_read_from_a_noisy_line_and_acknowledged(void)
{
    static uint8_t wire[2048], buffer[HL7_MAX_MESSAGE_BYTES];
    size_t n = 0;
    memcpy(wire, "\x1c\rjunk", 6);
    n = 6;
    wire[n++] = HL7_MLLP_START;
    memcpy(wire + n, ORU, sizeof ORU - 1);
    n += sizeof ORU - 1;
    wire[n++] = 0x1C;
    wire[n++] = '\r';
    delimited_frame state;
    delimited_frame_init(&state, HL7_MLLP_STARTS, HL7_MLLP_TERMINATOR, buffer, sizeof buffer);
    static fed out;
    memset(&out, 0, sizeof out);
    feed_delimited(&state, wire, n, &out);
    CHECK_INT(out.frames, 1);
    reading readings[8];
    CHECK_INT(hl7_parse(out.bytes[0], out.lengths[0], readings, 8), 3);

    uint8_t ack[512];
    size_t length = hl7_ack(out.bytes[0], out.lengths[0], "20261128120001", ack, sizeof ack);
    static const char expected[] =
        "\x0bMSH|^~\\&|CIS|HOSPITAL|MINDRAY_D-SERIES^00A037009A0053DE^EUI-64|MINDRAY|20261128120001||ACK^R01^ACK|"
        "MSG00042|P|2.6\rMSA|AA|MSG00042\r\x1c\r";
    CHECK_INT(length, sizeof expected - 1);
    CHECK(memcmp(ack, expected, sizeof expected - 1) == 0);
    CHECK_INT(hl7_ack(out.bytes[0], out.lengths[0], "20261128120001", ack, 40), 0);
    CHECK_INT(hl7_ack((const uint8_t *)"PID|1\r", 6, "", ack, sizeof ack), 0);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(numeric_observations_come_with_their_codes_units_and_times),
        TEST(other_messages_give_nothing_and_broken_ones_are_refused),
        TEST(codes_that_are_not_mdc_or_values_that_are_not_numbers_are_skipped),
        TEST(a_framed_message_is_read_from_a_noisy_line_and_acknowledged),
    };
    return CHECK_MAIN("hl7", tests);
}
