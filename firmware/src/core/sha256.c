#include "sha256.h"

#include <string.h>

static const uint32_t ROUND_CONSTANTS[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotate_right(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static void compress(uint32_t state[8], const uint8_t block[SHA256_BLOCK_BYTES])
{
    uint32_t w[64];
    for (unsigned i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 |
               block[4 * i + 3];
    for (unsigned i = 16; i < 64; i++) {
        uint32_t s0 = rotate_right(w[i - 15], 7) ^ rotate_right(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotate_right(w[i - 2], 17) ^ rotate_right(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6],
             h = state[7];
    for (unsigned i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25)) + ((e & f) ^ (~e & g)) +
                      ROUND_CONSTANTS[i] + w[i];
        uint32_t t2 = (rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void sha256_init(sha256_context *context)
{
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(context->state, initial, sizeof initial);
    context->length_bytes = 0;
    context->filled = 0;
}

void sha256_update(sha256_context *context, const uint8_t *bytes, size_t length)
{
    context->length_bytes += length;
    while (length > 0) {
        size_t take = SHA256_BLOCK_BYTES - context->filled;
        if (take > length)
            take = length;
        memcpy(context->block + context->filled, bytes, take);
        context->filled += take;
        bytes += take;
        length -= take;
        if (context->filled == SHA256_BLOCK_BYTES) {
            compress(context->state, context->block);
            context->filled = 0;
        }
    }
}

void sha256_final(sha256_context *context, uint8_t digest[SHA256_DIGEST_BYTES])
{
    uint64_t bits = context->length_bytes * 8u;
    static const uint8_t padding[SHA256_BLOCK_BYTES] = {0x80};
    size_t pad = context->filled < 56 ? 56 - context->filled : 120 - context->filled;
    sha256_update(context, padding, pad);
    uint8_t length[8];
    for (unsigned i = 0; i < 8; i++)
        length[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(context, length, sizeof length);
    for (unsigned i = 0; i < 8; i++)
        for (unsigned j = 0; j < 4; j++)
            digest[4 * i + j] = (uint8_t)(context->state[i] >> (24 - 8 * j));
}

void hmac_sha256_init(hmac_sha256_context *context, const uint8_t *key, size_t key_length)
{
    uint8_t block_key[SHA256_BLOCK_BYTES] = {0}, inner_key[SHA256_BLOCK_BYTES];
    if (key_length > SHA256_BLOCK_BYTES) {
        sha256_context hashed;
        sha256_init(&hashed);
        sha256_update(&hashed, key, key_length);
        sha256_final(&hashed, block_key);
    } else {
        memcpy(block_key, key, key_length);
    }
    for (unsigned i = 0; i < SHA256_BLOCK_BYTES; i++) {
        inner_key[i] = block_key[i] ^ 0x36u;
        context->outer_key[i] = block_key[i] ^ 0x5Cu;
    }
    sha256_init(&context->inner);
    sha256_update(&context->inner, inner_key, sizeof inner_key);
}

void hmac_sha256_update(hmac_sha256_context *context, const uint8_t *bytes, size_t length)
{
    sha256_update(&context->inner, bytes, length);
}

void hmac_sha256_final(hmac_sha256_context *context, uint8_t mac[SHA256_DIGEST_BYTES])
{
    uint8_t inner_digest[SHA256_DIGEST_BYTES];
    sha256_final(&context->inner, inner_digest);
    sha256_context outer;
    sha256_init(&outer);
    sha256_update(&outer, context->outer_key, sizeof context->outer_key);
    sha256_update(&outer, inner_digest, sizeof inner_digest);
    sha256_final(&outer, mac);
}

int mac_equal(const uint8_t *a, const uint8_t *b, size_t length)
{
    uint8_t difference = 0;
    for (size_t i = 0; i < length; i++)
        difference |= (uint8_t)(a[i] ^ b[i]);
    return difference == 0;
}
