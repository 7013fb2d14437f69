/*
 * printf-style formatting into a bounded buffer. Pure code: the host unit
 * tests compile this file unchanged and compare it with the C library.
 */

#include <mmulab/format.h>
#include <mmulab/string.h>

struct out {
	char *buf;
	size_t size;
	size_t len; /* what the full output would be */
};

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int precision; /* -1: none */
	int length;    /* 0 int, 1 long, 2 long long, -1 short, -2 char */
	char conv;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

static void put_string(struct out *o, const struct spec *sp, const char *s)
{
	int n = 0;

	if (!s)
		s = "(null)";
	while (s[n] && (sp->precision < 0 || n < sp->precision))
		n++;
	if (!sp->left)
		pad(o, ' ', sp->width - n);
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, ' ', sp->width - n);
}

static int digits_of(u64 v, unsigned base, bool upper, char *tmp)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;

	do {
		tmp[n++] = set[v % base];
		v /= base;
	} while (v);
	return n;
}

static void put_number(struct out *o, const struct spec *sp, u64 v, bool negative, unsigned base)
{
	char tmp[24], prefix[3];
	int nd = digits_of(v, base, sp->conv == 'X', tmp), np = 0;

	if (sp->precision == 0 && v == 0)
		nd = 0;
	if (negative)
		prefix[np++] = '-';
	else if (sp->plus)
		prefix[np++] = '+';
	else if (sp->space)
		prefix[np++] = ' ';
	if (sp->alt && base == 16 && v != 0) {
		prefix[np++] = '0';
		prefix[np++] = sp->conv == 'X' ? 'X' : 'x';
	}
	if (sp->alt && base == 8 && (nd == 0 || tmp[nd - 1] != '0'))
		prefix[np++] = '0';

	int zeros = sp->precision > nd ? sp->precision - nd : 0;
	int body = np + zeros + nd;
	if (sp->zero && !sp->left && sp->precision < 0 && sp->width > body) {
		zeros += sp->width - body;
		body = sp->width;
	}
	if (!sp->left)
		pad(o, ' ', sp->width - body);
	for (int i = 0; i < np; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	while (nd)
		put(o, tmp[--nd]);
	if (sp->left)
		pad(o, ' ', sp->width - body);
}

static const char *parse_flags(const char *f, struct spec *sp)
{
	for (;; f++) {
		switch (*f) {
		case '-': sp->left = true; break;
		case '0': sp->zero = true; break;
		case '+': sp->plus = true; break;
		case ' ': sp->space = true; break;
		case '#': sp->alt = true; break;
		default: return f;
		}
	}
}

static const char *parse_int(const char *f, int *out, va_list *ap)
{
	if (*f == '*') {
		*out = va_arg(*ap, int);
		return f + 1;
	}
	*out = 0;
	while (*f >= '0' && *f <= '9')
		*out = *out * 10 + (*f++ - '0');
	return f;
}

static const char *parse_length(const char *f, struct spec *sp)
{
	if (f[0] == 'h' && f[1] == 'h')
		return sp->length = -2, f + 2;
	if (f[0] == 'l' && f[1] == 'l')
		return sp->length = 2, f + 2;
	if (*f == 'h')
		return sp->length = -1, f + 1;
	if (*f == 'l' || *f == 'z' || *f == 't' || *f == 'j')
		return sp->length = 1, f + 1;
	return f;
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .precision = -1 };
	f = parse_flags(f, sp);
	f = parse_int(f, &sp->width, ap);
	if (sp->width < 0) {
		sp->left = true;
		sp->width = -sp->width;
	}
	if (*f == '.') {
		f = parse_int(f + 1, &sp->precision, ap);
		if (sp->precision < 0)
			sp->precision = -1;
	}
	f = parse_length(f, sp);
	sp->conv = *f;
	return *f ? f + 1 : f;
}

static s64 signed_arg(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 2: return va_arg(*ap, long long);
	case 1: return va_arg(*ap, long);
	case -1: return (short)va_arg(*ap, int);
	case -2: return (signed char)va_arg(*ap, int);
	default: return va_arg(*ap, int);
	}
}

static u64 unsigned_arg(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 2: return va_arg(*ap, unsigned long long);
	case 1: return va_arg(*ap, unsigned long);
	case -1: return (unsigned short)va_arg(*ap, unsigned);
	case -2: return (unsigned char)va_arg(*ap, unsigned);
	default: return va_arg(*ap, unsigned);
	}
}

static void convert(struct out *o, struct spec *sp, va_list *ap)
{
	switch (sp->conv) {
	case 'd':
	case 'i': {
		s64 v = signed_arg(sp, ap);
		put_number(o, sp, v < 0 ? -(u64)v : (u64)v, v < 0, 10);
		break;
	}
	case 'u': put_number(o, sp, unsigned_arg(sp, ap), false, 10); break;
	case 'x':
	case 'X': put_number(o, sp, unsigned_arg(sp, ap), false, 16); break;
	case 'o': put_number(o, sp, unsigned_arg(sp, ap), false, 8); break;
	case 'p':
		sp->alt = true;
		sp->conv = 'x';
		put_number(o, sp, (u64)(uintptr_t)va_arg(*ap, void *), false, 16);
		break;
	case 's': put_string(o, sp, va_arg(*ap, const char *)); break;
	case 'c': {
		char s[2] = { (char)va_arg(*ap, int), 0 };
		sp->precision = 1;
		put_string(o, sp, s);
		break;
	}
	case '%': put(o, '%'); break;
	default: /* unknown conversion: show it rather than guess */
		put(o, '%');
		if (sp->conv)
			put(o, sp->conv);
	}
}

int vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &args);
		convert(&o, &sp, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

static bool parse_digits(const char *s, size_t len, unsigned base, u64 *out)
{
	u64 v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = digit_value(s[i]);
		if (d >= base || v > (~0ULL - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

bool parse_u64(const char *s, size_t len, u64 *out)
{
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_digits(s + 2, len - 2, 16, out);
	return parse_digits(s, len, 10, out);
}

bool parse_hex(const char *s, size_t len, u64 *out)
{
	return parse_digits(s, len, 16, out);
}
