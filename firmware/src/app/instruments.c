#include "instruments.h"

#include <string.h>

#include "protocols/datex.h"
#include "protocols/delimited_frame.h"
#include "protocols/hl7.h"
#include "protocols/intellivue.h"
#include "protocols/masimo.h"
#include "protocols/medibus.h"
#include "protocols/nonin.h"
#include "protocols/stuffed_frame.h"

/* Silence after which a requesting driver starts its conversation again (the instrument went away). */
#define SILENCE_RESTART_MS 10000u
#define DATEX_INTERVAL_S 5
#define INTELLIVUE_POLL_MS 1000u
/* Unanswered, an association request is sent again after this long. */
#define INTELLIVUE_ASSOCIATE_MS 5000u
#define MEDIBUS_POLL_MS 1000u
#define MAX_READINGS 32

/* One port's state; only the member of its instrument's kind is used. No heap: all of it is static. */
typedef struct {
    union {
        stuffed_frame stuffed;
        delimited_frame delimited;
        nonin_reader nonin;
    } framer;
    uint8_t buffer[HL7_MAX_MESSAGE_BYTES];
    uint32_t last_heard_ms, last_request_ms;
    uint16_t invoke_id;
    uint8_t started;
    uint8_t association; /* IntelliVue's: one of intellivue_association */
    instrument_counters counters;
} port_state;

typedef enum { NOT_ASSOCIATED, ASSOCIATING, AWAITING_MDS, POLLING } intellivue_association;

static port_state ports[BOARD_PORTS];

static const board_line LINES[INSTRUMENT_KINDS] = {
    [INSTRUMENT_DATEX] = {19200, PARITY_EVEN, 1},
    [INSTRUMENT_INTELLIVUE] = {115200, PARITY_NONE, 0},
    [INSTRUMENT_MEDIBUS] = {19200, PARITY_EVEN, 0},
    [INSTRUMENT_HL7] = {115200, PARITY_NONE, 0},
    [INSTRUMENT_MASIMO] = {9600, PARITY_NONE, 0},
    [INSTRUMENT_NONIN] = {9600, PARITY_NONE, 0},
};

board_line instrument_line(instrument_kind kind) { return LINES[kind]; }

const instrument_counters *instrument_statistics(unsigned port) { return &ports[port].counters; }

void instruments_init(void) { memset(ports, 0, sizeof ports); }

static void start_framer(port_state *state, instrument_kind kind)
{
    switch (kind) {
    case INSTRUMENT_DATEX:
        stuffed_frame_init(&state->framer.stuffed, DATEX_FLAG, DATEX_FLAG, state->buffer, DATEX_MAX_RECORD_BYTES + 1);
        break;
    case INSTRUMENT_INTELLIVUE:
        stuffed_frame_init(&state->framer.stuffed, INTELLIVUE_BOF, INTELLIVUE_EOF, state->buffer,
                           INTELLIVUE_HEADER_BYTES + INTELLIVUE_MAX_DATA_BYTES + 2);
        break;
    case INSTRUMENT_MEDIBUS:
        delimited_frame_init(&state->framer.delimited, MEDIBUS_STARTS, MEDIBUS_TERMINATOR, state->buffer,
                             MEDIBUS_MAX_FRAME_BYTES);
        break;
    case INSTRUMENT_HL7:
        delimited_frame_init(&state->framer.delimited, HL7_MLLP_STARTS, HL7_MLLP_TERMINATOR, state->buffer,
                             HL7_MAX_MESSAGE_BYTES);
        break;
    case INSTRUMENT_MASIMO:
        delimited_frame_init(&state->framer.delimited, NULL, MASIMO_TERMINATOR, state->buffer, MASIMO_MAX_LINE_BYTES);
        break;
    default:
        nonin_reader_init(&state->framer.nonin);
        break;
    }
}

static void send(unsigned port, const uint8_t *bytes, size_t length)
{
    if (length > 0)
        board_port_write(port, bytes, length);
}

static void medibus_command(unsigned port, uint8_t command)
{
    uint8_t frame[8];
    send(port, frame, medibus_frame(MEDIBUS_ESC, command, NULL, 0, frame, sizeof frame));
}

/* The conversation's opening, and its requests when due. */
void instrument_poll(unsigned port, instrument_kind kind, uint32_t now_ms)
{
    port_state *state = &ports[port];
    if (!state->started) {
        start_framer(state, kind);
        state->started = 1;
        /* An instrument not yet heard is silent: the conversation opens at once, not after a silence. */
        state->last_heard_ms = now_ms - SILENCE_RESTART_MS;
        state->last_request_ms = now_ms - SILENCE_RESTART_MS;
    }
    int silent = now_ms - state->last_heard_ms >= SILENCE_RESTART_MS;
    uint8_t frame[INTELLIVUE_MAX_REQUEST_FRAME_BYTES];
    switch (kind) {
    case INSTRUMENT_DATEX:
        /* The monitor sends displayed values every interval once asked; ask again after a silence. */
        if (now_ms - state->last_request_ms >= SILENCE_RESTART_MS && silent) {
            send(port, frame, datex_request_displayed(DATEX_INTERVAL_S, frame, sizeof frame));
            state->last_request_ms = now_ms;
        }
        break;
    case INSTRUMENT_INTELLIVUE:
        /* A silent monitor has dropped the association (or was unplugged): ask for a new one. */
        if (silent && state->association == POLLING)
            state->association = NOT_ASSOCIATED;
        if (state->association == POLLING && now_ms - state->last_request_ms >= INTELLIVUE_POLL_MS) {
            state->invoke_id++;
            send(port, frame, intellivue_poll_request(state->invoke_id, state->invoke_id, frame, sizeof frame));
            state->last_request_ms = now_ms;
        } else if (state->association != POLLING && now_ms - state->last_request_ms >= INTELLIVUE_ASSOCIATE_MS) {
            send(port, frame, intellivue_association_request(frame, sizeof frame));
            state->association = ASSOCIATING;
            state->last_request_ms = now_ms;
        }
        break;
    case INSTRUMENT_MEDIBUS:
        if (now_ms - state->last_request_ms >= MEDIBUS_POLL_MS) {
            /* After a silence, initialise again; otherwise ask for the data, which also keeps the link up. */
            medibus_command(port, silent ? MEDIBUS_ICC : MEDIBUS_CURRENT_DATA_CP1);
            state->last_request_ms = now_ms;
        }
        break;
    case INSTRUMENT_NONIN:
        if (silent && now_ms - state->last_request_ms >= SILENCE_RESTART_MS) {
            send(port, NONIN_SELECT_FORMAT_7, sizeof NONIN_SELECT_FORMAT_7);
            state->last_request_ms = now_ms;
        }
        break;
    default:
        break; /* HL7 and Masimo speak unasked */
    }
}

static void deliver(unsigned port, const reading *readings, int count, reading_sink sink)
{
    port_state *state = &ports[port];
    if (count < 0) {
        state->counters.bad_frames++;
        return;
    }
    state->counters.frames++;
    for (int i = 0; i < count; i++) {
        sink(port, &readings[i]);
        state->counters.readings++;
    }
}

static void intellivue_frame_received(unsigned port, const uint8_t *frame, size_t length, reading_sink sink)
{
    port_state *state = &ports[port];
    reading readings[MAX_READINGS];
    int data_bytes = intellivue_unwrap(frame, length);
    if (data_bytes < 0) {
        deliver(port, readings, data_bytes, sink);
        return;
    }
    const uint8_t *data = frame + INTELLIVUE_HEADER_BYTES;
    intellivue_event event;
    uint8_t reply[96];
    switch (intellivue_classify(data, (size_t)data_bytes, &event)) {
    case INTELLIVUE_ACCEPTED:
        state->association = AWAITING_MDS;
        break;
    case INTELLIVUE_ENDED:
        state->association = NOT_ASSOCIATED;
        break;
    case INTELLIVUE_MDS_CREATED:
        send(port, reply, intellivue_mds_create_result(&event, reply, sizeof reply));
        if (state->association == AWAITING_MDS) {
            state->association = POLLING;
            state->last_request_ms -= INTELLIVUE_POLL_MS; /* the first poll at once */
        }
        break;
    case INTELLIVUE_DATA:
        deliver(port, readings, intellivue_parse(data, (size_t)data_bytes, readings, MAX_READINGS), sink);
        break;
    default:
        break;
    }
}

static void medibus_frame_received(unsigned port, const uint8_t *frame, size_t length, reading_sink sink)
{
    reading readings[MAX_READINGS];
    if (medibus_check(frame, length) < 0) {
        ports[port].counters.bad_frames++;
        return;
    }
    if (frame[0] == MEDIBUS_ESC) {
        /* The device's own command: an empty reply keeps it talking. */
        uint8_t reply[8];
        send(port, reply, medibus_frame(MEDIBUS_SOH, frame[1], NULL, 0, reply, sizeof reply));
        return;
    }
    deliver(port, readings, medibus_parse(frame, length, readings, MAX_READINGS), sink);
}

void instrument_receive(unsigned port, instrument_kind kind, uint8_t byte, uint32_t now_ms, reading_sink sink)
{
    port_state *state = &ports[port];
    if (!state->started)
        instrument_poll(port, kind, now_ms);
    state->last_heard_ms = now_ms;
    reading readings[MAX_READINGS];
    if (kind == INSTRUMENT_NONIN) {
        int count = nonin_push(&state->framer.nonin, byte, readings, MAX_READINGS);
        if (count > 0)
            deliver(port, readings, count, sink);
        return;
    }
    if (kind == INSTRUMENT_DATEX || kind == INSTRUMENT_INTELLIVUE) {
        stuffed_event event = stuffed_frame_push(&state->framer.stuffed, byte);
        if (event == STUFFED_OVERSIZED)
            state->counters.oversized_frames++;
        if (event == STUFFED_BAD_ESCAPE)
            state->counters.bad_frames++;
        if (event != STUFFED_FRAME)
            return;
        const uint8_t *frame = state->framer.stuffed.buffer;
        size_t length = state->framer.stuffed.length;
        if (kind == INSTRUMENT_DATEX) {
            deliver(port, readings, datex_parse(frame, length, readings, MAX_READINGS), sink);
        } else {
            intellivue_frame_received(port, frame, length, sink);
        }
        return;
    }
    delimited_event event = delimited_frame_push(&state->framer.delimited, byte);
    if (event == DELIMITED_OVERSIZED)
        state->counters.oversized_frames++;
    if (event != DELIMITED_FRAME)
        return;
    const uint8_t *frame = state->framer.delimited.buffer;
    size_t length = state->framer.delimited.length;
    if (kind == INSTRUMENT_MEDIBUS) {
        medibus_frame_received(port, frame, length, sink);
    } else if (kind == INSTRUMENT_HL7) {
        uint8_t ack[512];
        int count = hl7_parse(frame, length, readings, MAX_READINGS);
        if (count >= 0)
            send(port, ack, hl7_ack(frame, length, "", ack, sizeof ack));
        deliver(port, readings, count, sink);
    } else {
        deliver(port, readings, masimo_parse(frame, length, readings, MAX_READINGS), sink);
    }
}
