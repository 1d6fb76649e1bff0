/* The collector's side of the uplink against a scripted gateway: sessions, acknowledgements, timeouts. The
 * board is this file's: what the collector writes to the uplink is kept, what the gateway says is queued. */
#include "app/uplink_session.h"
#include "board/board.h"
#include "check.h"
#include "gateway_frames.h"

static uint8_t to_collector[1024];
static size_t to_collector_length, to_collector_read;
static uint8_t from_collector[16384];
static size_t from_collector_length;

int board_port_read(unsigned port, uint8_t *byte)
{
    if (port != UPLINK_PORT || to_collector_read == to_collector_length)
        return 0;
    *byte = to_collector[to_collector_read++];
    return 1;
}

void board_port_write(unsigned port, const uint8_t *bytes, size_t length)
{
    CHECK_INT(port, UPLINK_PORT);
    CHECK(from_collector_length + length <= sizeof from_collector);
    memcpy(from_collector + from_collector_length, bytes, length);
    from_collector_length += length;
}

static void gateway_says(uint8_t type, uint32_t first, uint32_t second)
{
    uint8_t frame[UPLINK_GATEWAY_FRAME_BYTES];
    size_t length = gateway_frame(type, first, second, IDENTITY.key, frame);
    to_collector_length += stuffed_frame_encode(UPLINK_BOF, UPLINK_EOF, frame, length,
                                                to_collector + to_collector_length,
                                                sizeof to_collector - to_collector_length);
}

/* What the collector sent since the last call: each frame's type, and its session and sequence (a hello's
 * session in `sessions`, 0 in `sequences`). */
typedef struct {
    size_t count;
    char types[32];
    uint32_t sessions[32], sequences[32];
} sent_frames;

static sent_frames collector_sent(void)
{
    static fed frames;
    uint8_t buffer[UPLINK_RECORD_BYTES + 8];
    unstuff(UPLINK_BOF, UPLINK_EOF, from_collector, from_collector_length, buffer, sizeof buffer, &frames);
    from_collector_length = 0;
    sent_frames sent = {0};
    for (size_t i = 0; i < frames.frames && i < FEED_MAX_FRAMES; i++) {
        const uint8_t *frame = frames.bytes[i];
        sent.types[i] = (char)frame[0];
        sent.sessions[i] = get_big_endian(frame + 18);
        sent.sequences[i] = frame[0] == UPLINK_RECORD ? get_big_endian(frame + 22) : 0;
    }
    sent.count = frames.frames;
    return sent;
}

static void start(uint32_t now)
{
    to_collector_length = to_collector_read = from_collector_length = 0;
    uplink_session_init(&IDENTITY, now);
}

static void queue_readings(unsigned count)
{
    reading value = {MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT, 98, 0, 0};
    for (unsigned i = 0; i < count; i++)
        uplink_session_queue(4, &value);
}

static void a_booted_collector_sends_nothing_but_hellos_until_its_session_is_granted(void)
{
    start(1000);
    queue_readings(2);
    uplink_session_poll(1000);
    sent_frames sent = collector_sent();
    CHECK_INT(sent.count, 1);
    CHECK(sent.types[0] == 'H' && sent.sessions[0] == 0);
    uplink_session_poll(2999);
    CHECK_INT(collector_sent().count, 0);
    uplink_session_poll(3000);
    CHECK_INT(collector_sent().types[0], 'H');
    /* A session granted to another hello (one naming session 5) is not ours. */
    gateway_says('S', 5, 8);
    uplink_session_poll(3001);
    CHECK_INT(collector_sent().count, 0);
    gateway_says('S', 0, 7);
    uplink_session_poll(3002);
    sent = collector_sent();
    CHECK_INT(sent.count, 2);
    CHECK(sent.types[0] == 'R' && sent.sessions[0] == 7 && sent.sequences[0] == 1);
    CHECK(sent.types[1] == 'R' && sent.sessions[1] == 7 && sent.sequences[1] == 2);
    CHECK_INT(uplink_session_statistics().sessions, 1);
}

static void only_an_acknowledgement_of_the_current_session_frees_readings(void)
{
    start(0);
    gateway_says('S', 0, 7);
    queue_readings(2);
    uplink_session_poll(1);
    CHECK_INT(collector_sent().count, 2);
    uint32_t acknowledged = uplink_session_statistics().acknowledged;
    gateway_says('A', 6, 2); /* a past session's */
    uplink_session_poll(2);
    CHECK_INT(uplink_session_statistics().acknowledged, acknowledged);
    gateway_says('A', 7, 1);
    uplink_session_poll(3);
    CHECK_INT(uplink_session_statistics().acknowledged, acknowledged + 1);
    /* Sequence 2 is still out: after the timeout it alone goes again. */
    uplink_session_poll(2003);
    sent_frames sent = collector_sent();
    CHECK_INT(sent.count, 1);
    CHECK_INT(sent.sequences[0], 2);
}

static void after_three_timeouts_it_asks_again_and_a_continuing_session_resends_from_the_oldest(void)
{
    start(0);
    gateway_says('S', 0, 7);
    queue_readings(3);
    uplink_session_poll(1);
    gateway_says('A', 7, 1);
    uplink_session_poll(2);
    collector_sent();
    uplink_session_poll(2002);
    uplink_session_poll(4002);
    CHECK_INT(collector_sent().count, 4); /* 2 and 3, twice */
    uplink_session_poll(6002);
    sent_frames sent = collector_sent();
    CHECK_INT(sent.count, 0);
    uplink_session_poll(6003);
    sent = collector_sent();
    CHECK_INT(sent.count, 1);
    CHECK(sent.types[0] == 'H' && sent.sessions[0] == 7);
    gateway_says('S', 7, 9);
    uplink_session_poll(6004);
    sent = collector_sent();
    CHECK_INT(sent.count, 2);
    CHECK(sent.sessions[0] == 9 && sent.sequences[0] == 2 && sent.sessions[1] == 9 && sent.sequences[1] == 3);
}

static void a_forged_session_is_refused_and_counted(void)
{
    start(0);
    uint8_t frame[UPLINK_GATEWAY_FRAME_BYTES], other_key[UPLINK_KEY_BYTES] = {9};
    size_t length = gateway_frame('S', 0, 7, other_key, frame);
    to_collector_length = stuffed_frame_encode(UPLINK_BOF, UPLINK_EOF, frame, length, to_collector,
                                               sizeof to_collector);
    uint32_t refused = uplink_session_statistics().refused_frames;
    queue_readings(1);
    uplink_session_poll(0);
    CHECK_INT(uplink_session_statistics().refused_frames, refused + 1);
    sent_frames sent = collector_sent();
    CHECK_INT(sent.count, 1);
    CHECK_INT(sent.types[0], 'H');
}

int main(void)
{
    static const check_test tests[] = {
        TEST(a_booted_collector_sends_nothing_but_hellos_until_its_session_is_granted),
        TEST(only_an_acknowledgement_of_the_current_session_frees_readings),
        TEST(after_three_timeouts_it_asks_again_and_a_continuing_session_resends_from_the_oldest),
        TEST(a_forged_session_is_refused_and_counted),
    };
    return CHECK_MAIN("uplink_session", tests);
}
