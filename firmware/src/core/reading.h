/* What every instrument driver produces: one vital sign with its unit and the instrument's time.
 *
 * The six protocols name their measurements six ways. ISO/IEEE 11073-10101 (the "MDC" nomenclature) is the
 * one they can all be mapped to: HL7 PCD-01 sends its codes, IntelliVue's physio and unit IDs are its terms,
 * and the uplink's receivers (the data client, FHIR Observations) speak it. A code is partition << 16 | term.
 * Values are decimal fixed point (mantissa x 10^exponent) so that no driver needs floating point. */
#ifndef COLLECTOR_READING_H
#define COLLECTOR_READING_H

#include <stddef.h>
#include <stdint.h>

#define MDC_PART_SCADA 2u
#define MDC_PART_DIM 4u
#define MDC_CODE(partition, term) (((uint32_t)(partition) << 16) | (uint32_t)(term))

/* Metrics (partition 2, SCADA). */
#define MDC_ECG_HEART_RATE MDC_CODE(MDC_PART_SCADA, 16770)
#define MDC_PULS_OXIM_PULS_RATE MDC_CODE(MDC_PART_SCADA, 18458)
#define MDC_PRESS_BLD_NONINV_SYS MDC_CODE(MDC_PART_SCADA, 18949)
#define MDC_PRESS_BLD_NONINV_DIA MDC_CODE(MDC_PART_SCADA, 18950)
#define MDC_PRESS_BLD_NONINV_MEAN MDC_CODE(MDC_PART_SCADA, 18951)
#define MDC_TEMP_BODY MDC_CODE(MDC_PART_SCADA, 19292)
#define MDC_PULS_OXIM_PERF_REL MDC_CODE(MDC_PART_SCADA, 19376)
#define MDC_PULS_OXIM_SAT_O2 MDC_CODE(MDC_PART_SCADA, 19384)
#define MDC_RESP_RATE MDC_CODE(MDC_PART_SCADA, 20490)
#define MDC_AWAY_CO2_ET MDC_CODE(MDC_PART_SCADA, 20636)
#define MDC_PRESS_AWAY_INSP_PEAK MDC_CODE(MDC_PART_SCADA, 20745)
#define MDC_VOL_AWAY_TIDAL MDC_CODE(MDC_PART_SCADA, 20796)
#define MDC_PRESS_AWAY_END_EXP_POS MDC_CODE(MDC_PART_SCADA, 20904)

/* Units (partition 4, dimensions). A millibar is a hectopascal. */
#define MDC_DIM_DIMLESS MDC_CODE(MDC_PART_DIM, 512)
#define MDC_DIM_PERCENT MDC_CODE(MDC_PART_DIM, 544)
#define MDC_DIM_MILLI_L MDC_CODE(MDC_PART_DIM, 1618)
#define MDC_DIM_BEAT_PER_MIN MDC_CODE(MDC_PART_DIM, 2720)
#define MDC_DIM_RESP_PER_MIN MDC_CODE(MDC_PART_DIM, 2784)
#define MDC_DIM_HECTO_PASCAL MDC_CODE(MDC_PART_DIM, 3842)
#define MDC_DIM_MMHG MDC_CODE(MDC_PART_DIM, 3872)
#define MDC_DIM_CM_H2O MDC_CODE(MDC_PART_DIM, 3904)
#define MDC_DIM_DEGC MDC_CODE(MDC_PART_DIM, 6048)

typedef struct {
    uint32_t metric;      /* MDC code of what was measured */
    uint32_t unit;        /* MDC code of its unit */
    int32_t mantissa;     /* value = mantissa x 10^exponent */
    int8_t exponent;
    uint32_t device_time; /* the instrument's clock, seconds since 1970-01-01 UTC; 0 if it sends none */
} reading;

/* What a parser returns: a count of readings (>= 0), or one of these. */
typedef enum {
    PARSE_BAD_CHECKSUM = -1,
    PARSE_TRUNCATED = -2,
    PARSE_MALFORMED = -3,
    PARSE_OVERSIZED = -4,
    PARSE_UNSUPPORTED = -5,
} parse_error;

/* Appends a reading if there is room; returns the new count (readings beyond `capacity` are dropped, as a
 * driver must never write past its caller's array). */
static inline size_t reading_append(reading *readings, size_t count, size_t capacity, uint32_t metric,
                                    uint32_t unit, int32_t mantissa, int8_t exponent, uint32_t device_time)
{
    if (count < capacity) {
        readings[count] = (reading){metric, unit, mantissa, exponent, device_time};
        return count + 1;
    }
    return count;
}

#endif
