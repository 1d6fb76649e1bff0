/* The collector's side of the uplink: readings queued with sequence numbers, sent as MAC'd records, dropped
 * from the ring when the gateway acknowledges them, sent again when it does not (go-back-N). */
#ifndef COLLECTOR_UPLINK_SESSION_H
#define COLLECTOR_UPLINK_SESSION_H

#include <stdint.h>

#include "core/reading.h"
#include "core/uplink.h"

#define UPLINK_PORT 6u

typedef struct {
    uint32_t sent, resent_after_timeout, acknowledged, bad_acknowledgements, dropped_when_full;
} uplink_counters;

/* `identity` NULL: the board is not provisioned; readings are queued but nothing is sent. */
void uplink_session_init(const uplink_identity *identity, uint32_t now_ms);
void uplink_session_queue(unsigned port, const reading *value);
void uplink_session_poll(uint32_t now_ms);
uplink_counters uplink_session_statistics(void);

#endif
