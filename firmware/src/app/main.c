/* The collector: six instruments on six UARTs, readings out on the seventh, a watchdog-fed polling loop.
 *
 * Provisional uplink (this step): one text line per reading, "R port metric unit mantissa exponent time".
 * The collector core's sequence-numbered, MAC'd records with replay replace it (issue 17, next step). */
#include <stdint.h>

#include "app/instruments.h"
#include "board/board.h"

#define UPLINK_PORT 6u

/* Which instrument each port serves: a board's wiring (the inventory's per-board settings, later). */
static const instrument_kind WIRING[BOARD_PORTS - 1] = {
    INSTRUMENT_DATEX, INSTRUMENT_INTELLIVUE, INSTRUMENT_MEDIBUS,
    INSTRUMENT_HL7,   INSTRUMENT_MASIMO,     INSTRUMENT_NONIN,
};

/* Appends " <value>" in decimal. */
static size_t field(char *out, int64_t value)
{
    char digits[20];
    size_t n = 0, length = 0;
    uint64_t magnitude = value < 0 ? (uint64_t)-value : (uint64_t)value;
    out[length++] = ' ';
    if (value < 0)
        out[length++] = '-';
    do {
        digits[n++] = (char)('0' + magnitude % 10u);
        magnitude /= 10u;
    } while (magnitude);
    while (n)
        out[length++] = digits[--n];
    return length;
}

static void uplink_reading(unsigned port, const reading *value)
{
    char line[96] = {'R'};
    size_t length = 1;
    length += field(line + length, port);
    length += field(line + length, value->metric);
    length += field(line + length, value->unit);
    length += field(line + length, value->mantissa);
    length += field(line + length, value->exponent);
    length += field(line + length, value->device_time);
    line[length++] = '\n';
    board_port_write(UPLINK_PORT, (const uint8_t *)line, length);
}

int main(void)
{
    board_init();
    instruments_init();
    for (unsigned port = 0; port < BOARD_PORTS - 1; port++)
        board_port_open(port, instrument_line(WIRING[port]));
    board_port_open(UPLINK_PORT, (board_line){115200, PARITY_NONE, 0});
    board_watchdog_start();
    for (;;) {
        uint32_t now = board_millis();
        for (unsigned port = 0; port < BOARD_PORTS - 1; port++) {
            instrument_poll(port, WIRING[port], now);
            uint8_t byte;
            /* A bounded number of bytes per port per pass: a babbling line cannot starve the others. */
            for (int n = 0; n < 64 && board_port_read(port, &byte); n++)
                instrument_receive(port, WIRING[port], byte, now, uplink_reading);
        }
        board_watchdog_feed();
    }
}
