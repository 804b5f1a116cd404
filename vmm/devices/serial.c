// SPDX-License-Identifier: GPL-2.0-only
/*
 * 16550A UART at 0x3f8 (COM1), IRQ 4. Output goes to stdout; input comes
 * from stdin when it is a terminal or a pipe. The transmitter is always
 * empty (LSR.THRE and LSR.TEMT set): a byte written is a byte printed.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define UART_BASE	0x3f8
#define UART_IRQ	4

#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02
#define UART_IIR_NONE	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_FIFO	0xc0
#define UART_LCR_DLAB	0x80
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MCR_LOOP	0x10
#define UART_MSR_DEFAULT 0xb0	/* DCD, DSR, CTS */

#define RX_SIZE		4096
#define TX_SIZE		4096

/*
 * uart.lock protects every field below it: registers, the RX ring and
 * the TX buffer. Taken by vCPU threads (register access) and by the stdin
 * reader thread. The IRQ line is driven under the lock so that level
 * changes reach KVM in order.
 */
static struct uart {
	pthread_mutex_t lock;
	pthread_cond_t rx_space;
	int vm_fd;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_pending;
	int irq_level;
	uint8_t rx[RX_SIZE];
	unsigned rx_head, rx_count;
	uint8_t tx[TX_SIZE];
	unsigned tx_len;
} uart = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.rx_space = PTHREAD_COND_INITIALIZER,
	.vm_fd = -1,
	.irq_level = -1,
};

static void tx_flush_locked(void)
{
	unsigned done = 0;

	while (done < uart.tx_len) {
		ssize_t n = write(STDOUT_FILENO, uart.tx + done, uart.tx_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* stdout gone: drop output, keep the guest running */
		done += n;
	}
	uart.tx_len = 0;
}

void serial_flush(void)
{
	pthread_mutex_lock(&uart.lock);
	tx_flush_locked();
	pthread_mutex_unlock(&uart.lock);
}

static void update_irq_locked(void)
{
	int level = ((uart.ier & UART_IER_RDI) && uart.rx_count) ||
		    ((uart.ier & UART_IER_THRI) && uart.thre_pending);
	struct kvm_irq_level irq = { .irq = UART_IRQ, .level = level };

	if (level == uart.irq_level || uart.vm_fd < 0)
		return;
	if (ioctl(uart.vm_fd, KVM_IRQ_LINE, &irq) == 0)
		uart.irq_level = level;
}

static uint8_t iir_locked(void)
{
	uint8_t fifo = (uart.fcr & 1) ? UART_IIR_FIFO : 0;

	if ((uart.ier & UART_IER_RDI) && uart.rx_count)
		return fifo | UART_IIR_RDI;
	if ((uart.ier & UART_IER_THRI) && uart.thre_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NONE;
}

static void tx_byte_locked(uint8_t c)
{
	uart.tx[uart.tx_len++] = c;
	if (c == '\n' || uart.tx_len == TX_SIZE)
		tx_flush_locked();
}

static uint8_t rx_pop_locked(void)
{
	uint8_t c;

	if (!uart.rx_count)
		return 0;
	c = uart.rx[uart.rx_head];
	uart.rx_head = (uart.rx_head + 1) % RX_SIZE;
	if (uart.rx_count-- == RX_SIZE)
		pthread_cond_signal(&uart.rx_space);
	return c;
}

static void rx_push_locked(uint8_t c)
{
	uart.rx[(uart.rx_head + uart.rx_count) % RX_SIZE] = c;
	uart.rx_count++;
}

static uint8_t uart_read_locked(unsigned reg)
{
	bool dlab = uart.lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case 0:
		return dlab ? uart.dll : rx_pop_locked();
	case 1:
		return dlab ? uart.dlm : uart.ier;
	case 2:
		v = iir_locked();
		/* Reading IIR while it reports THRE clears that source. */
		if ((v & 0x0f) == UART_IIR_THRI)
			uart.thre_pending = false;
		return v;
	case 3:
		return uart.lcr;
	case 4:
		return uart.mcr;
	case 5:
		return UART_LSR_THRE | UART_LSR_TEMT | (uart.rx_count ? UART_LSR_DR : 0);
	case 6:
		return UART_MSR_DEFAULT;
	default:
		return uart.scr;
	}
}

static void uart_write_locked(unsigned reg, uint8_t v)
{
	bool dlab = uart.lcr & UART_LCR_DLAB;

	switch (reg) {
	case 0:
		if (dlab) {
			uart.dll = v;
		} else {
			if (uart.mcr & UART_MCR_LOOP)
				rx_push_locked(v);
			else
				tx_byte_locked(v);
			uart.thre_pending = true;
		}
		break;
	case 1:
		if (dlab) {
			uart.dlm = v;
		} else {
			/* Enabling THRI with an empty transmitter raises it at once. */
			if ((v & UART_IER_THRI) && !(uart.ier & UART_IER_THRI))
				uart.thre_pending = true;
			uart.ier = v & 0x0f;
		}
		break;
	case 2:
		uart.fcr = v;
		if (v & 0x02) {
			uart.rx_head = uart.rx_count = 0;
			pthread_cond_signal(&uart.rx_space);
		}
		break;
	case 3:
		uart.lcr = v;
		break;
	case 4:
		uart.mcr = v & 0x1f;
		break;
	case 7:
		uart.scr = v;
		break;
	default:
		break;	/* LSR and MSR are read-only */
	}
}

static void uart_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
		    bool is_write)
{
	pthread_mutex_lock(&uart.lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned reg = (off + i) & 7;

		if (is_write)
			uart_write_locked(reg, data[i]);
		else
			data[i] = uart_read_locked(reg);
	}
	update_irq_locked();
	pthread_mutex_unlock(&uart.lock);
}

static void *stdin_thread(void *arg)
{
	uint8_t buf[256];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		pthread_mutex_lock(&uart.lock);
		for (ssize_t i = 0; i < n; i++) {
			while (uart.rx_count == RX_SIZE)
				pthread_cond_wait(&uart.rx_space, &uart.lock);
			rx_push_locked(buf[i]);
		}
		update_irq_locked();
		pthread_mutex_unlock(&uart.lock);
	}
}

static bool stdin_is_input(void)
{
	struct stat st;

	if (isatty(STDIN_FILENO))
		return true;
	return fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
}

int serial_init(struct vm *vm)
{
	pthread_t t;
	pthread_attr_t attr;

	uart.vm_fd = vm->fd;
	if (device_register_pio(vm, UART_BASE, 8, uart_io, NULL, "serial"))
		return -1;
	if (!stdin_is_input())
		return 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, stdin_thread, NULL))
		vmm_err("serial: cannot start the input thread; guest input disabled");
	pthread_attr_destroy(&attr);
	return 0;
}
