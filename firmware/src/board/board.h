/* The board layer: what the collector needs from the hardware, and nothing protocol-specific. */
#ifndef COLLECTOR_BOARD_H
#define COLLECTOR_BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_PORTS 7u

typedef enum { PARITY_NONE, PARITY_EVEN } board_parity;

typedef struct {
    uint32_t baud;
    board_parity parity;
    uint8_t hardware_flow_control;
} board_line;

void board_init(void);
void board_port_open(unsigned port, board_line line);
/* A received byte, if one is waiting (never blocks). */
int board_port_read(unsigned port, uint8_t *byte);
void board_port_write(unsigned port, const uint8_t *bytes, size_t length);
/* Milliseconds since board_init. */
uint32_t board_millis(void);
void board_watchdog_start(void);
void board_watchdog_feed(void);
/* Ends a run under QEMU with `code` (semihosting); on a real board, resets. */
void board_exit(int code) __attribute__((noreturn));

#endif
