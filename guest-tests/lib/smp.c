// SPDX-License-Identifier: GPL-2.0-only
/*
 * Other CPUs and ring 3.
 *
 * The boot CPU starts the others with one broadcast INIT and SIPI through
 * its local APIC (xAPIC, 0xfee00000). They run the trampoline (copied to a
 * free page below 1 MiB that the loader did not use), enter long mode, take
 * a CPU number in arrival order, and halt waiting for jobs. smp_run posts a
 * job to each and wakes it with an IPI; a CPU that finishes wakes the boot
 * CPU with an IPI. Idle and waiting CPUs halt, so they cost the host
 * nothing and no ring-0 instructions are spent spinning.
 */
#include "runtime.h"
#include "setup.h"

#define APIC_BASE	0xfee00000UL
#define APIC_ID		0x020
#define APIC_SVR	0x0f0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310

#define ICR_INIT	0x00000500
#define ICR_STARTUP	0x00000600
#define ICR_ASSERT	0x00004000
#define ICR_ALL_BUT_SELF 0x000c0000

enum job_state { JOB_IDLE, JOB_READY, JOB_RUNNING, JOB_DONE };

extern char ap_tramp_start[], ap_tramp_end[];

uint64_t ap_stack_top[MAX_CPUS];
static volatile unsigned int ap_alive;

static inline uint32_t apic_read(unsigned int reg)
{
	return *(volatile uint32_t *)(APIC_BASE + reg);
}

static inline void apic_write(unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + reg) = v;
}

static void apic_init(unsigned int id)
{
	apic_write(APIC_SVR, 0x100 | VEC_SPURIOUS);	/* software-enable */
	percpu[id].apic_id = apic_read(APIC_ID) >> 24;
}

static void ipi_send(uint32_t apic_id, unsigned int vec)
{
	apic_write(APIC_ICR_HI, apic_id << 24);
	apic_write(APIC_ICR_LO, ICR_ASSERT | vec);
}

/* Waits for an IPI with interrupts enabled only while halted. */
static inline void halt_once(void)
{
	asm volatile("sti; hlt; cli" ::: "memory");
}

long user_run(long (*fn)(void *arg), void *arg)
{
	return user_run_on(fn, arg, this_cpu()->user_stack_top);
}

void ap_main(unsigned int id)
{
	struct percpu *p = &percpu[id];

	cpu_tables_load(id);
	apic_init(id);
	__atomic_fetch_add(&ap_alive, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (READ_ONCE(p->job_state) != JOB_READY) {
			halt_once();
			continue;
		}
		p->job_state = JOB_RUNNING;
		p->job_result = user_run(p->job_fn, p->job_arg);
		__atomic_store_n(&p->job_state, JOB_DONE, __ATOMIC_RELEASE);
		ipi_send(percpu[0].apic_id, VEC_WAKE);
	}
}

/* A page below 1 MiB that is RAM and holds none of the loader's data. */
static uint64_t tramp_page(void)
{
	for (uint64_t a = 0x1000; a < 0x100000; a += PAGE_SIZE) {
		bool clash = !ram_is_usable(a, a + PAGE_SIZE);

		for (unsigned int i = 0; i < loader_nr_ranges && !clash; i++)
			clash = loader_ranges[i].start < a + PAGE_SIZE && loader_ranges[i].end > a;
		if (!clash)
			return a;
	}
	return 0;
}

static bool aps_wait(unsigned long spins)
{
	while (ap_alive < smp_ncpus - 1 && spins--)
		cpu_relax();
	return ap_alive == smp_ncpus - 1;
}

void smp_boot(void)
{
	uint64_t tramp;

	apic_init(0);
	if (smp_ncpus == 1)
		return;
	tramp = tramp_page();
	if (!tramp) {
		printf("runtime: no free page below 1 MiB for the AP trampoline\n");
		exit(EXIT_FAIL);
	}
	memcpy((void *)tramp, ap_tramp_start, ap_tramp_end - ap_tramp_start);
	apic_write(APIC_ICR_HI, 0);
	apic_write(APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	apic_write(APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_STARTUP | tramp >> 12);
	if (aps_wait(200000))
		return;
	/* A second SIPI, as the MP protocol has it, for a slow CPU. */
	apic_write(APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_STARTUP | tramp >> 12);
	if (aps_wait(2000000))
		return;
	printf("runtime: only %u of %u CPUs came up\n", ap_alive + 1, smp_ncpus);
	exit(EXIT_FAIL);
}

void smp_run(long (*fn)(void *arg), void *arg, long *results)
{
	long r;

	for (unsigned int i = 1; i < smp_ncpus; i++) {
		percpu[i].job_fn = fn;
		percpu[i].job_arg = arg;
		__atomic_store_n(&percpu[i].job_state, JOB_READY, __ATOMIC_RELEASE);
		ipi_send(percpu[i].apic_id, VEC_WAKE);
	}
	r = user_run(fn, arg);
	if (results)
		results[0] = r;
	for (unsigned int i = 1; i < smp_ncpus; i++) {
		while (__atomic_load_n(&percpu[i].job_state, __ATOMIC_ACQUIRE) != JOB_DONE)
			halt_once();
		percpu[i].job_state = JOB_IDLE;
		if (results)
			results[i] = percpu[i].job_result;
	}
}
