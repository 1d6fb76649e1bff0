/* Arbitrary bytes as a Nonin stream. */
#include "protocols/nonin.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length)
{
    reading readings[4];
    nonin_reader reader;
    nonin_reader_init(&reader);
    for (size_t i = 0; i < length; i++)
        nonin_push(&reader, bytes[i], readings, 4);
    return 0;
}
