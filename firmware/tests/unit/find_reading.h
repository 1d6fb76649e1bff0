/* The first reading of a metric among a parser's results, or NULL. */
#ifndef COLLECTOR_FIND_READING_H
#define COLLECTOR_FIND_READING_H

#include <stddef.h>

#include "core/reading.h"

static inline const reading *find(const reading *readings, int count, uint32_t metric)
{
    for (int i = 0; i < count; i++)
        if (readings[i].metric == metric)
            return &readings[i];
    return NULL;
}

#endif
