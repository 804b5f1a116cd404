// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk requests against a raw image: see blk.h.
 *
 * A chain is: the 16-byte header (type, reserved, sector) at the start of
 * the device-readable part; for OUT, DISCARD and WRITE_ZEROES the payload
 * after it; for IN and GET_ID the device-writable data; last, the status
 * byte, the last device-writable byte. Lengths are checked before any
 * byte is written: data that is not a whole number of sectors, a range
 * past the end, data in the wrong direction or a write to a read-only disk
 * get IOERR (an unknown type UNSUPP) and only the status byte is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/gmem.h"
#include "vmm/util.h"
#include "vmm/virtio/blk.h"

#define HDR_SIZE	BLK_HDR_SIZE
#define SEG_SIZE	16	/* discard / write-zeroes segment: le64 sector, le32 num, le32 flags */
#define WZ_F_UNMAP	1

int blk_disk_open(struct blk_disk *d, const char *path, bool ro, bool direct,
		  const char *serial)
{
	struct stat st;
	const char *faults = getenv("VMM_BLK_FAULTS");
	uint64_t bytes;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->ro = ro;
	d->direct = direct;
	d->fault_sector = UINT64_MAX;
	d->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (d->fd < 0) {
		int e = errno;

		if (!ro && (e == EACCES || e == EROFS || e == EPERM) &&
		    access(path, R_OK) == 0)
			vmm_err("--disk %s: cannot open it read-write: %s (add ,ro for a read-only "
				"disk)", path, strerror(e));
		else if (direct && e == EINVAL)
			vmm_err("--disk %s: cache=none: the file system does not support O_DIRECT",
				path);
		else
			vmm_err("--disk %s: %s", path, strerror(e));
		return -1;
	}
	if (fstat(d->fd, &st)) {
		vmm_err("--disk %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		d->is_bdev = true;
		if (ioctl(d->fd, BLKGETSIZE64, &bytes)) {
			vmm_err("--disk %s: BLKGETSIZE64: %s", path, strerror(errno));
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		vmm_err("--disk %s: not a regular file or a block device", path);
		goto fail;
	}
	if (!bytes || bytes % BLK_SECTOR) {
		vmm_err("--disk %s: its size (%llu bytes) is not a non-zero multiple of 512",
			path, (unsigned long long)bytes);
		goto fail;
	}
	d->sectors = bytes / BLK_SECTOR;
	if (serial)
		memcpy(d->serial, serial, strnlen(serial, sizeof(d->serial)));
	if (faults && !strncmp(faults, "eio=", 4)) {
		d->fault_sector = strtoull(faults + 4, NULL, 0);
		vmm_info("--disk %s: fault injection armed (VMM_BLK_FAULTS=%s)", path, faults);
	}
	return 0;
fail:
	close(d->fd);
	d->fd = -1;
	return -1;
}

int blk_queue_init(struct blk_queue *bq, struct blk_disk *d)
{
	bq->disk = d;
	bq->bounce = NULL;
	return posix_memalign((void **)&bq->bounce, 4096, BLK_BOUNCE) ? -1 : 0;
}

void blk_queue_free(struct blk_queue *bq)
{
	free(bq->bounce);
	bq->bounce = NULL;
}

/*
 * Copy between buf and the chain's readable (write = false) or writable
 * part from byte `off`: into the guest when to_guest. False if not RAM.
 */
bool blk_chain_copy(struct virtq *vq, const struct virtq_chain *c, bool write,
		    uint64_t off, void *buf, uint64_t len, bool to_guest)
{
	uint8_t *p = buf;

	for (unsigned i = 0; i < c->nr && len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t n;

		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off < len ? s->len - off : len;
		if (!(to_guest ? gmem_write(vq->mem, s->gpa + off, p, n) :
		      gmem_read(vq->mem, s->gpa + off, p, n)))
			return false;
		p += n;
		len -= n;
		off = 0;
	}
	return !len;
}

void blk_log_once(atomic_bool *flag, struct blk_disk *d, const char *what, int err)
{
	if (!atomic_exchange(flag, true))
		vmm_err("virtio-blk %s: %s%s%s (reported to the guest; logged once)", d->path,
			what, err ? ": " : "", err ? strerror(err) : "");
}

static bool faulty(const struct blk_disk *d, uint64_t sector, uint64_t n)
{
	return sector + n > d->fault_sector;
}

/* pread/pwrite all of it; errno on failure (a short transfer is EIO). */
static bool full_io(struct blk_disk *d, bool wr, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = wr ? pwrite(d->fd, buf, len, (off_t)off) :
				 pread(d->fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return false;
		}
		buf = (uint8_t *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return true;
}

/* IN or OUT of `len` bytes at `sector`, in bounce-sized chunks. */
static uint8_t do_rw(struct blk_queue *bq, struct virtq *vq, const struct virtq_chain *c,
		     bool wr, uint64_t sector, uint64_t len)
{
	struct blk_disk *d = bq->disk;
	uint64_t done = 0;

	if (faulty(d, sector, len / BLK_SECTOR)) {
		blk_log_once(&d->err_logged, d, wr ? "write failed" : "read failed", EIO);
		return VIRTIO_BLK_S_IOERR;
	}
	while (done < len) {
		uint64_t n = len - done < BLK_BOUNCE ? len - done : BLK_BOUNCE;
		uint64_t off = sector * BLK_SECTOR + done;

		if (wr) {
			if (!blk_chain_copy(vq, c, false, HDR_SIZE + done, bq->bounce, n, false))
				return VIRTIO_BLK_S_IOERR;
			if (!full_io(d, true, bq->bounce, n, off))
				goto ioerr;
		} else {
			if (!full_io(d, false, bq->bounce, n, off))
				goto ioerr;
			if (!blk_chain_copy(vq, c, true, done, bq->bounce, n, true))
				return VIRTIO_BLK_S_IOERR;
		}
		done += n;
	}
	/* Write-through (no FLUSH negotiated, or the driver cleared writeback). */
	if (wr && atomic_load(&d->writethrough)) {
		if (fdatasync(d->fd))
			goto ioerr;
		atomic_fetch_add(&d->syncs, 1);
	}
	atomic_fetch_add(wr ? &d->writes : &d->reads, 1);
	atomic_fetch_add(wr ? &d->bytes_written : &d->bytes_read, len);
	return VIRTIO_BLK_S_OK;
ioerr:
	blk_log_once(&d->err_logged, d, wr ? "write failed" : "read failed", errno);
	return VIRTIO_BLK_S_IOERR;
}

/* Write zeroes with pwrite, for file systems without FALLOC_FL_ZERO_RANGE (tmpfs). */
static bool write_zeroes(struct blk_queue *bq, uint64_t off, uint64_t len)
{
	memset(bq->bounce, 0, BLK_BOUNCE);
	for (uint64_t done = 0; done < len; done += BLK_BOUNCE)
		if (!full_io(bq->disk, true, bq->bounce,
			     len - done < BLK_BOUNCE ? len - done : BLK_BOUNCE, off + done))
			return false;
	return true;
}

/* One discard or write-zeroes range, already checked to be inside the disk. */
static bool zero_range(struct blk_queue *bq, bool discard, bool unmap, uint64_t sector,
		       uint64_t n)
{
	struct blk_disk *d = bq->disk;
	uint64_t range[2] = { sector * BLK_SECTOR, n * BLK_SECTOR };

	if (faulty(d, sector, n)) {
		errno = EIO;
		return false;
	}
	if (d->is_bdev)
		return !ioctl(d->fd, discard ? BLKDISCARD : BLKZEROOUT, range);
	if (discard || unmap) {
		if (!fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)range[0], (off_t)range[1]))
			return true;
		if (discard || errno != EOPNOTSUPP)
			return false;
	}
	if (!fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)range[0],
		       (off_t)range[1]))
		return true;
	return errno == EOPNOTSUPP && write_zeroes(bq, range[0], range[1]);
}

static uint8_t do_zero(struct blk_queue *bq, struct virtq *vq, const struct virtq_chain *c,
		       bool discard, uint64_t payload)
{
	struct blk_disk *d = bq->disk;
	uint8_t seg[BLK_MAX_DISCARD_SEG][SEG_SIZE];
	unsigned nr = payload / SEG_SIZE;

	if (!nr || payload % SEG_SIZE || nr > BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	if (!blk_chain_copy(vq, c, false, HDR_SIZE, seg, payload, false))
		return VIRTIO_BLK_S_IOERR;
	/* Check every range before changing any. */
	for (unsigned i = 0; i < nr; i++) {
		uint64_t s;
		uint32_t n, fl;

		memcpy(&s, seg[i], 8);
		memcpy(&n, seg[i] + 8, 4);
		memcpy(&fl, seg[i] + 12, 4);
		if ((fl & ~(uint32_t)WZ_F_UNMAP) || (discard && fl))
			return VIRTIO_BLK_S_UNSUPP;
		if (s > d->sectors || n > d->sectors - s)
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned i = 0; i < nr; i++) {
		uint64_t s;
		uint32_t n, fl;

		memcpy(&s, seg[i], 8);
		memcpy(&n, seg[i] + 8, 4);
		memcpy(&fl, seg[i] + 12, 4);
		if (n && !zero_range(bq, discard, fl & WZ_F_UNMAP, s, n)) {
			blk_log_once(&d->err_logged, d, discard ? "discard failed" :
				 "write-zeroes failed", errno);
			return VIRTIO_BLK_S_IOERR;
		}
	}
	atomic_fetch_add(&d->discards, 1);
	return VIRTIO_BLK_S_OK;
}

bool blk_rw_valid(const struct blk_disk *d, const struct virtq_chain *c, bool wr,
		  uint64_t sector, uint64_t *len)
{
	uint64_t out_len = c->read_len - HDR_SIZE, in_len = c->write_len - 1;

	*len = wr ? out_len : in_len;
	/* Wrong direction, partial sector, read-only, past the end. */
	return !(wr ? in_len : out_len) && !(*len % BLK_SECTOR) && !(wr && d->ro) &&
	       sector <= d->sectors && *len / BLK_SECTOR <= d->sectors - sector;
}

uint32_t blk_request(struct blk_queue *bq, struct virtq *vq, const struct virtq_chain *c)
{
	struct blk_disk *d = bq->disk;
	uint8_t hdr[HDR_SIZE], status = VIRTIO_BLK_S_IOERR;
	uint32_t type;
	uint64_t sector, in_len, out_len, used = 1;

	if (c->read_len < HDR_SIZE || c->write_len < 1 ||
	    !blk_chain_copy(vq, c, false, 0, hdr, HDR_SIZE, false)) {
		blk_log_once(&d->malformed_logged, d, c->write_len < 1 ?
			 "a request without a status byte; completed without one" :
			 "a request without its 16-byte header; completed with IOERR", 0);
		if (c->write_len < 1)
			return 0;
		goto out;
	}
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	out_len = c->read_len - HDR_SIZE;	/* payload the driver sent */
	in_len = c->write_len - 1;		/* room for data before the status */
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool wr = type == VIRTIO_BLK_T_OUT;
		uint64_t len;

		if (!blk_rw_valid(d, c, wr, sector, &len))
			break;
		status = do_rw(bq, vq, c, wr, sector, len);
		if (!wr && status == VIRTIO_BLK_S_OK)
			used += len;
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		if (!d->ro && fdatasync(d->fd)) {
			blk_log_once(&d->err_logged, d, "flush (fdatasync) failed", errno);
			break;
		}
		atomic_fetch_add(&d->flushes, 1);
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = in_len < BLK_ID_BYTES ? in_len : BLK_ID_BYTES;

		if (blk_chain_copy(vq, c, true, 0, d->serial, n, true)) {
			status = VIRTIO_BLK_S_OK;
			used += n;
		}
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (d->ro || in_len)
			break;
		status = do_zero(bq, vq, c, type == VIRTIO_BLK_T_DISCARD, out_len);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
out:
	if (status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(&d->ioerrs, 1);
	if (!blk_chain_copy(vq, c, true, c->write_len - 1, &status, 1, true))
		return 0;
	return (uint32_t)used;
}
