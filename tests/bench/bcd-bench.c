/*
 * tests/bench/bcd-bench.c — what a large Backup Components Document costs.
 *
 * Builds through the API a document of COMPONENTS components holding FILES
 * file entries in all (partial files: the per-file entries a writer adds),
 * saves it to DIR/bcd.xml, then execs itself again so that a fresh process
 * times load (parse, schema validation, reading) and save of that file, in
 * phases, and reports its own peak RSS.  Built and run by tests/bench/bcd.sh.  A benchmark: it fails on errors, and says
 * whether the targets were met, but exits 0 either way.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "vss.h"
#include "vss/bcd.h"
#include "vss-private.h"
#include "schema.h"
#include "util/file.h"
#include "util/banned.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bcd-bench: %s: %s (%s)\n", what, vss_error_last()->message,
		vss_strerror(rc));
	exit(1);
}

int main(int argc, char **argv)
{
	unsigned long ncomp = 1000, nfiles = 100000;
	const char *dir;
	char path[4096], name[64], file[64];
	struct vss_guid set, inst, cls;
	struct vss_bcd *bcd, *loaded = NULL;
	struct vss_bcd_writer *w = NULL;
	char *text = NULL, *out = NULL;
	size_t len = 0, out_len = 0;
	double t0, t_read, t_parse, t_validate, t_load, t_save, t_write;
	xmlDocPtr doc = NULL;
	bool measure_only;
	char *end;
	int rc;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: bcd-bench DIR [COMPONENTS [FILES]]\n");
		return 2;
	}
	dir = argv[1];
	measure_only = argc == 4 && strcmp(argv[2], "--measure") == 0;
	if (measure_only)
		nfiles = strtoul(argv[3], &end, 10), ncomp = strtoul(end + 1, NULL, 10);
	else if (argc > 2)
		ncomp = strtoul(argv[2], NULL, 10);
	if (argc > 3 && !measure_only)
		nfiles = strtoul(argv[3], NULL, 10);
	if (ncomp == 0 || nfiles < ncomp) {
		fprintf(stderr, "bcd-bench: need 0 < COMPONENTS <= FILES\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/bcd.xml", dir);

	if (measure_only)
		goto measure;
	/* ---- build and write (not timed against the target) ---- */
	vss_guid_generate(&set);
	bcd = vss_bcd_new(&set);
	if (!bcd)
		die("new", -ENOMEM);
	rc = vss_bcd_set_backup_state(bcd, true, false, VSS_BT_INCREMENTAL, true);
	for (unsigned long c = 0; c < ncomp && rc == 0; c++) {
		struct vss_bcd_component *comp;
		unsigned long first = c * nfiles / ncomp, last = (c + 1) * nfiles / ncomp;

		/* Ten writers, a hundred components each, as a big server has. */
		if (c % (ncomp / 10 ? ncomp / 10 : 1) == 0) {
			vss_guid_generate(&inst);
			vss_guid_generate(&cls);
			rc = vss_bcd_add_writer(bcd, &inst, &cls, "bench writer", 0x371, &w);
			if (rc < 0)
				die("add writer", rc);
		}
		snprintf(name, sizeof(name), "database%05lu", c);
		rc = vss_bcd_writer_add_component(w, VSS_CT_FILEGROUP, "server\\instance", name, &comp);
		if (rc == 0)
			rc = vss_bcd_component_set_backup_stamp(comp, "CAAAAMQv3+t4udUB");
		for (unsigned long f = first; f < last && rc == 0; f++) {
			snprintf(file, sizeof(file), "file%07lu.dat", f);
			rc = vss_bcd_component_add_partial_file(comp, "/srv/data/databases/tables",
								file, "0:4096,1048576:65536", NULL);
		}
	}
	if (rc < 0)
		die("build", rc);
	rc = vss_bcd_save_file(bcd, path);
	if (rc < 0)
		die("save file", rc);
	vss_bcd_unref(bcd);
	printf("built:      peak RSS %.1f MiB while building and saving\n",
	       (double)peak_rss_kib() / 1024);
	fflush(stdout);
	{
		char arg[64];

		snprintf(arg, sizeof(arg), "%lu/%lu", nfiles, ncomp);
		execl("/proc/self/exe", argv[0], dir, "--measure", arg, (char *)NULL);
		perror("bcd-bench: exec");
		return 1;
	}
measure:

	/* ---- the measured part: load + validate + save of that file ---- */
	t0 = now();
	rc = vss_bcd_load_file(path, &loaded);
	if (rc < 0)
		die("load", rc);
	rc = vss_bcd_save(loaded, &out, &out_len);
	if (rc < 0)
		die("save", rc);
	t_load = now() - t0;
	{
		long rss = peak_rss_kib();

		/* ---- where the time goes: each phase alone ---- */
		t0 = now();
		if (file_read_all(path, &text, &len) < 0)
			die("read", -EIO);
		t_read = now() - t0;
		t0 = now();
		rc = vss__xml_parse(text, len, path, &doc);
		if (rc < 0)
			die("parse", rc);
		t_parse = now() - t0;
		t0 = now();
		rc = vss__schema_validate(doc, "bcd", path);
		if (rc < 0)
			die("validate", rc);
		t_validate = now() - t0;
		xmlFreeDoc(doc);
		t0 = now();
		free(out);
		rc = vss_bcd_save(loaded, &out, &out_len);
		if (rc < 0)
			die("save", rc);
		t_save = now() - t0;
		t0 = now();
		rc = file_write_atomic(path, out, out_len, 0600, false);
		if (rc < 0)
			die("write", rc);
		t_write = now() - t0;

		printf("document:   %lu components, %lu partial files, %zu bytes (%.1f MiB)\n", ncomp,
		       nfiles, len, (double)len / (1 << 20));
		printf("load+validate+save: %.3f s   (target <= 1 s: %s)\n", t_load,
		       t_load <= 1.0 ? "met" : "MISSED");
		printf("peak RSS:   %.1f MiB of the process that loads and saves "
		       "(target <= 200 MB: %s)\n",
		       (double)rss / 1024, (double)rss * 1024 <= 200e6 ? "met" : "MISSED");
		printf("phases:     read %.3f s, parse %.3f s, RELAX NG validation %.3f s, "
		       "reading into the model %.3f s (the rest of load), save %.3f s "
		       "(+ atomic write %.3f s)\n",
		       t_read, t_parse, t_validate, t_load - t_read - t_parse - t_validate - t_save,
		       t_save, t_write);
	}
	free(out);
	free(text);
	vss_bcd_unref(loaded);
	return 0;
}
