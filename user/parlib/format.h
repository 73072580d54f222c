/* The printf family's output buffer, shared by stdio.c and the floating-point conversions. */
#ifndef PARLIB_FORMAT_H
#define PARLIB_FORMAT_H

#include "parlib.h"

struct out {
	char *buf;
	size_t size; /* room in buf, including the NUL (0: only count) */
	size_t len;  /* characters produced (may exceed size) */
};

void fmt_put(struct out *o, char c);
void fmt_pad(struct out *o, char c, int n);

struct fmt_spec {
	char conv; /* f F e E g G a A */
	int width, precision; /* precision -1: the default */
	bool left, zero, plus, space, alt;
};

/* A binary floating-point value taken apart (parlib is integer-only): mant * 2^exp, or an
 * infinity or a nan; the sign apart.  Doubles and x86-64 long doubles (the 80-bit format) both
 * fit: a 64-bit mantissa and an exponent from -16445 to 16320. */
struct fp_value {
	bool negative, inf, nan;
	uint64_t mant; /* 0: zero */
	int exp;
};

struct fp_value fp_from_double(uint64_t bits);
/* The 80-bit format: mant with its explicit integer bit, sign_exp the sign and the 15-bit
 * biased exponent.  An unnormal (integer bit clear, exponent neither 0 nor all ones) and a
 * pseudo-infinity or pseudo-nan are nans, as musl and glibc print them; a pseudo-denormal has
 * the value the x87 gives it. */
struct fp_value fp_from_long_double(uint64_t mant, uint16_t sign_exp);

/* %f %e %g (and F E G) converted exactly as C requires: every digit is the exact decimal
 * value, rounded half to even. */
void fmt_float(struct out *o, const struct fp_value *v, const struct fmt_spec *spec);
/* %a and %A: hex digits, as musl prints them. */
void fmt_hex_float(struct out *o, const struct fp_value *v, const struct fmt_spec *spec);

#endif
