// SPDX-License-Identifier: GPL-2.0-only
/*
 * Serial console: a small vsnprintf and a printf that writes whole lines
 * to the 16550A at 0x3f8 under a spinlock, so that lines from several
 * CPUs do not interleave. The contract's UART always reports the
 * transmitter empty, so characters are written without polling. Works in
 * ring 0 and in ring 3 (IOPL 3).
 *
 * Conversions: %d %i %u %x %X %p %s %c %%, flags '-' '0' '#', a width, and
 * the length modifiers l, ll, z.
 */
#include "runtime.h"

#define COM1	0x3f8

static volatile int console_lock;

struct out {
	char *buf;
	size_t size, len;
};

static void out_c(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_c(o, c);
}

static void out_num(struct out *o, uint64_t v, unsigned int base, bool neg, bool upper,
		    const char *prefix, int width, bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + (neg ? 1 : 0) + (int)strlen(prefix);
	if (!left && !zero)
		out_pad(o, ' ', width - len);
	if (neg)
		out_c(o, '-');
	while (*prefix)
		out_c(o, *prefix++);
	if (!left && zero)
		out_pad(o, '0', width - len);
	while (n)
		out_c(o, tmp[--n]);
	if (left)
		out_pad(o, ' ', width - len);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		bool left = false, zero = false, alt = false;
		int width = 0, lng = 0;
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		for (fmt++;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			out_num(&o, u, 10, s < 0, false, "", width, left, zero);
			break;
		case 'u':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			out_num(&o, u, 10, false, false, "", width, left, zero);
			break;
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			out_num(&o, u, 16, false, *fmt == 'X', alt ? "0x" : "", width, left, zero);
			break;
		case 'p':
			u = (uint64_t)va_arg(ap, void *);
			out_num(&o, u, 16, false, false, "0x", width, left, zero);
			break;
		case 'c':
			out_pad(&o, ' ', left ? 0 : width - 1);
			out_c(&o, (char)va_arg(ap, int));
			out_pad(&o, ' ', left ? width - 1 : 0);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int len;

			if (!str)
				str = "(null)";
			len = (int)strlen(str);
			out_pad(&o, ' ', left ? 0 : width - len);
			while (*str)
				out_c(&o, *str++);
			out_pad(&o, ' ', left ? width - len : 0);
			break;
		}
		case '%':
			out_c(&o, '%');
			break;
		default:
			out_c(&o, '%');
			if (!*fmt)
				fmt--;
			else
				out_c(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

static void console_lock_take(void)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		while (READ_ONCE(console_lock))
			cpu_relax();
}

static void console_lock_drop(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

/* For the fatal-exception path: the faulting CPU may hold the lock. */
void console_break_lock(void)
{
	console_lock_drop();
}

static void serial_write(const char *s)
{
	while (*s)
		outb(COM1, *s++);
}

static void puts_locked(const char *s)
{
	console_lock_take();
	serial_write(s);
	console_lock_drop();
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	puts_locked(buf);
	return n;
}
