/* Reading integers of a given byte order from unaligned buffers (the protocols mix both orders). */
#ifndef COLLECTOR_BYTE_ORDER_H
#define COLLECTOR_BYTE_ORDER_H

#include <stdint.h>

static inline uint16_t read_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t read_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t read_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t read_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void write_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void write_le32(uint8_t *p, uint32_t v)
{
    write_le16(p, (uint16_t)v);
    write_le16(p + 2, (uint16_t)(v >> 16));
}
static inline void write_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void write_be32(uint8_t *p, uint32_t v)
{
    write_be16(p, (uint16_t)(v >> 16));
    write_be16(p + 2, (uint16_t)v);
}

#endif
