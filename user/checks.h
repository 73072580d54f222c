/* checks.h: what the checking guest programs (fstest, fsmeta, procfs) print for each check:
 * "ok NAME" or "FAIL NAME: DETAIL"; failures counts the failed ones (the exit status). */
#ifndef CHECKS_H
#define CHECKS_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(const char *name, int good, const char *detail)
{
    if (good)
        printf("ok %s\n", name);
    else {
        printf("FAIL %s: %s\n", name, detail);
        failures++;
    }
    fflush(stdout);
}

/* a call that must fail with errno `want` */
static __attribute__((unused)) void fails(const char *name, long result, int want)
{
    char detail[160];
    snprintf(detail, sizeof detail, "returned %ld, errno %d (%s); expected errno %d (%s)", result,
             result < 0 ? errno : 0, result < 0 ? strerror(errno) : "-", want, strerror(want));
    check(name, result < 0 && errno == want, detail);
}

/* a call that must succeed */
static __attribute__((unused)) long works(const char *name, long result)
{
    char detail[160];
    snprintf(detail, sizeof detail, "failed: %s", strerror(errno));
    check(name, result >= 0, detail);
    return result;
}

static __attribute__((unused)) void same(const char *name, const char *got, const char *want)
{
    char detail[700];
    snprintf(detail, sizeof detail, "got \"%s\", expected \"%s\"", got, want);
    check(name, strcmp(got, want) == 0, detail);
}

static __attribute__((unused)) void equal(const char *name, long long got, long long want)
{
    char detail[160];
    snprintf(detail, sizeof detail, "got %lld, expected %lld", got, want);
    check(name, got == want, detail);
}

#endif
