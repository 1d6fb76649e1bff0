/* The collector: six instruments on six UARTs, their readings queued and sent as MAC'd records on the
 * seventh, in one polling loop that feeds the watchdog on every pass. */
#include <stdint.h>

#include "app/instruments.h"
#include "app/uplink_session.h"
#include "board/board.h"

/* The board's identity and uplink key: written by the flashing playbook into the last flash sector, apart
 * from the ELF, so that every board runs the same ELF (one hash to verify) with its own key. */
#define PROVISIONING_ADDRESS 0x080E0000u
#define PROVISIONING_MAGIC 0x31434C4Du /* "MLC1", little-endian */

typedef struct {
    uint32_t magic;
    uplink_identity identity;
} provisioning_page;

/* Which instrument each port serves: this board's wiring. */
static const instrument_kind WIRING[BOARD_PORTS - 1] = {
    INSTRUMENT_DATEX, INSTRUMENT_INTELLIVUE, INSTRUMENT_MEDIBUS,
    INSTRUMENT_HL7,   INSTRUMENT_MASIMO,     INSTRUMENT_NONIN,
};

int main(void)
{
    board_init();
    instruments_init();
    const provisioning_page *page = (const provisioning_page *)PROVISIONING_ADDRESS;
    uplink_session_init(page->magic == PROVISIONING_MAGIC ? &page->identity : 0, board_millis());
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
                instrument_receive(port, WIRING[port], byte, now, uplink_session_queue);
        }
        uplink_session_poll(now);
        board_watchdog_feed();
    }
}
