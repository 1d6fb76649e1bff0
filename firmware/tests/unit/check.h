/* A minimal test harness: each test is a function; CHECK records a failure with its line and goes on. */
#ifndef COLLECTOR_CHECK_H
#define COLLECTOR_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(condition)                                                                                     \
    do {                                                                                                     \
        if (!(condition)) {                                                                                  \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #condition);                 \
            check_failures++;                                                                                \
        }                                                                                                    \
    } while (0)

#define CHECK_INT(actual, expected)                                                                          \
    do {                                                                                                     \
        long long check_actual_ = (long long)(actual), check_expected_ = (long long)(expected);               \
        if (check_actual_ != check_expected_) {                                                              \
            fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #actual, check_actual_, \
                    check_expected_);                                                                        \
            check_failures++;                                                                                \
        }                                                                                                    \
    } while (0)

typedef struct {
    const char *name;
    void (*run)(void);
} check_test;

#define TEST(name) {#name, name}

static inline int check_main(const char *suite, const check_test *tests, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int before = check_failures;
        tests[i].run();
        if (check_failures != before)
            fprintf(stderr, "FAIL %s: %s\n", suite, tests[i].name);
    }
    printf("%s: %zu tests, %d failed checks\n", suite, count, check_failures);
    return check_failures ? 1 : 0;
}

#define CHECK_MAIN(suite, tests) check_main(suite, tests, sizeof(tests) / sizeof(tests[0]))

#endif
