/* %f %e %g of the printf family in integer arithmetic: the double m * 2^e is turned into the
 * exact decimal integer N with value N * 10^d (N = m * 2^e, d = 0, or N = m * 5^-e, d = e), and
 * its digits are rounded at the place the conversion asks for, ties to even, as glibc and musl
 * do in the default rounding mode. */
#include "format.h"

#define LIMB 1000000000u
#define MAX_LIMBS 96 /* 5^1074 * 2^53 < 10^770 */

struct decimal {
	char digits[MAX_LIMBS * 9 + 2];
	int n;   /* significant digits in digits[] (the rest are zeros) */
	int exp; /* the power of ten of digits[0] */
};

static int mul_small(uint32_t *limbs, int n, uint32_t factor)
{
	uint64_t carry = 0;
	for (int i = 0; i < n; i++) {
		uint64_t v = (uint64_t)limbs[i] * factor + carry;
		limbs[i] = (uint32_t)(v % LIMB);
		carry = v / LIMB;
	}
	while (carry) {
		limbs[n++] = (uint32_t)(carry % LIMB);
		carry /= LIMB;
	}
	return n;
}

static void to_decimal(uint64_t mant, int e, struct decimal *dec)
{
	uint32_t limbs[MAX_LIMBS];
	int n = 0;
	for (uint64_t m = mant; m; m /= LIMB)
		limbs[n++] = (uint32_t)(m % LIMB);
	int d = 0;
	if (e >= 0) {
		for (; e > 0; e -= e > 29 ? 29 : e)
			n = mul_small(limbs, n, 1u << (e > 29 ? 29 : e));
	} else {
		d = e;
		for (int k = -e; k > 0; k -= k > 13 ? 13 : k) {
			uint32_t f = 1;
			for (int i = 0; i < (k > 13 ? 13 : k); i++)
				f *= 5;
			n = mul_small(limbs, n, f);
		}
	}
	char *p = dec->digits;
	uint32_t top = limbs[n - 1];
	char tmp[10];
	int t = 0;
	do
		tmp[t++] = (char)('0' + top % 10);
	while (top /= 10);
	while (t)
		*p++ = tmp[--t];
	for (int i = n - 2; i >= 0; i--)
		for (int k = 8; k >= 0; k--) {
			uint32_t v = limbs[i];
			for (int j = 0; j < k; j++)
				v /= 10;
			*p++ = (char)('0' + v % 10);
		}
	dec->n = (int)(p - dec->digits);
	dec->exp = dec->n - 1 + d;
	while (dec->n > 1 && dec->digits[dec->n - 1] == '0')
		dec->n--;
}

/* Keep the first keep digits (keep may be 0 or less), rounding half to even. */
static void round_to(struct decimal *dec, int keep)
{
	if (keep >= dec->n)
		return;
	bool up;
	if (keep < 0) {
		up = false;
	} else {
		char next = dec->digits[keep];
		bool beyond = false;
		for (int i = keep + 1; i < dec->n; i++)
			beyond |= dec->digits[i] != '0';
		bool odd = keep > 0 && ((dec->digits[keep - 1] - '0') & 1);
		up = next > '5' || (next == '5' && (beyond || odd));
	}
	if (keep <= 0) {
		dec->digits[0] = up ? '1' : '0';
		dec->n = 1;
		if (up)
			dec->exp += -keep + 1;
		else
			dec->exp = 0; /* zero */
		return;
	}
	dec->n = keep;
	if (!up)
		return;
	int i = keep - 1;
	while (i >= 0 && dec->digits[i] == '9')
		dec->digits[i--] = '0';
	if (i >= 0) {
		dec->digits[i]++;
	} else {
		memmove(dec->digits + 1, dec->digits, (size_t)keep);
		dec->digits[0] = '1';
		dec->exp++;
	}
}

static char digit_at(const struct decimal *dec, int place)
{
	int i = dec->exp - place;
	return i >= 0 && i < dec->n ? dec->digits[i] : '0';
}

static bool is_zero(const struct decimal *dec)
{
	return dec->n == 1 && dec->digits[0] == '0';
}

static void put_fixed(struct out *o, const struct decimal *dec, int prec, bool point)
{
	for (int place = dec->exp > 0 ? dec->exp : 0; place >= 0; place--)
		fmt_put(o, digit_at(dec, place));
	if (prec > 0 || point)
		fmt_put(o, '.');
	for (int place = -1; place >= -prec; place--)
		fmt_put(o, digit_at(dec, place));
}

static void put_exponent(struct out *o, const struct decimal *dec, int prec, bool point, bool upper)
{
	fmt_put(o, dec->digits[0]);
	if (prec > 0 || point)
		fmt_put(o, '.');
	for (int i = 1; i <= prec; i++)
		fmt_put(o, i < dec->n ? dec->digits[i] : '0');
	int x = is_zero(dec) ? 0 : dec->exp;
	fmt_put(o, upper ? 'E' : 'e');
	fmt_put(o, x < 0 ? '-' : '+');
	unsigned ux = x < 0 ? (unsigned)-x : (unsigned)x;
	if (ux >= 100)
		fmt_put(o, (char)('0' + ux / 100));
	fmt_put(o, (char)('0' + ux / 10 % 10));
	fmt_put(o, (char)('0' + ux % 10));
}

/* The number without sign or padding, into o (which may only count). */
static void put_body(struct out *o, struct decimal *dec, const struct fmt_spec *s)
{
	char c = s->conv | 0x20;
	bool upper = s->conv != c;
	int prec = s->precision < 0 ? 6 : s->precision;
	if (c == 'f') {
		round_to(dec, dec->exp + 1 + prec);
		put_fixed(o, dec, prec, s->alt);
	} else if (c == 'e') {
		if (!is_zero(dec))
			round_to(dec, prec + 1);
		put_exponent(o, dec, prec, s->alt, upper);
	} else { /* g: %e or %f by the exponent, trailing zeros removed unless # */
		int p = prec == 0 ? 1 : prec;
		if (!is_zero(dec))
			round_to(dec, p);
		int x = is_zero(dec) ? 0 : dec->exp;
		int frac = x < p && x >= -4 ? p - 1 - x : p - 1;
		if (!s->alt) { /* only the significant digits left: fewer places if they end sooner */
			int last = dec->n - 1; /* index of the last nonzero digit */
			while (last > 0 && dec->digits[last] == '0')
				last--;
			int need = x < p && x >= -4 ? last - x : last;
			if (is_zero(dec))
				need = 0;
			frac = need < frac ? (need > 0 ? need : 0) : frac;
		}
		if (x < p && x >= -4)
			put_fixed(o, dec, frac, s->alt);
		else
			put_exponent(o, dec, frac, s->alt, upper);
	}
}

void fmt_double(struct out *o, uint64_t bits, const struct fmt_spec *s)
{
	bool negative = bits >> 63;
	int biased = (int)(bits >> 52 & 0x7ff);
	uint64_t frac = bits & ((1ull << 52) - 1);
	const char *sign = negative ? "-" : s->plus ? "+" : s->space ? " " : "";
	bool upper = (s->conv | 0x20) != s->conv;
	const char *special = NULL;
	if (biased == 0x7ff)
		special = frac ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
	struct decimal dec;
	struct out count = { NULL, 0, 0 };
	if (special) {
		count.len = strlen(special);
	} else {
		if (biased == 0 && frac == 0) {
			dec.digits[0] = '0';
			dec.n = 1;
			dec.exp = 0;
		} else {
			to_decimal(biased ? frac | 1ull << 52 : frac, (biased ? biased : 1) - 1075, &dec);
		}
		struct decimal copy = dec;
		put_body(&count, &copy, s);
	}
	int body = (int)(strlen(sign) + count.len);
	bool zeros = s->zero && !s->left && !special;
	if (!s->left && !zeros)
		fmt_pad(o, ' ', s->width - body);
	for (const char *p = sign; *p; p++)
		fmt_put(o, *p);
	if (zeros)
		fmt_pad(o, '0', s->width - body);
	if (special)
		for (const char *p = special; *p; p++)
			fmt_put(o, *p);
	else
		put_body(o, &dec, s);
	if (s->left)
		fmt_pad(o, ' ', s->width - body);
}

/* %a and %A as musl prints them: the value normalised to 1.h * 2^x (subnormals too), the hex
 * digits rounded half to even at the precision (the leading digit may become 2), or as many as
 * it takes without one; zero is 0x0p+0. */
static int put_hex_body(struct out *o, uint64_t bits, const struct fmt_spec *s, bool count_only)
{
	int biased = (int)(bits >> 52 & 0x7ff);
	uint64_t frac = bits & ((1ull << 52) - 1);
	bool upper = (s->conv | 0x20) != s->conv;
	const char *xd = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int x = 0;
	uint64_t lead = 0;
	if (biased || frac) {
		x = (biased ? biased : 1) - 1023;
		if (!biased) {
			while (!(frac >> 52)) {
				frac <<= 1;
				x--;
			}
			frac &= (1ull << 52) - 1;
		}
		lead = 1;
	}
	int p = s->precision;
	if (p >= 0 && p < 13) {
		int drop = 52 - 4 * p;
		uint64_t kept = (lead << 52 | frac) >> drop, rest = frac & ((1ull << drop) - 1);
		uint64_t half = 1ull << (drop - 1);
		if (rest > half || (rest == half && (kept & 1)))
			kept++;
		lead = kept >> (4 * p);
		frac = (kept << drop) & ((1ull << 52) - 1);
	}
	int digits = 0; /* hex digits after the point, trailing zeros left off */
	for (uint64_t f = frac; f; f = (f << 4) & ((1ull << 52) - 1))
		digits++;
	int after = p > digits ? p : digits;
	int n = 1 + (after || s->alt) + after;
	if (count_only)
		return n;
	fmt_put(o, xd[lead]);
	if (after || s->alt)
		fmt_put(o, '.');
	for (int i = 0; i < after; i++)
		fmt_put(o, i < 13 ? xd[frac >> (48 - 4 * i) & 15] : '0');
	return n;
}

void fmt_hex_double(struct out *o, uint64_t bits, const struct fmt_spec *s)
{
	int biased = (int)(bits >> 52 & 0x7ff);
	if (biased == 0x7ff) { /* inf and nan as %f prints them */
		struct fmt_spec f = *s;
		f.conv = (s->conv | 0x20) != s->conv ? 'F' : 'f';
		fmt_double(o, bits, &f);
		return;
	}
	bool upper = (s->conv | 0x20) != s->conv;
	bool negative = bits >> 63;
	const char *sign = negative ? "-" : s->plus ? "+" : s->space ? " " : "";
	int x = 0;
	if (biased || (bits & ((1ull << 52) - 1))) {
		x = (biased ? biased : 1) - 1023;
		for (uint64_t f = bits & ((1ull << 52) - 1); !biased && !(f >> 52); f <<= 1)
			x--;
	}
	char ebuf[8];
	int en = 0;
	unsigned ux = x < 0 ? (unsigned)-x : (unsigned)x;
	do
		ebuf[en++] = (char)('0' + ux % 10);
	while (ux /= 10);
	int body = put_hex_body(o, bits, s, true);
	int len = (int)strlen(sign) + 2 + body + 2 + en;
	if (!s->left && !s->zero)
		fmt_pad(o, ' ', s->width - len);
	for (const char *p = sign; *p; p++)
		fmt_put(o, *p);
	fmt_put(o, '0');
	fmt_put(o, upper ? 'X' : 'x');
	if (s->zero && !s->left)
		fmt_pad(o, '0', s->width - len);
	put_hex_body(o, bits, s, false);
	fmt_put(o, upper ? 'P' : 'p');
	fmt_put(o, x < 0 ? '-' : '+');
	while (en)
		fmt_put(o, ebuf[--en]);
	if (s->left)
		fmt_pad(o, ' ', s->width - len);
}
