/* The ring of unacknowledged readings: order, acknowledgement, replay, and overflow. */
#include "check.h"
#include "core/record_ring.h"

static record_ring ring;

static reading value(int32_t mantissa)
{
    return (reading){MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT, mantissa, 0, 0};
}

static void readings_go_out_in_order_with_consecutive_sequences(void)
{
    record_ring_init(&ring);
    for (int32_t i = 0; i < 3; i++) {
        reading v = value(90 + i);
        CHECK_INT(record_ring_push(&ring, 4, &v), i + 1);
    }
    for (uint32_t sequence = 1; sequence <= 3; sequence++) {
        const queued_reading *next = record_ring_next(&ring);
        CHECK(next && next->sequence == sequence && next->port == 4 && next->value.mantissa == 89 + (int32_t)sequence);
    }
    CHECK(record_ring_next(&ring) == NULL);
}

static void a_rewind_replays_exactly_the_unacknowledged(void)
{
    record_ring_init(&ring);
    for (int32_t i = 0; i < 5; i++) {
        reading v = value(i);
        record_ring_push(&ring, 0, &v);
    }
    while (record_ring_next(&ring))
        ;
    record_ring_acknowledge(&ring, 2);
    CHECK_INT(record_ring_held(&ring), 3);
    record_ring_rewind(&ring);
    CHECK_INT(record_ring_next(&ring)->sequence, 3);
    CHECK_INT(record_ring_next(&ring)->sequence, 4);
    CHECK_INT(record_ring_next(&ring)->sequence, 5);
    CHECK(record_ring_next(&ring) == NULL);
}

static void acknowledgements_of_the_unsent_or_the_past_change_nothing(void)
{
    record_ring_init(&ring);
    for (int32_t i = 0; i < 4; i++) {
        reading v = value(i);
        record_ring_push(&ring, 0, &v);
    }
    record_ring_next(&ring);
    record_ring_next(&ring);
    record_ring_acknowledge(&ring, 4); /* never sent */
    CHECK_INT(record_ring_held(&ring), 4);
    record_ring_acknowledge(&ring, 2);
    record_ring_acknowledge(&ring, 1); /* already acknowledged */
    CHECK_INT(record_ring_held(&ring), 2);
    CHECK_INT(record_ring_next(&ring)->sequence, 3);
}

static void a_full_ring_drops_the_oldest_and_counts_it(void)
{
    record_ring_init(&ring);
    for (uint32_t i = 0; i < RECORD_RING_SLOTS + 10; i++) {
        reading v = value((int32_t)i);
        record_ring_push(&ring, 0, &v);
    }
    CHECK_INT(ring.dropped, 10);
    CHECK_INT(record_ring_held(&ring), RECORD_RING_SLOTS);
    const queued_reading *first = record_ring_next(&ring);
    CHECK(first && first->sequence == 11 && first->value.mantissa == 10);
}

int main(void)
{
    static const check_test tests[] = {
        TEST(readings_go_out_in_order_with_consecutive_sequences),
        TEST(a_rewind_replays_exactly_the_unacknowledged),
        TEST(acknowledgements_of_the_unsent_or_the_past_change_nothing),
        TEST(a_full_ring_drops_the_oldest_and_counts_it),
    };
    return CHECK_MAIN("record_ring", tests);
}
