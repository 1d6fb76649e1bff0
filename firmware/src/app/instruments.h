/* Each port's instrument: its line settings, its framer and parser, and its side of the conversation. */
#ifndef COLLECTOR_INSTRUMENTS_H
#define COLLECTOR_INSTRUMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "board/board.h"
#include "core/reading.h"

typedef enum {
    INSTRUMENT_DATEX,
    INSTRUMENT_INTELLIVUE,
    INSTRUMENT_MEDIBUS,
    INSTRUMENT_HL7,
    INSTRUMENT_MASIMO,
    INSTRUMENT_NONIN,
    INSTRUMENT_KINDS
} instrument_kind;

typedef struct {
    uint32_t frames, readings, bad_frames, oversized_frames;
} instrument_counters;

/* Called with each reading an instrument produced. */
typedef void (*reading_sink)(unsigned port, const reading *value);

void instruments_init(void);
board_line instrument_line(instrument_kind kind);
/* One received byte of `kind` on `port`. */
void instrument_receive(unsigned port, instrument_kind kind, uint8_t byte, uint32_t now_ms, reading_sink sink);
/* Requests, keep-alives and re-initialisation, due or not; called every pass of the main loop. */
void instrument_poll(unsigned port, instrument_kind kind, uint32_t now_ms);
const instrument_counters *instrument_statistics(unsigned port);

#endif
