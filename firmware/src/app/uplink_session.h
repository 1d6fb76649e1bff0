/* The collector's side of the uplink: a session from the gateway, then readings queued with sequence numbers,
 * sent as MAC'd records, dropped from the ring when the gateway acknowledges them, sent again when it does
 * not (go-back-N). After several timeouts in a row the collector asks for its session again: the gateway may
 * have moved on (a hello replayed to it), and a session that continues ours keeps every sequence. */
#ifndef COLLECTOR_UPLINK_SESSION_H
#define COLLECTOR_UPLINK_SESSION_H

#include <stdint.h>

#include "core/reading.h"
#include "core/uplink.h"

#define UPLINK_PORT 6u

typedef struct {
    uint32_t sessions, sent, resent_after_timeout, acknowledged, refused_frames, dropped_when_full;
} uplink_counters;

/* `identity` NULL: the board is not provisioned; readings are queued but nothing is sent. */
void uplink_session_init(const uplink_identity *identity, uint32_t now_ms);
void uplink_session_queue(unsigned port, const reading *value);
void uplink_session_poll(uint32_t now_ms);
uplink_counters uplink_session_statistics(void);

#endif
