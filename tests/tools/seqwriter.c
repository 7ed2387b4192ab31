/*
 * seqwriter FILE STATUSFILE [RECORD_SIZE]
 *
 * The workload of the integration tests and the demo: appends numbered,
 * checksummed records to FILE, one write() and one fsync() per record, until
 * SIGTERM or SIGINT.  After each fsync it publishes the last fsynced sequence
 * number in STATUSFILE (a temporary file renamed over it, so a reader never
 * sees half a number).  STATUSFILE must live outside the volume under test:
 * a test reads it before taking a copy and then requires the copy to hold at
 * least that many records, which is what makes the test able to fail.
 *
 * Record layout, all integers little endian (RECORD_SIZE bytes in all,
 * default 512, which divides the page size so a record never straddles a
 * page):
 *
 *     u32 magic 0x51455652 ("RVEQ")   u64 seq (from 1)   u32 len
 *     len bytes of payload (a function of seq)   u32 crc32 of all before it
 *
 * seqcheck(1) in this folder verifies a file of these records.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

#define SEQ_MAGIC      0x51455652u
#define SEQ_HEADER     16u   /* magic + seq + len */
#define SEQ_OVERHEAD   20u   /* header + crc */
#define RECORD_DEFAULT 512u
#define RECORD_MAX     (1u << 20)
/* Publish after every record: the status is what the tests hold copies to,
 * so the tighter it follows the fsyncs, the more the check can catch. */
#define STATUS_EVERY   1u

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint32_t crc_table[256];

static void crc32_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_buf(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void fill_record(unsigned char *rec, uint32_t size, uint64_t seq)
{
	uint32_t len = size - SEQ_OVERHEAD;
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;

	put_le(rec, SEQ_MAGIC, 4);
	put_le(rec + 4, seq, 8);
	put_le(rec + 12, len, 4);
	for (uint32_t i = 0; i < len; i++) {
		/* xorshift: payload differs per record, so a record written
		 * over another shows up as a bad crc, not as a valid copy. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rec[SEQ_HEADER + i] = (unsigned char)x;
	}
	put_le(rec + SEQ_HEADER + len, crc32_buf(rec, SEQ_HEADER + len), 4);
}

static int publish(const char *status, uint64_t seq)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)seq);

	return file_write_atomic(status, text, (size_t)n, 0644, false);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t stopsigs;
	unsigned char *rec = NULL;
	uint32_t size = RECORD_DEFAULT;
	uint64_t seq = 0;
	int fd = -1, rc, ret = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: seqwriter FILE STATUSFILE [RECORD_SIZE]\n");
		return 2;
	}
	if (argc == 4 && (parse_u32(argv[3], &size) < 0 || size <= SEQ_OVERHEAD ||
			  size > RECORD_MAX)) {
		fprintf(stderr, "seqwriter: invalid record size '%s': give %u..%u bytes\n",
			argv[3], SEQ_OVERHEAD + 1, RECORD_MAX);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		perror("seqwriter: sigaction");
		return 1;
	}

	crc32_init();
	rec = malloc(size);
	if (!rec) {
		fprintf(stderr, "seqwriter: out of memory\n");
		goto out;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "seqwriter: cannot open '%s': %s\n", argv[1], strerror(errno));
		goto out;
	}
	rc = publish(argv[2], 0);
	if (rc < 0) {
		fprintf(stderr, "seqwriter: cannot write status '%s': %s\n", argv[2],
			strerror(-rc));
		goto out;
	}

	while (!stop_requested) {
		ssize_t n;

		fill_record(rec, size, seq + 1);
		/* The stop signals wait until the record is whole and durable,
		 * so the live file never ends in a torn record of ours. */
		sigprocmask(SIG_BLOCK, &stopsigs, NULL);
		do
			n = write(fd, rec, size);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)size) {
			fprintf(stderr, "seqwriter: write of record %llu to '%s': %s\n",
				(unsigned long long)(seq + 1), argv[1],
				n < 0 ? strerror(errno) : "short write");
			goto out;
		}
		while (fsync(fd) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "seqwriter: fsync of '%s': %s\n", argv[1],
					strerror(errno));
				goto out;
			}
		}
		seq++;
		sigprocmask(SIG_UNBLOCK, &stopsigs, NULL);
		if (seq % STATUS_EVERY == 0) {
			rc = publish(argv[2], seq);
			if (rc < 0) {
				fprintf(stderr, "seqwriter: cannot write status '%s': %s\n",
					argv[2], strerror(-rc));
				goto out;
			}
		}
	}
	rc = publish(argv[2], seq);
	if (rc < 0) {
		fprintf(stderr, "seqwriter: cannot write status '%s': %s\n", argv[2],
			strerror(-rc));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(rec);
	return ret;
}
