/* SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104): the uplink's record MAC. Streaming, no allocation. */
#ifndef COLLECTOR_SHA256_H
#define COLLECTOR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_BYTES 32u
#define SHA256_BLOCK_BYTES 64u

typedef struct {
    uint32_t state[8];
    uint64_t length_bytes;
    uint8_t block[SHA256_BLOCK_BYTES];
    size_t filled;
} sha256_context;

void sha256_init(sha256_context *context);
void sha256_update(sha256_context *context, const uint8_t *bytes, size_t length);
void sha256_final(sha256_context *context, uint8_t digest[SHA256_DIGEST_BYTES]);

typedef struct {
    sha256_context inner;
    uint8_t outer_key[SHA256_BLOCK_BYTES];
} hmac_sha256_context;

void hmac_sha256_init(hmac_sha256_context *context, const uint8_t *key, size_t key_length);
void hmac_sha256_update(hmac_sha256_context *context, const uint8_t *bytes, size_t length);
void hmac_sha256_final(hmac_sha256_context *context, uint8_t mac[SHA256_DIGEST_BYTES]);

/* Whether two MACs are equal, in time that does not depend on where they differ. */
int mac_equal(const uint8_t *a, const uint8_t *b, size_t length);

#endif
