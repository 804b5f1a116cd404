// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot_main: what the boot CPU does in ring 0 between entering long mode
 * and calling the test's main. It reads the multiboot information before
 * anything can overwrite it, asks fw_cfg for RAM size and CPU count, maps
 * RAM above 4 GiB, hands out per-CPU stacks from the first free memory and
 * declares the rest free for the test.
 *
 * Where the loader's data lives is up to the loader (QEMU puts the MBI and
 * the memory map at 0x9000, the command line after the image), so the free
 * memory starts after the highest of image, MBI, memory map, command line
 * and modules.
 */
#include "runtime.h"
#include "setup.h"

#define MB_BOOT_MAGIC	0x2badb002
#define MB_INFO_MEM	(1u << 0)
#define MB_INFO_CMDLINE	(1u << 2)
#define MB_INFO_MODS	(1u << 3)
#define MB_INFO_MMAP	(1u << 6)
#define E820_RAM	1

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05

#define KERNEL_STACK_SIZE	(16 * 1024)
#define USER_STACK_SIZE		(64 * 1024)
#define MAPPED_MAX		(512 * GiB)	/* one PML4 entry */

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
};

extern char _end[];
extern uint64_t boot_pdpt[512];

uint64_t mem_ram_size;
uint64_t mem_free_start;
unsigned int mem_nr_regions;
struct mem_region mem_regions[MEM_MAX_REGIONS];
uint64_t mem_free_pages;

struct loader_range loader_ranges[LOADER_MAX_RANGES];
unsigned int loader_nr_ranges;

static struct mem_region ram_map[MEM_MAX_REGIONS];
static unsigned int ram_map_len;
static uint64_t heap_next;

static void loader_note(uint64_t start, uint64_t len)
{
	if (loader_nr_ranges < LOADER_MAX_RANGES)
		loader_ranges[loader_nr_ranges++] = (struct loader_range){ start, start + len };
	if (start + len > mem_free_start)
		mem_free_start = start + len;
}

static void ram_add(uint64_t start, uint64_t end)
{
	if (end > MAPPED_MAX)
		end = MAPPED_MAX;
	if (start >= end)
		return;
	if (ram_map_len == MEM_MAX_REGIONS) {
		printf("# runtime: more than %u RAM ranges, ignoring 0x%lx-0x%lx\n",
		       MEM_MAX_REGIONS, start, end);
		return;
	}
	ram_map[ram_map_len++] = (struct mem_region){ start, end };
}

static void mb_read(uint32_t magic, const struct mb_info *mbi)
{
	if (magic != MB_BOOT_MAGIC) {
		printf("runtime: not started by a multiboot loader (EAX 0x%x)\n", magic);
		exit(EXIT_FAIL);
	}
	mem_free_start = (uint64_t)_end;
	loader_note((uint64_t)mbi, sizeof(*mbi));
	if (mbi->flags & MB_INFO_CMDLINE) {
		const char *s = (const char *)(uint64_t)mbi->cmdline;

		loader_note(mbi->cmdline, strlen(s) + 1);
		args_init(s);
	}
	if (mbi->flags & MB_INFO_MODS) {
		const struct mb_module *m = (const void *)(uint64_t)mbi->mods_addr;

		loader_note(mbi->mods_addr, mbi->mods_count * sizeof(*m));
		for (uint32_t i = 0; i < mbi->mods_count; i++) {
			loader_note(m[i].mod_start, m[i].mod_end - m[i].mod_start);
			if (m[i].string)
				loader_note(m[i].string, strlen((const char *)(uint64_t)m[i].string) + 1);
		}
	}
	if (mbi->flags & MB_INFO_MMAP) {
		uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;

		loader_note(mbi->mmap_addr, mbi->mmap_length);
		while (p < end) {
			const struct mb_mmap_entry *e = (const void *)p;

			if (e->type == E820_RAM)
				ram_add(e->addr, e->addr + e->len);
			p += e->size + 4;
		}
	} else if (mbi->flags & MB_INFO_MEM) {
		ram_add(0, (uint64_t)mbi->mem_lower << 10);
		ram_add(1 * MiB, 1 * MiB + ((uint64_t)mbi->mem_upper << 10));
	}
	mem_free_start = ALIGN_UP(mem_free_start, PAGE_SIZE);
	heap_next = mem_free_start;
}

static uint64_t fw_cfg_read(uint16_t key, unsigned int len)
{
	uint64_t v = 0;

	outw(FW_CFG_PORT_SEL, key);
	for (unsigned int i = 0; i < len; i++)
		v |= (uint64_t)inb(FW_CFG_PORT_DATA) << (8 * i);
	return v;
}

static void fw_cfg_probe(void)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < ram_map_len; i++)
		total += ram_map[i].end - ram_map[i].start;
	smp_ncpus = 1;
	mem_ram_size = total;
	if (fw_cfg_read(FW_CFG_SIGNATURE, 4) != 0x554d4551) {	/* "QEMU" */
		printf("# runtime: no fw_cfg; one CPU, RAM size from the memory map\n");
		return;
	}
	mem_ram_size = fw_cfg_read(FW_CFG_RAM_SIZE, 8);
	smp_ncpus = fw_cfg_read(FW_CFG_NB_CPUS, 2);
	if (smp_ncpus < 1)
		smp_ncpus = 1;
	if (smp_ncpus > MAX_CPUS) {
		printf("# runtime: %u CPUs, using the first %u\n", smp_ncpus, MAX_CPUS);
		smp_ncpus = MAX_CPUS;
	}
}

void *heap_alloc(uint64_t size)
{
	uint64_t p = heap_next;

	heap_next = ALIGN_UP(heap_next + size, PAGE_SIZE);
	return (void *)p;
}

/*
 * 0-4 GiB is mapped by entry.S. Above that, 1 GiB pages when the CPU has
 * them, else one page directory of 2 MiB pages per GiB. Everything is
 * user-accessible: ring-3 workloads address RAM directly.
 */
static void map_high_ram(void)
{
	uint64_t top = 0;
	uint32_t a, b, c, d;
	bool gbpages;

	for (unsigned int i = 0; i < ram_map_len; i++)
		top = MAX(top, ram_map[i].end);
	top = ALIGN_UP(top, GiB);
	if (top <= 4 * GiB)
		return;
	cpuid(0x80000000, &a, &b, &c, &d);
	gbpages = false;
	if (a >= 0x80000001) {
		cpuid(0x80000001, &a, &b, &c, &d);
		gbpages = d & (1u << 26);
	}
	for (uint64_t g = 4; g < top / GiB; g++) {
		if (gbpages) {
			boot_pdpt[g] = (g * GiB) | PTE_P | PTE_W | PTE_U | PTE_PS;
			continue;
		}
		uint64_t *pd = heap_alloc(PAGE_SIZE);
		uint64_t e = (g * GiB) | PTE_P | PTE_W | PTE_U | PTE_PS;

		for (unsigned int j = 0; j < 512; j++, e += 2 * MiB)
			pd[j] = e;
		boot_pdpt[g] = (uint64_t)pd | PTE_P | PTE_W | PTE_U;
	}
	write_cr3(read_cr3());
}

static void mem_init_free(void)
{
	uint64_t floor = MAX(heap_next, 1 * MiB);

	for (unsigned int i = 0; i < ram_map_len; i++) {
		uint64_t s = ALIGN_UP(MAX(ram_map[i].start, floor), PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(ram_map[i].end, PAGE_SIZE);

		if (s >= e)
			continue;
		mem_regions[mem_nr_regions++] = (struct mem_region){ s, e };
		mem_free_pages += (e - s) / PAGE_SIZE;
	}
}

uint64_t mem_page_addr(uint64_t page)
{
	for (unsigned int i = 0; i < mem_nr_regions; i++) {
		uint64_t n = (mem_regions[i].end - mem_regions[i].start) / PAGE_SIZE;

		if (page < n)
			return mem_regions[i].start + page * PAGE_SIZE;
		page -= n;
	}
	return 0;
}

unsigned int mem_ranges(uint64_t first, uint64_t count, struct mem_region *out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < mem_nr_regions && count; i++) {
		uint64_t pages = (mem_regions[i].end - mem_regions[i].start) / PAGE_SIZE;
		uint64_t take;

		if (first >= pages) {
			first -= pages;
			continue;
		}
		take = MIN(pages - first, count);
		out[n].start = mem_regions[i].start + first * PAGE_SIZE;
		out[n].end = out[n].start + take * PAGE_SIZE;
		n++;
		count -= take;
		first = 0;
	}
	return n;
}

bool ram_is_usable(uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < ram_map_len; i++)
		if (start >= ram_map[i].start && end <= ram_map[i].end)
			return true;
	return false;
}

void exit(int value)
{
	outl(0xf4, value);
	for (;;) {
		if (cpl() == 0)
			asm volatile("cli; hlt");
		else
			cpu_relax();
	}
}

void boot_main(uint32_t magic, uint32_t mbi)
{
	percpu_init_boot();
	mb_read(magic, (const struct mb_info *)(uint64_t)mbi);
	fw_cfg_probe();
	map_high_ram();
	cpu_tables_init();
	for (unsigned int i = 0; i < smp_ncpus; i++) {
		percpu[i].user_stack_top = (uint64_t)heap_alloc(USER_STACK_SIZE) + USER_STACK_SIZE;
		if (i)
			ap_stack_top[i] = (uint64_t)heap_alloc(KERNEL_STACK_SIZE) + KERNEL_STACK_SIZE;
	}
	mem_init_free();
	smp_boot();
	exit(main());
}
