/*
 * seqcheck FILE [MIN_SEQ]
 *
 * Verifies a file written by seqwriter (see seqwriter.c for the layout): the
 * records must run from seq 1 with no gap, each with the right magic and
 * crc, and the file must end exactly after a whole record (no torn or
 * partial tail).  Prints the number of records on stdout.  With MIN_SEQ it
 * also fails when there are fewer records than that.
 *
 * Exit status: 0 good, 1 bad (the reason on stderr), 2 usage or I/O error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"
#include "util/banned.h"

#define SEQ_MAGIC    0x51455652u
#define SEQ_HEADER   16u
#define SEQ_OVERHEAD 20u
#define RECORD_MAX   (1u << 20)

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

static uint64_t get_le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int main(int argc, char **argv)
{
	unsigned char *rec = NULL;
	uint64_t min_seq = 0, seq = 0, offset = 0;
	FILE *f = NULL;
	int ret = 2;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: seqcheck FILE [MIN_SEQ]\n");
		return 2;
	}
	if (argc == 3 && parse_u64(argv[2], &min_seq) < 0) {
		fprintf(stderr, "seqcheck: invalid minimum '%s': give a record count\n",
			argv[2]);
		return 2;
	}

	crc32_init();
	rec = malloc(RECORD_MAX + SEQ_OVERHEAD);
	if (!rec) {
		fprintf(stderr, "seqcheck: out of memory\n");
		goto out;
	}
	f = fopen(argv[1], "rbe");
	if (!f) {
		fprintf(stderr, "seqcheck: cannot open '%s': %s\n", argv[1], strerror(errno));
		goto out;
	}

	ret = 1;
	for (;;) {
		size_t got = fread(rec, 1, SEQ_HEADER, f);
		uint64_t rseq;
		uint32_t len, crc;

		if (got == 0)
			break;
		if (got < SEQ_HEADER) {
			fprintf(stderr, "seqcheck: %s: torn tail of %zu bytes at offset %llu "
				"after record %llu\n", argv[1], got,
				(unsigned long long)offset, (unsigned long long)seq);
			goto out;
		}
		if (get_le(rec, 4) != SEQ_MAGIC) {
			fprintf(stderr, "seqcheck: %s: bad magic at offset %llu after record %llu\n",
				argv[1], (unsigned long long)offset, (unsigned long long)seq);
			goto out;
		}
		rseq = get_le(rec + 4, 8);
		len = (uint32_t)get_le(rec + 12, 4);
		if (len > RECORD_MAX - SEQ_OVERHEAD) {
			fprintf(stderr, "seqcheck: %s: bad length %u at offset %llu (record %llu)\n",
				argv[1], len, (unsigned long long)offset,
				(unsigned long long)rseq);
			goto out;
		}
		got = fread(rec + SEQ_HEADER, 1, (size_t)len + 4, f);
		if (got < (size_t)len + 4) {
			fprintf(stderr, "seqcheck: %s: torn tail of %zu bytes at offset %llu "
				"after record %llu\n", argv[1], SEQ_HEADER + got,
				(unsigned long long)offset, (unsigned long long)seq);
			goto out;
		}
		crc = (uint32_t)get_le(rec + SEQ_HEADER + len, 4);
		if (crc32_buf(rec, SEQ_HEADER + len) != crc) {
			fprintf(stderr, "seqcheck: %s: bad crc at offset %llu (record %llu)\n",
				argv[1], (unsigned long long)offset, (unsigned long long)rseq);
			goto out;
		}
		if (rseq != seq + 1) {
			fprintf(stderr, "seqcheck: %s: gap at offset %llu: expected record %llu, "
				"found %llu\n", argv[1], (unsigned long long)offset,
				(unsigned long long)(seq + 1), (unsigned long long)rseq);
			goto out;
		}
		seq = rseq;
		offset += SEQ_OVERHEAD + len;
	}
	if (ferror(f)) {
		fprintf(stderr, "seqcheck: read error on '%s' at offset %llu\n", argv[1],
			(unsigned long long)offset);
		ret = 2;
		goto out;
	}
	printf("%llu\n", (unsigned long long)seq);
	if (seq < min_seq) {
		fprintf(stderr, "seqcheck: %s: %llu records, fewer than the %llu required\n",
			argv[1], (unsigned long long)seq, (unsigned long long)min_seq);
		goto out;
	}
	ret = 0;
out:
	if (f)
		fclose(f);
	free(rec);
	if (fflush(stdout) != 0 && ret == 0)
		ret = 2;
	return ret;
}
