// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of virtio-blk request handling (vmm/virtio/blk_io.c) against
 * a real image file, over a fake guest-memory handle: "guest RAM" is a
 * 4 MiB buffer, and every byte the device writes is recorded, so each test
 * asserts both the result (status, used length, file contents) and that
 * nothing outside the request's device-writable bytes was touched.
 */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/gmem.h"
#include "vmm/virtio/blk.h"

#define RAM	(4u << 20)
#define DISK	(8u << 20)

/* --- the fake handle: the layer below blk_io.c ---------------------------- */
struct gmem_handle {
	int unused;
};
static uint8_t ram[RAM], touched[RAM];
static struct gmem_handle fake;

struct gmem_handle *gmem_open(struct vm *vm, const char *name)
{
	(void)vm, (void)name;
	return &fake;
}

void gmem_close(struct gmem_handle *h)
{
	(void)h;
}

bool gmem_read(struct gmem_handle *h, uint64_t gpa, void *buf, size_t len)
{
	(void)h;
	if (gpa > RAM || len > RAM - gpa)
		return false;
	memcpy(buf, ram + gpa, len);
	return true;
}

bool gmem_write(struct gmem_handle *h, uint64_t gpa, const void *buf, size_t len)
{
	(void)h;
	if (gpa > RAM || len > RAM - gpa)
		return false;
	memcpy(ram + gpa, buf, len);
	memset(touched + gpa, 1, len);
	return true;
}

/* --- fixtures ----------------------------------------------------------------- */
static char path[] = "/tmp/test_virtio_blk.XXXXXX";
static struct blk_disk disk;
static struct blk_queue bq;
static struct virtq vq = { .mem = &fake };
static struct virtq_chain c;

#define HDR	0x1000
#define STATUS	0x2000
#define DATA	0x10000

static void disk_fill(int fd)
{
	static uint8_t b[DISK];

	for (unsigned i = 0; i < DISK; i++)
		b[i] = (uint8_t)(i * 7 + (i >> 9));
	ck_assert_int_eq(pwrite(fd, b, DISK, 0), DISK);
}

static void open_disk(bool ro, const char *serial)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	disk_fill(fd);
	close(fd);
	ck_assert_int_eq(blk_disk_open(&disk, path, ro, false, serial), 0);
	ck_assert_int_eq(blk_queue_init(&bq, &disk), 0);
	memset(ram, 0xcc, RAM);
	memset(touched, 0, RAM);
}

static void setup(void)
{
	unsetenv("VMM_BLK_FAULTS");
	open_disk(false, "serial-1");
}

static void teardown(void)
{
	blk_queue_free(&bq);
	close(disk.fd);
	unlink(path);
	strcpy(path, "/tmp/test_virtio_blk.XXXXXX");
}

static void hdr(uint32_t type, uint64_t sector)
{
	memcpy(ram + HDR, &type, 4);
	memset(ram + HDR + 4, 0, 4);
	memcpy(ram + HDR + 8, &sector, 8);
	ram[STATUS] = 0xee;
}

static void seg(uint64_t gpa, uint32_t len, bool write)
{
	c.seg[c.nr++] = (struct virtq_seg){ gpa, len, write };
	if (write)
		c.write_len += len;
	else
		c.read_len += len;
}

/* A chain: header, data segments given as (gpa, len) pairs, status. */
static void chain(uint32_t type, uint64_t sector, bool data_write, unsigned n, ...)
{
	va_list ap;

	memset(&c, 0, sizeof(c));
	hdr(type, sector);
	seg(HDR, 16, false);
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = va_arg(ap, uint64_t);
		uint32_t len = va_arg(ap, uint32_t);

		seg(gpa, len, data_write);
	}
	va_end(ap);
	seg(STATUS, 1, true);
}

/* Bytes written outside [a, a + alen) and the status byte. */
static unsigned stray(uint64_t a, uint64_t alen)
{
	unsigned n = 0;

	for (uint64_t i = 0; i < RAM; i++)
		n += touched[i] && i != STATUS && !(i >= a && i < a + alen);
	return n;
}

static uint8_t disk_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

/* --- tests ------------------------------------------------------------------------ */
START_TEST(read_lands_in_its_segments)
{
	uint32_t used;

	/* 3 segments of odd sizes that add up to 3 sectors. */
	chain(VIRTIO_BLK_T_IN, 10, true, 3, (uint64_t)DATA, 100u, (uint64_t)DATA + 1000, 900u,
	      (uint64_t)DATA + 5000, 536u);
	used = blk_request(&bq, &vq, &c);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1537);
	for (unsigned i = 0; i < 100; i++)
		ck_assert_uint_eq(ram[DATA + i], disk_byte(5120 + i));
	for (unsigned i = 0; i < 900; i++)
		ck_assert_uint_eq(ram[DATA + 1000 + i], disk_byte(5120 + 100 + i));
	ck_assert_uint_eq(ram[DATA + 5000 + 535], disk_byte(5120 + 1535));
	ck_assert_uint_eq(ram[DATA + 100], 0xcc);	/* the gap between segments */
	ck_assert_uint_eq(stray(0, 0), 1536);		/* the data bytes, nothing else */
	ck_assert(!touched[DATA + 100] && !touched[DATA + 999] && !touched[DATA + 1900] &&
		  !touched[DATA + 5536]);
}
END_TEST

START_TEST(large_write_then_read_in_bounce_chunks)
{
	uint32_t len = 3 * BLK_BOUNCE / 2;	/* 1.5 bounce buffers */
	static uint8_t want[3 * BLK_BOUNCE / 2];

	for (uint32_t i = 0; i < len; i++)
		want[i] = (uint8_t)(i * 13 + 1);
	memcpy(ram + DATA, want, len);
	chain(VIRTIO_BLK_T_OUT, 2048, false, 1, (uint64_t)DATA, len);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	memset(ram + DATA, 0, len);
	chain(VIRTIO_BLK_T_IN, 2048, true, 2, (uint64_t)DATA, len / 3, (uint64_t)DATA + len / 3,
	      len - len / 3);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), len + 1);
	ck_assert(!memcmp(ram + DATA, want, len));
	/* The neighbours on the disk are unchanged. */
	chain(VIRTIO_BLK_T_IN, 2047, true, 1, (uint64_t)DATA, 512u);
	blk_request(&bq, &vq, &c);
	ck_assert_uint_eq(ram[DATA + 511], disk_byte(2048 * 512 - 1));
}
END_TEST

START_TEST(write_through_syncs_every_write_write_back_none)
{
	memset(ram + DATA, 0x77, 4096);
	chain(VIRTIO_BLK_T_OUT, 8, false, 1, (uint64_t)DATA, 4096u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(atomic_load(&disk.syncs), 0);		/* write-back: no sync */
	atomic_store(&disk.writethrough, true);
	chain(VIRTIO_BLK_T_OUT, 16, false, 1, (uint64_t)DATA, 4096u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(atomic_load(&disk.syncs), 1);
	/* Reads never sync; the write landed. */
	memset(ram + DATA, 0, 4096);
	chain(VIRTIO_BLK_T_IN, 16, true, 1, (uint64_t)DATA, 4096u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 4097);
	ck_assert_uint_eq(atomic_load(&disk.syncs), 1);
	ck_assert_uint_eq(ram[DATA], 0x77);
	ck_assert_uint_eq(ram[DATA + 4095], 0x77);
}
END_TEST

START_TEST(beyond_the_end_is_ioerr_and_writes_only_status)
{
	uint64_t last = DISK / 512 - 1;

	chain(VIRTIO_BLK_T_IN, last, true, 1, (uint64_t)DATA, 1024u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	chain(VIRTIO_BLK_T_IN, UINT64_MAX - 1, true, 1, (uint64_t)DATA, 1024u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	chain(VIRTIO_BLK_T_IN, 0, true, 1, (uint64_t)DATA, 100u);	/* partial sector */
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(stray(0, 0), 0);
	chain(VIRTIO_BLK_T_IN, last, true, 1, (uint64_t)DATA, 512u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 513);
}
END_TEST

START_TEST(malformed_chains)
{
	/* No header: the status byte alone. */
	memset(&c, 0, sizeof(c));
	ram[STATUS] = 0xee;
	seg(STATUS, 1, true);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	/* A short header. */
	memset(&c, 0, sizeof(c));
	seg(HDR, 8, false);
	seg(STATUS, 1, true);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	/* No status byte: nothing at all is written. */
	memset(&c, 0, sizeof(c));
	memset(touched, 0, RAM);
	hdr(VIRTIO_BLK_T_IN, 0);
	seg(HDR, 16, false);
	seg(DATA, 512, false);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 0);
	ck_assert_uint_eq(ram[STATUS], 0xee);
	/* Data in the wrong direction, both ways. */
	chain(VIRTIO_BLK_T_IN, 0, false, 1, (uint64_t)DATA, 512u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	chain(VIRTIO_BLK_T_OUT, 0, true, 1, (uint64_t)DATA, 512u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	/* A buffer outside RAM. */
	chain(VIRTIO_BLK_T_IN, 0, true, 1, (uint64_t)RAM + 4096, 512u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	/* An unknown type. */
	chain(77, 0, true, 0);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(stray(0, 0), 0);
}
END_TEST

START_TEST(get_id_and_flush)
{
	chain(VIRTIO_BLK_T_GET_ID, 0, true, 1, (uint64_t)DATA, 20u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 21);
	ck_assert_str_eq((char *)ram + DATA, "serial-1");
	ck_assert_uint_eq(ram[DATA + 19], 0);
	chain(VIRTIO_BLK_T_FLUSH, 0, true, 0);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(atomic_load(&disk.flushes), 1);
}
END_TEST

static void zero_seg(uint64_t gpa, uint64_t sector, uint32_t n, uint32_t flags)
{
	memcpy(ram + gpa, &sector, 8);
	memcpy(ram + gpa + 8, &n, 4);
	memcpy(ram + gpa + 12, &flags, 4);
}

START_TEST(discard_and_write_zeroes)
{
	uint8_t b[4096];

	zero_seg(DATA, 8, 8, 0);
	zero_seg(DATA + 16, 64, 8, 1);		/* unmap allowed */
	chain(VIRTIO_BLK_T_WRITE_ZEROES, 0, false, 1, (uint64_t)DATA, 32u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	zero_seg(DATA, 2048, 8, 0);
	chain(VIRTIO_BLK_T_DISCARD, 0, false, 1, (uint64_t)DATA, 16u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	for (uint64_t s = 8; s <= 2048; s += s == 8 ? 56 : 1984) {
		ck_assert_int_eq(pread(disk.fd, b, 4096, s * 512), 4096);
		for (unsigned i = 0; i < 4096; i++)
			ck_assert_uint_eq(b[i], 0);
	}
	ck_assert_int_eq(pread(disk.fd, b, 512, 7 * 512), 512);
	ck_assert_uint_eq(b[511], disk_byte(8 * 512 - 1));
	ck_assert_int_eq(pread(disk.fd, b, 512, 16 * 512), 512);
	ck_assert_uint_eq(b[0], disk_byte(16 * 512));
	/* A range past the end: IOERR and nothing changed (checked before any). */
	zero_seg(DATA, 100, 8, 0);
	zero_seg(DATA + 16, DISK / 512 - 4, 8, 0);
	chain(VIRTIO_BLK_T_WRITE_ZEROES, 0, false, 1, (uint64_t)DATA, 32u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(pread(disk.fd, b, 512, 100 * 512), 512);
	ck_assert_uint_eq(b[0], disk_byte(100 * 512));
	/* Unmap on a discard is not a flag discard has: UNSUPP. */
	zero_seg(DATA, 100, 8, 1);
	chain(VIRTIO_BLK_T_DISCARD, 0, false, 1, (uint64_t)DATA, 16u);
	blk_request(&bq, &vq, &c);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(read_only_disk_refuses_writes)
{
	uint8_t b[512];

	teardown();
	open_disk(true, NULL);
	memset(ram + DATA, 0x5a, 512);
	chain(VIRTIO_BLK_T_OUT, 0, false, 1, (uint64_t)DATA, 512u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	zero_seg(DATA, 0, 8, 0);
	chain(VIRTIO_BLK_T_DISCARD, 0, false, 1, (uint64_t)DATA, 16u);
	blk_request(&bq, &vq, &c);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(pread(disk.fd, b, 512, 0), 512);
	ck_assert_uint_eq(b[0], disk_byte(0));
	chain(VIRTIO_BLK_T_IN, 0, true, 1, (uint64_t)DATA, 512u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 513);
}
END_TEST

START_TEST(injected_io_error)
{
	teardown();
	setenv("VMM_BLK_FAULTS", "eio=100", 1);
	open_disk(false, NULL);
	chain(VIRTIO_BLK_T_IN, 96, true, 1, (uint64_t)DATA, 2048u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 2049);
	chain(VIRTIO_BLK_T_IN, 96, true, 1, (uint64_t)DATA, 4096u);
	ck_assert_uint_eq(blk_request(&bq, &vq, &c), 1);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	chain(VIRTIO_BLK_T_OUT, 200, false, 1, (uint64_t)DATA, 512u);
	blk_request(&bq, &vq, &c);
	ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(atomic_load(&disk.ioerrs), 2);
	unsetenv("VMM_BLK_FAULTS");
}
END_TEST

START_TEST(bad_images_are_refused)
{
	struct blk_disk d;
	int fd;

	ck_assert_int_eq(blk_disk_open(&d, "/nonexistent/disk.img", false, false, NULL), -1);
	ck_assert_int_eq(blk_disk_open(&d, "/dev/null", true, false, NULL), -1);
	fd = open(path, O_WRONLY);
	ck_assert_int_eq(ftruncate(fd, DISK + 100), 0);
	close(fd);
	ck_assert_int_eq(blk_disk_open(&d, path, false, false, NULL), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("requests");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, read_lands_in_its_segments);
	tcase_add_test(tc, large_write_then_read_in_bounce_chunks);
	tcase_add_test(tc, write_through_syncs_every_write_write_back_none);
	tcase_add_test(tc, beyond_the_end_is_ioerr_and_writes_only_status);
	tcase_add_test(tc, malformed_chains);
	tcase_add_test(tc, get_id_and_flush);
	tcase_add_test(tc, discard_and_write_zeroes);
	tcase_add_test(tc, read_only_disk_refuses_writes);
	tcase_add_test(tc, injected_io_error);
	tcase_add_test(tc, bad_images_are_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
