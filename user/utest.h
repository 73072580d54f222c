/* Akaros-utest-style result lines for parlib check programs: "PASSED name" or
 * "FAILED name: why", between "BEGIN prog" and "END prog" (as Akaros's utests print). */
#ifndef UTEST_H
#define UTEST_H

#include "parlib/parlib.h"

static int utest_failures;

__attribute__((format(printf, 3, 4))) static void check(const char *name, bool ok, const char *fmt, ...)
{
	if (ok) {
		printf("PASSED %s\n", name);
		return;
	}
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	printf("FAILED %s: %s\n", name, why);
	utest_failures++;
}

#endif
