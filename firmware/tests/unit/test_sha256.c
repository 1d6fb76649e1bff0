/* SHA-256 against FIPS 180-4's examples, HMAC-SHA-256 against RFC 4231's test cases. */
#include "check.h"
#include "core/sha256.h"

static void hex(const uint8_t *bytes, size_t length, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * length] = 0;
}

static void digest_of(const char *message, size_t repeat, char *out)
{
    sha256_context context;
    sha256_init(&context);
    for (size_t i = 0; i < repeat; i++)
        sha256_update(&context, (const uint8_t *)message, strlen(message));
    uint8_t digest[SHA256_DIGEST_BYTES];
    sha256_final(&context, digest);
    hex(digest, sizeof digest, out);
}

static void sha256_matches_the_standards_examples(void)
{
    char out[65];
    digest_of("abc", 1, out);
    CHECK(strcmp(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    digest_of("", 1, out);
    CHECK(strcmp(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, out);
    CHECK(strcmp(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
    /* A million "a", fed 1,000 at a time across block boundaries. */
    static char thousand[1001];
    memset(thousand, 'a', 1000);
    digest_of(thousand, 1000, out);
    CHECK(strcmp(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
}

static void mac_of(const uint8_t *key, size_t key_length, const char *data, char *out)
{
    hmac_sha256_context context;
    hmac_sha256_init(&context, key, key_length);
    hmac_sha256_update(&context, (const uint8_t *)data, strlen(data));
    uint8_t mac[SHA256_DIGEST_BYTES];
    hmac_sha256_final(&context, mac);
    hex(mac, sizeof mac, out);
}

static void hmac_matches_rfc_4231(void)
{
    char out[65];
    uint8_t key[131];
    memset(key, 0x0b, 20);
    mac_of(key, 20, "Hi There", out);
    CHECK(strcmp(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0);
    mac_of((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", out);
    CHECK(strcmp(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
    /* A key longer than a block is hashed first (test case 6). */
    memset(key, 0xaa, sizeof key);
    mac_of(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First", out);
    CHECK(strcmp(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54") == 0);
}

static void macs_compare_equal_only_when_every_byte_is(void)
{
    uint8_t a[16] = {1, 2, 3}, b[16] = {1, 2, 3};
    CHECK(mac_equal(a, b, sizeof a));
    b[15] = 1;
    CHECK(!mac_equal(a, b, sizeof a));
}

int main(void)
{
    static const check_test tests[] = {
        TEST(sha256_matches_the_standards_examples),
        TEST(hmac_matches_rfc_4231),
        TEST(macs_compare_equal_only_when_every_byte_is),
    };
    return CHECK_MAIN("sha256", tests);
}
