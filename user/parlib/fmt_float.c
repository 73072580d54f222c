/* %f %e %g of the printf family in integer arithmetic: the value m * 2^e is turned into the
 * exact decimal integer N with value N * 10^d (N = m * 2^e, d = 0, or N = m * 5^-e, d = e), and
 * its digits are rounded at the place the conversion asks for, ties to even, as glibc and musl
 * do in the default rounding mode. */
#include "format.h"

#define LIMB 1000000000u
#define MAX_LIMBS 1282 /* a long double's smallest: 5^16445 * 2^64 < 10^11515 */

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

/* The digits of limbs (most significant first, none of them zero-led but the first) into dec,
 * the first limb's units at 10^(9 * top); sticky: something nonzero was dropped below them. */
static void put_digits(const uint32_t *limbs, int n, int top, bool sticky, struct decimal *dec)
{
	char *p = dec->digits;
	char tmp[10];
	int t = 0;
	uint32_t v = limbs[0];
	do
		tmp[t++] = (char)('0' + v % 10);
	while (v /= 10);
	dec->exp = 9 * top + t - 1;
	while (t)
		*p++ = tmp[--t];
	for (int i = 1; i < n; i++, p += 9) {
		v = limbs[i];
		for (int k = 8; k >= 0; k--, v /= 10)
			p[k] = (char)('0' + v % 10);
	}
	dec->n = (int)(p - dec->digits);
	if (sticky) { /* below every digit a conversion looks at, for the rounding's "anything beyond" */
		dec->digits[dec->n++] = '1';
		return;
	}
	while (dec->n > 1 && dec->digits[dec->n - 1] == '0')
		dec->n--;
}

/* mant * 2^e for e >= 0: the exact integer. */
static void integer_to_decimal(uint64_t mant, int e, struct decimal *dec)
{
	uint32_t limbs[MAX_LIMBS]; /* least significant first while multiplying */
	int n = 0;
	for (uint64_t m = mant; m; m /= LIMB)
		limbs[n++] = (uint32_t)(m % LIMB);
	for (; e > 0; e -= e > 29 ? 29 : e)
		n = mul_small(limbs, n, 1u << (e > 29 ? 29 : e));
	for (int i = 0; i < n / 2; i++) {
		uint32_t t = limbs[i];
		limbs[i] = limbs[n - 1 - i];
		limbs[n - 1 - i] = t;
	}
	put_digits(limbs, n, n - 1, false, dec);
}

/* mant * 2^e for e < 0, halving a base-10^9 number from the top 9 bits at a time (10^9 is a
 * multiple of 2^9, so each step's remainder makes exactly one new limb).  Only the limbs the
 * conversion can look at are kept, and whether anything nonzero was dropped: keep_limbs(top)
 * says how many, for the number's first limb at 10^(9 * top).  Halving moves value only
 * downwards, so every kept digit is exact, and the work is the exponent times the kept limbs
 * rather than its square. */
struct keep {
	bool fixed; /* %f: digits down to a place after the point; else significant digits */
	int digits;
};

static int keep_limbs(const struct keep *k, int top)
{
	/* a digit past the last one shown (rounding) and a limb to spare */
	return k->fixed ? top + 1 + (k->digits + 1) / 9 + 2 : (k->digits + 1) / 9 + 3;
}

static void fraction_to_decimal(uint64_t mant, int e, const struct keep *k, struct decimal *dec)
{
	uint32_t limbs[MAX_LIMBS + 64]; /* up to 63 zero limbs at the top before they are moved off */
	int a = 0, n = 0, top;
	uint32_t low[3];
	int nl = 0;
	for (uint64_t m = mant; m; m /= LIMB)
		low[nl++] = (uint32_t)(m % LIMB);
	while (nl)
		limbs[n++] = low[--nl];
	top = n - 1;
	bool sticky = false;
	for (int left = -e; left > 0;) {
		int sh = left > 9 ? 9 : left;
		left -= sh;
		uint32_t mask = (1u << sh) - 1, unit = LIMB >> sh, carry = 0;
		for (int i = a; i < n; i++) {
			uint32_t x = limbs[i];
			limbs[i] = (x >> sh) + carry;
			carry = unit * (x & mask);
		}
		if (carry)
			limbs[n++] = carry;
		if (!limbs[a]) {
			a++;
			top--;
		}
		if (a == 64) { /* the leading zeros gone: room below for the limbs to come */
			memmove(limbs, limbs + a, (size_t)(n - a) * sizeof *limbs);
			n -= a;
			a = 0;
		}
		int most = keep_limbs(k, top);
		if (most < 1) { /* all of it below the last place %f shows: a positive speck */
			dec->digits[0] = '1';
			dec->n = 1;
			dec->exp = 9 * top - 9;
			return;
		}
		for (; n - a > most; n--)
			sticky |= limbs[n - 1] != 0;
	}
	put_digits(limbs + a, n - a, top, sticky, dec);
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
	char digits[8];
	int n = 0;
	do
		digits[n++] = (char)('0' + ux % 10);
	while ((ux /= 10) || n < 2);
	while (n)
		fmt_put(o, digits[--n]);
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

struct fp_value fp_from_double(uint64_t bits)
{
	int biased = (int)(bits >> 52 & 0x7ff);
	uint64_t frac = bits & ((1ull << 52) - 1);
	struct fp_value v = { .negative = bits >> 63 };
	if (biased == 0x7ff) {
		v.inf = !frac;
		v.nan = frac;
	} else {
		v.mant = biased ? frac | 1ull << 52 : frac;
		v.exp = (biased ? biased : 1) - 1075;
	}
	return v;
}

struct fp_value fp_from_long_double(uint64_t mant, uint16_t sign_exp)
{
	int biased = sign_exp & 0x7fff;
	bool integer_bit = mant >> 63;
	struct fp_value v = { .negative = sign_exp >> 15 };
	if (biased == 0x7fff) {
		v.inf = integer_bit && !(mant << 1);
		v.nan = !v.inf;
	} else if (biased && !integer_bit) {
		v.nan = true;
	} else {
		v.mant = mant;
		v.exp = (biased ? biased : 1) - 16383 - 63;
	}
	return v;
}

/* The sign, the padding and the body put_body or put_hex_body produces (counted first). */
typedef void body_fn(struct out *o, const struct fp_value *v, struct decimal *dec,
                     const struct fmt_spec *s);

static void put_padded(struct out *o, const struct fp_value *v, struct decimal *dec,
                       const struct fmt_spec *s, body_fn *body_of, const char *prefix)
{
	const char *sign = v->negative ? "-" : s->plus ? "+" : s->space ? " " : "";
	bool upper = (s->conv | 0x20) != s->conv;
	const char *special = v->inf ? (upper ? "INF" : "inf") : v->nan ? (upper ? "NAN" : "nan") : NULL;
	if (special)
		prefix = "";
	struct out count = { NULL, 0, 0 };
	if (special)
		count.len = strlen(special);
	else
		body_of(&count, v, dec, s); /* rounding is done here once: the second pass finds it done */
	int len = (int)(strlen(sign) + strlen(prefix) + count.len);
	bool zeros = s->zero && !s->left && !special;
	if (!s->left && !zeros)
		fmt_pad(o, ' ', s->width - len);
	for (const char *p = sign; *p; p++)
		fmt_put(o, *p);
	for (const char *p = prefix; *p; p++)
		fmt_put(o, *p);
	if (zeros)
		fmt_pad(o, '0', s->width - len);
	if (special)
		for (const char *p = special; *p; p++)
			fmt_put(o, *p);
	else
		body_of(o, v, dec, s);
	if (s->left)
		fmt_pad(o, ' ', s->width - len);
}

static void decimal_body(struct out *o, const struct fp_value *v, struct decimal *dec,
                         const struct fmt_spec *s)
{
	(void)v;
	put_body(o, dec, s);
}

void fmt_float(struct out *o, const struct fp_value *v, const struct fmt_spec *s)
{
	struct decimal dec;
	if (v->inf || v->nan || !v->mant) {
		dec.digits[0] = '0';
		dec.n = 1;
		dec.exp = 0;
	} else if (v->exp >= 0) {
		integer_to_decimal(v->mant, v->exp, &dec);
	} else {
		char c = s->conv | 0x20;
		int prec = s->precision < 0 ? 6 : s->precision;
		struct keep k = { c == 'f', c == 'f' ? prec : c == 'e' ? prec + 1 : prec ? prec : 1 };
		fraction_to_decimal(v->mant, v->exp, &k, &dec);
	}
	put_padded(o, v, &dec, s, decimal_body, "");
}

/* %a and %A as musl prints them: the value normalised to 1.h * 2^x (subnormals too), the hex
 * digits rounded half to even at a precision below 15 (the leading digit may become 2), or as
 * many as it takes without one (up to 16 for a long double's 63 bits after the point, even at
 * precision 15, which musl does not round); zero is 0x0p+0. */
static void hex_body(struct out *o, const struct fp_value *v, struct decimal *dec,
                     const struct fmt_spec *s)
{
	(void)dec;
	bool upper = (s->conv | 0x20) != s->conv;
	const char *xd = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int x = 0;
	uint64_t lead = 0, frac = 0; /* frac: the bits after the point, from the top */
	if (v->mant) {
		uint64_t m = v->mant;
		x = v->exp + 63;
		for (; !(m >> 63); m <<= 1)
			x--;
		lead = 1;
		frac = m << 1;
	}
	int p = s->precision;
	if (p >= 0 && p < 15) {
		uint64_t kept = p ? frac >> (64 - 4 * p) : lead, rest = p ? frac << (4 * p) : frac;
		if (rest > 1ull << 63 || (rest == 1ull << 63 && (kept & 1))) {
			kept++;
			if (!p)
				lead = kept;
			else if (kept >> (4 * p))
				lead++;
		}
		frac = p ? kept << (64 - 4 * p) : 0;
	}
	int digits = 0; /* hex digits after the point, trailing zeros left off */
	for (uint64_t f = frac; f; f <<= 4)
		digits++;
	int after = p > digits ? p : digits;
	fmt_put(o, xd[lead]);
	if (after || s->alt)
		fmt_put(o, '.');
	for (int i = 0; i < after; i++)
		fmt_put(o, i < 16 ? xd[frac >> (60 - 4 * i) & 15] : '0');
	fmt_put(o, upper ? 'P' : 'p');
	fmt_put(o, x < 0 ? '-' : '+');
	char ebuf[8];
	int en = 0;
	unsigned ux = x < 0 ? (unsigned)-x : (unsigned)x;
	do
		ebuf[en++] = (char)('0' + ux % 10);
	while (ux /= 10);
	while (en)
		fmt_put(o, ebuf[--en]);
}

void fmt_hex_float(struct out *o, const struct fp_value *v, const struct fmt_spec *s)
{
	bool upper = (s->conv | 0x20) != s->conv;
	put_padded(o, v, NULL, s, hex_body, upper ? "0X" : "0x");
}
