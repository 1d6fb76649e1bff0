/* Seconds since 1970-01-01 UTC of a civil date and time (the proleptic Gregorian calendar), without libc's
 * time functions: instruments send their clock as fields, and the collector has no time zone. */
#ifndef COLLECTOR_CIVIL_TIME_H
#define COLLECTOR_CIVIL_TIME_H

#include <stdint.h>

/* 0 when a field is out of range (an instrument whose clock is unset). */
static inline uint32_t civil_to_unix(int year, int month, int day, int hour, int minute, int second)
{
    static const uint8_t days_in_month[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1970 || year > 2105 || month < 1 || month > 12 || day < 1 || day > days_in_month[month - 1] ||
        hour > 23 || minute > 59 || second > 60 || hour < 0 || minute < 0 || second < 0)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap)
        return 0;
    /* Days from 1970-01-01, counting years from March so that the leap day ends a year. */
    int y = year - (month <= 2);
    int era = y / 400, year_of_era = y - era * 400;
    int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    int64_t days = (int64_t)era * 146097 + day_of_era - 719468;
    return (uint32_t)(days * 86400 + hour * 3600 + minute * 60 + second);
}

#endif
