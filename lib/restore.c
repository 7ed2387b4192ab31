/*
 * File restore from a shadow copy (<vss/restore.h>): the walk, the
 * mapping of paths, the target's safety, the overwrite policies.  One
 * inode's content and metadata are restore-copy.c's.
 *
 * Safety rests on descriptors, never on names resolved twice: the restore
 * root is opened once, every directory below it is opened relative to its
 * parent without following symlinks (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), and every entry is created in its parent's
 * descriptor under a name with no '/'.  A symlink planted where the copy
 * has a directory is refused; one planted where the copy has a file is
 * replaced by rename(), which never follows it.
 *
 * Files are written unnamed (O_TMPFILE) and linked in when complete, or
 * under a ".vss-restore.*" name and renamed: no file under its final
 * name is ever half written.  There is no fsync per file; the target
 * filesystem is synced once at the end of each tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <vss/restore.h>
#include "vss-private.h"
#include "restore-private.h"
#include "util/banned.h"

#define PROGRESS_INTERVAL_NS 100000000ull
#define TEMP_TRIES 100

struct restore_map {
	char *src_rel;              /* in the copy, normalised ("" its root) */
	char *root;                 /* NULL: decided at run time (add_path) */
	char *target_rel;           /* under root, normalised */
};

/* The first target restored of a source inode with several links. */
struct hardlink {
	dev_t sdev;
	ino_t sino;
	dev_t tdev;
	ino_t tino;
	nlink_t left;               /* links of the source still to come */
	char *rel;                  /* under the root */
	struct hardlink *next;
};
#define LINK_BUCKETS 1024

struct vss_restore {
	int refcount;
	struct vss_context *ctx;
	struct vss_snapshot *snap;
	char *volume;               /* original volume root, normalised, no '/' */
	enum vss_restore_policy policy;
	unsigned int flags;
	char *target_dir;
	struct restore_map *maps;
	size_t nmaps;
	size_t capmaps;
	vss_restore_entry_fn entry_fn;
	void *entry_userdata;
	vss_restore_progress_fn progress_fn;
	void *progress_userdata;

	/* The copy's tree. */
	char *src_root;
	char *exposure;             /* our temporary mount point, or NULL */
	int src_fd;

	/* One run. */
	struct vss_restore_stats stats;
	uint64_t total_files;
	uint64_t total_bytes;
	uint64_t last_progress;
	struct vss__copy copy;
	struct hardlink *links[LINK_BUCKETS];
	struct hardlink *counted[LINK_BUCKETS];   /* inodes with several links counted */
	struct sbuf spath;          /* source of the current entry, absolute */
	struct sbuf tpath;          /* its target, absolute */
	struct sbuf trel;           /* the target under the root */
	int root_fd;
	dev_t no_tmpfile_dev;       /* a filesystem without O_TMPFILE */
	struct vss__meta_now fresh; /* a new file in the current target directory */
	bool no_tmpfile;
	uint64_t rnd;
};

static bool dry(const struct vss_restore *r)
{
	return r->flags & VSS_RESTORE_DRY_RUN;
}

/*
 * Without openat2 (kernels before 5.6, valgrind): one component at a time
 * with O_NOFOLLOW, which is the same for the normalised relative paths
 * used here; ".." and absolute paths are refused as RESOLVE_BENEATH would.
 */
static int open_beneath_slow(int dirfd, const char *path, int flags)
{
	const char *p = path;
	int cur = -1, fd, err;

	if (path[0] == '/')
		return errno = EXDEV, -1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char name[NAME_MAX + 1];
		bool last = !slash || !slash[1];
		struct stat st;

		if (n > NAME_MAX) {
			err = ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (n == 0)
			name[0] = '.', name[1] = '\0';
		if (strcmp(name, "..") == 0) {
			err = EXDEV;
			goto fail;
		}
		fd = openat(cur >= 0 ? cur : dirfd, name,
			    last ? flags | O_NOFOLLOW | O_CLOEXEC
				 : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
			/* O_DIRECTORY says ENOTDIR before O_NOFOLLOW's ELOOP. */
			if (err == ENOTDIR &&
			    fstatat(cur >= 0 ? cur : dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				err = ELOOP;
			goto fail;
		}
		if (cur >= 0)
			close(cur);
		cur = fd;
		if (last)
			return cur;
		p = slash + 1;
	}
fail:
	if (cur >= 0)
		close(cur);
	errno = err;
	return -1;
}

/* openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS). */
static int open_beneath(int dirfd, const char *path, int flags)
{
	static bool no_openat2;
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = -1;

	if (!no_openat2) {
		do
			fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		while (fd < 0 && errno == EAGAIN);
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
		no_openat2 = true;
	}
	return open_beneath_slow(dirfd, path, flags);
}

static int openat2_dir(int dirfd, const char *path, int flags)
{
	return open_beneath(dirfd, path, flags | O_DIRECTORY);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char type_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:  return 'f';
	case S_IFDIR:  return 'd';
	case S_IFLNK:  return 'l';
	case S_IFCHR:  return 'c';
	case S_IFBLK:  return 'b';
	case S_IFIFO:  return 'p';
	default:       return 's';
	}
}

/* ---- paths of the current entry ------------------------------------------ */

/* Append "/name" (no doubled '/'); returns the old length for path_pop(). */
static int path_push(struct sbuf *sb, const char *name, size_t *ret_old)
{
	*ret_old = sb->len;
	if (!name || !*name)
		return 0;
	if (sb->len > 0 && sb->data[sb->len - 1] != '/' && sbuf_addch(sb, '/') < 0)
		return -ENOMEM;
	if (sbuf_adds(sb, name) < 0) {
		sb->len = *ret_old;
		if (sb->data)
			sb->data[sb->len] = '\0';
		return -ENOMEM;
	}
	return 0;
}

static void path_pop(struct sbuf *sb, size_t len)
{
	sb->len = len;
	if (sb->data)
		sb->data[len] = '\0';
}

struct saved_paths {
	size_t s, t, r;
};

static int paths_push(struct vss_restore *r, const char *sname, const char *tname,
		      struct saved_paths *sv)
{
	if (path_push(&r->spath, sname, &sv->s) < 0)
		return vss__error(-ENOMEM, "out of memory");
	if (path_push(&r->tpath, tname, &sv->t) < 0 || path_push(&r->trel, tname, &sv->r) < 0) {
		path_pop(&r->spath, sv->s);
		path_pop(&r->tpath, sv->t);
		return vss__error(-ENOMEM, "out of memory");
	}
	return 0;
}

static void paths_pop(struct vss_restore *r, const struct saved_paths *sv)
{
	path_pop(&r->spath, sv->s);
	path_pop(&r->tpath, sv->t);
	path_pop(&r->trel, sv->r);
}

/* ---- reporting ------------------------------------------------------------------ */

static void progress(struct vss_restore *r, bool final)
{
	uint64_t now;

	if (!r->progress_fn)
		return;
	now = now_ns();
	if (!final && now - r->last_progress < PROGRESS_INTERVAL_NS)
		return;
	r->last_progress = now;
	r->progress_fn(&r->stats, r->total_files, r->total_bytes, r->progress_userdata);
}

static void report(struct vss_restore *r, char type, enum vss_restore_outcome outcome,
		   int error, const char *message, uint64_t bytes, bool cloned)
{
	struct vss_restore_entry e = {
		.target = sbuf_str(&r->tpath),
		.source = sbuf_str(&r->spath),
		.type = type,
		.outcome = outcome,
		.error = error,
		.message = message,
		.bytes = bytes,
		.cloned = cloned,
	};

	switch (outcome) {
	case VSS_RESTORE_RESTORED:
	case VSS_RESTORE_WOULD_RESTORE:
		r->stats.restored++;
		r->stats.bytes += bytes;
		if (cloned)
			r->stats.cloned_bytes += bytes;
		break;
	case VSS_RESTORE_SKIPPED:
		r->stats.skipped++;
		break;
	case VSS_RESTORE_REFUSED:
		r->stats.refused++;
		break;
	case VSS_RESTORE_FAILED:
		r->stats.failed++;
		break;
	}
	if (r->entry_fn)
		r->entry_fn(&e, r->entry_userdata);
	progress(r, false);
}

static void report_fmt(struct vss_restore *r, char type, enum vss_restore_outcome outcome,
		       int error, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report_fmt(struct vss_restore *r, char type, enum vss_restore_outcome outcome,
		       int error, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(r, type, outcome, error, msg, 0, false);
}

static void report_failed(struct vss_restore *r, char type, int err, const char *what)
{
	report_fmt(r, type, VSS_RESTORE_FAILED, err, "cannot %s: %s", what, strerror(-err));
}

static void report_planted(struct vss_restore *r, char type)
{
	report_fmt(r, type, VSS_RESTORE_REFUSED, -ELOOP,
		   "'%s' is a symbolic link in the target, which a restore never follows; "
		   "remove it to restore there", sbuf_str(&r->tpath));
}

static void report_exists(struct vss_restore *r, char type)
{
	report(r, type, VSS_RESTORE_SKIPPED, 0, "exists (restore-if-not-there)", 0, false);
}

static void report_dir_in_way(struct vss_restore *r, char type)
{
	report_fmt(r, type, VSS_RESTORE_FAILED, -EISDIR,
		   "'%s' is a directory where the copy has a %s; remove it to restore there",
		   sbuf_str(&r->tpath), type == 'l' ? "symbolic link" : "file");
}

/* ---- temporary names ------------------------------------------------------------- */

static void temp_name(struct vss_restore *r, char buf[64])
{
	/* xorshift: names only need to differ, O_EXCL and friends catch the rest. */
	r->rnd ^= r->rnd << 13;
	r->rnd ^= r->rnd >> 7;
	r->rnd ^= r->rnd << 17;
	snprintf(buf, 64, VSS__RESTORE_TEMP_PREFIX "%012llx",
		 (unsigned long long)(r->rnd & 0xffffffffffffull));
}

/*
 * A new regular file to fill, in ddir: unnamed (*tmp "") where the
 * filesystem can, else under a fresh temporary name in tmp.
 */
static int temp_file(struct vss_restore *r, int ddir, dev_t ddev, char tmp[64])
{
	int fd, i;

	tmp[0] = '\0';
	if (!(r->no_tmpfile && r->no_tmpfile_dev == ddev)) {
		fd = openat(ddir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
		r->no_tmpfile = true;
		r->no_tmpfile_dev = ddev;
	}
	for (i = 0; i < TEMP_TRIES; i++) {
		temp_name(r, tmp);
		fd = openat(ddir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Link the inode of fd into ddir under a fresh temporary name. */
static int link_temp(struct vss_restore *r, int fd, int ddir, char tmp[64])
{
	char proc[64];
	int i;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (i = 0; i < TEMP_TRIES; i++) {
		temp_name(r, tmp);
		if (linkat(fd, "", ddir, tmp, AT_EMPTY_PATH) == 0)
			return 0;
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not. */
		if (errno == ENOENT && linkat(AT_FDCWD, proc, ddir, tmp, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int link_fd(int fd, int ddir, const char *name)
{
	char proc[64];

	if (linkat(fd, "", ddir, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, ddir, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

/*
 * Put the finished inode (fd, unnamed when tmp is "", else named tmp)
 * under name in ddir, per the policy.  0 placed, 1 skipped (exists,
 * restore-if-not-there), -errno.  A temporary name never stays behind.
 */
static int place(struct vss_restore *r, int fd, int ddir, char tmp[64], const char *name)
{
	int rc;

	if (!tmp[0]) {
		rc = link_fd(fd, ddir, name);
		if (rc != -EEXIST)
			return rc;
		if (r->policy == VSS_RESTORE_IF_NOT_THERE)
			return 1;
		rc = link_temp(r, fd, ddir, tmp);
		if (rc < 0)
			return rc;
	}
	if (r->policy == VSS_RESTORE_IF_NOT_THERE)
		rc = renameat2(ddir, tmp, ddir, name, RENAME_NOREPLACE);
	else
		rc = renameat(ddir, tmp, ddir, name);
	if (rc == 0)
		return 0;
	rc = -errno;
	unlinkat(ddir, tmp, 0);
	if (rc == -EEXIST && r->policy == VSS_RESTORE_IF_NOT_THERE)
		return 1;
	return rc;
}

/* Whether name exists in ddir; its type in *ret_mode. */
static bool target_exists(int ddir, const char *name, mode_t *ret_mode)
{
	struct stat st;

	if (ddir < 0 || fstatat(ddir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	*ret_mode = st.st_mode;
	return true;
}

/*
 * What a dry run says for a non-directory, and the restore-if-not-there
 * check of a real one: 1 when decided (reported), 0 go on.
 */
static int precheck(struct vss_restore *r, char type, int ddir, const char *name,
		    uint64_t bytes)
{
	mode_t mode = 0;
	bool exists;

	if (!dry(r) && r->policy != VSS_RESTORE_IF_NOT_THERE)
		return 0;
	exists = target_exists(ddir, name, &mode);
	if (exists && r->policy == VSS_RESTORE_IF_NOT_THERE) {
		report_exists(r, type);
		return 1;
	}
	if (!dry(r))
		return 0;
	if (exists && S_ISDIR(mode))
		report_dir_in_way(r, type);
	else
		report(r, type, VSS_RESTORE_WOULD_RESTORE, 0, NULL, bytes, false);
	return 1;
}

/* ---- hard links --------------------------------------------------------------------- */

static size_t link_bucket(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h >> 32) % LINK_BUCKETS;
}

static struct hardlink **link_find_in(struct hardlink **table, const struct stat *st)
{
	struct hardlink **p = &table[link_bucket(st->st_dev, st->st_ino)];

	while (*p && !((*p)->sdev == st->st_dev && (*p)->sino == st->st_ino))
		p = &(*p)->next;
	return p;
}

static struct hardlink **link_find(struct vss_restore *r, const struct stat *st)
{
	return link_find_in(r->links, st);
}

static int link_add(struct vss_restore *r, const struct stat *st, dev_t tdev, ino_t tino)
{
	struct hardlink **p = link_find(r, st), *l;

	if (*p)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->rel = strdup(sbuf_str(&r->trel)))) {
		free(l);
		return vss__error(-ENOMEM, "out of memory");
	}
	l->sdev = st->st_dev;
	l->sino = st->st_ino;
	l->tdev = tdev;
	l->tino = tino;
	l->left = st->st_nlink - 1;
	*p = l;
	return 0;
}

static void link_drop(struct hardlink **p)
{
	struct hardlink *l = *p;

	*p = l->next;
	free(l->rel);
	free(l);
}

static void links_clear(struct vss_restore *r)
{
	for (size_t i = 0; i < LINK_BUCKETS; i++) {
		while (r->links[i])
			link_drop(&r->links[i]);
		while (r->counted[i])
			link_drop(&r->counted[i]);
	}
}

/*
 * Another name of an inode restored already: link to it.  1 when that
 * cannot be done (the first target is gone or changed): the caller then
 * copies the file instead.
 */
static int restore_hardlink(struct vss_restore *r, struct hardlink **p, int ddir,
			    const char *name)
{
	struct hardlink *l = *p;
	char tmp[64] = "";
	struct stat st;
	int fd = -1, rc;

	if (precheck(r, 'h', ddir, name, 0))
		goto done;
	/* The first target, checked to be the inode restored (not a
	 * replacement planted since), and linked by descriptor. */
	fd = open_beneath(r->root_fd, l->rel, O_PATH | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != l->tdev || st.st_ino != l->tino) {
		rc = 1;
		goto out;
	}
	if (fstatat(ddir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == l->tdev &&
	    st.st_ino == l->tino) {
		report(r, 'h', VSS_RESTORE_RESTORED, 0, NULL, 0, false);
		goto done;
	}
	rc = link_fd(fd, ddir, name);
	if (rc == -EEXIST && r->policy != VSS_RESTORE_IF_NOT_THERE) {
		rc = link_temp(r, fd, ddir, tmp);
		if (rc == 0)
			rc = place(r, fd, ddir, tmp, name);
	} else if (rc == -EEXIST) {
		rc = 1;
	}
	if (rc == 1)
		report_exists(r, 'h');
	else if (rc == -EISDIR || rc == -ENOTEMPTY)
		report_dir_in_way(r, 'h');
	else if (rc < 0)
		report_failed(r, 'h', rc, "link");
	else
		report(r, 'h', VSS_RESTORE_RESTORED, 0, NULL, 0, false);
done:
	rc = 0;
	if (--l->left == 0)
		link_drop(p);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- entries ------------------------------------------------------------------------- */

static int restore_entry(struct vss_restore *r, int sdir, const char *sname,
			 const struct stat *st, int ddir, const char *dname, dev_t ddev);

static int restore_file(struct vss_restore *r, int sdir, const char *sname,
			const struct stat *st, int ddir, const char *dname, dev_t ddev)
{
	const char *what = "open";
	char tmp[64] = "";
	struct stat tst;
	bool cloned = false;
	int sfd = -1, fd = -1, rc;

	if (st->st_nlink > 1) {
		struct hardlink **p = link_find(r, st);

		if (*p) {
			rc = restore_hardlink(r, p, ddir, dname);
			if (rc <= 0)
				return rc;
		}
	}
	if (precheck(r, 'f', ddir, dname, (uint64_t)st->st_size)) {
		if (dry(r) && st->st_nlink > 1)
			return link_add(r, st, 0, 0);
		return 0;
	}
	sfd = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) {
		rc = -errno;
		what = "read the copy's file";
		goto fail;
	}
	fd = temp_file(r, ddir, ddev, tmp);
	if (fd < 0) {
		rc = fd;
		what = "create a file";
		goto fail;
	}
	rc = vss__copy_content(&r->copy, sfd, st, fd, ddev, &cloned, &what);
	if (rc == 0)
		rc = vss__copy_meta(&r->copy, sfd, st, fd, tmp[0] ? NULL : &r->fresh, &what);
	if (rc < 0)
		goto fail;
	if (st->st_nlink > 1 && fstat(fd, &tst) < 0) {
		rc = -errno;
		what = "stat the new file";
		goto fail;
	}
	rc = place(r, fd, ddir, tmp, dname);
	tmp[0] = '\0';
	if (rc == 1) {
		report_exists(r, 'f');
		rc = 0;
		goto out;
	}
	what = "put the file in place";
	if (rc < 0)
		goto fail;
	report(r, 'f', VSS_RESTORE_RESTORED, 0, NULL, (uint64_t)st->st_size, cloned);
	if (st->st_nlink > 1)
		rc = link_add(r, st, tst.st_dev, tst.st_ino);
	goto out;
fail:
	if (rc == -ENOMEM) {
		vss__error(rc, "out of memory");
		goto out;
	}
	if (rc == -EISDIR || rc == -ENOTEMPTY)
		report_dir_in_way(r, 'f');
	else
		report_failed(r, 'f', rc, what);
	rc = 0;
out:
	if (tmp[0])
		unlinkat(ddir, tmp, 0);
	if (fd >= 0)
		close(fd);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

/* A node made under temporary name tmp, checked to be what was made. */
static int open_made(int ddir, const char *tmp, mode_t type, int *ret_fd)
{
	struct stat st;
	int fd = openat(ddir, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != type) {
		close(fd);
		return -EAGAIN;
	}
	*ret_fd = fd;
	return 0;
}

static int restore_symlink(struct vss_restore *r, int sdir, const char *sname,
			   const struct stat *st, int ddir, const char *dname)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	size_t size = (size_t)st->st_size + 2;
	const char *what = "read the copy's symbolic link";
	char tmp[64] = "", *target = NULL;
	ssize_t n;
	int fd = -1, rc, i;

	if (precheck(r, 'l', ddir, dname, 0))
		return 0;
	for (;;) {
		char *p = realloc(target, size);

		if (!p) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		target = p;
		n = readlinkat(sdir, sname, target, size);
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		if ((size_t)n < size)
			break;
		size *= 2;
	}
	target[n] = '\0';
	what = "create a symbolic link";
	for (i = 0, rc = -EEXIST; i < TEMP_TRIES && rc == -EEXIST; i++) {
		temp_name(r, tmp);
		rc = symlinkat(target, ddir, tmp) == 0 ? 0 : -errno;
	}
	if (rc < 0) {
		tmp[0] = '\0';
		goto fail;
	}
	rc = open_made(ddir, tmp, S_IFLNK, &fd);
	if (rc < 0)
		goto fail;
	what = "set the owner";
	if (fchownat(fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0) {
		rc = -errno;
		goto fail;
	}
	what = "set the timestamps";
	if (utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		goto fail;
	}
	what = "put the symbolic link in place";
	rc = place(r, -1, ddir, tmp, dname);
	tmp[0] = '\0';
	if (rc == 1)
		report_exists(r, 'l');
	else if (rc < 0)
		goto fail;
	else
		report(r, 'l', VSS_RESTORE_RESTORED, 0, NULL, 0, false);
	rc = 0;
	goto out;
fail:
	if (rc == -EISDIR || rc == -ENOTEMPTY)
		report_dir_in_way(r, 'l');
	else
		report_failed(r, 'l', rc, what);
	rc = 0;
out:
	if (tmp[0])
		unlinkat(ddir, tmp, 0);
	if (fd >= 0)
		close(fd);
	free(target);
	return rc;
}

static int restore_special(struct vss_restore *r, const struct stat *st, int ddir,
			   const char *dname)
{
	char type = type_of(st->st_mode), tmp[64] = "";
	const char *what = "create the node";
	int fd = -1, rc, i;

	if (!(r->flags & VSS_RESTORE_SPECIAL_FILES)) {
		report(r, type, VSS_RESTORE_SKIPPED, 0,
		       "special file; restore it with the special files option", 0, false);
		return 0;
	}
	if (precheck(r, type, ddir, dname, 0))
		return 0;
	for (i = 0, rc = -EEXIST; i < TEMP_TRIES && rc == -EEXIST; i++) {
		temp_name(r, tmp);
		rc = mknodat(ddir, tmp, (st->st_mode & S_IFMT) | 0600, st->st_rdev) == 0 ? 0 : -errno;
	}
	if (rc < 0) {
		tmp[0] = '\0';
		goto fail;
	}
	rc = open_made(ddir, tmp, st->st_mode & S_IFMT, &fd);
	if (rc == 0)
		rc = vss__copy_meta_path(&r->copy, sbuf_str(&r->spath), st, fd, &what);
	if (rc < 0)
		goto fail;
	what = "put the node in place";
	rc = place(r, -1, ddir, tmp, dname);
	tmp[0] = '\0';
	if (rc == 1)
		report_exists(r, type);
	else if (rc < 0)
		goto fail;
	else
		report(r, type, VSS_RESTORE_RESTORED, 0, NULL, 0, false);
	rc = 0;
	goto out;
fail:
	if (rc == -ENOMEM) {
		vss__error(rc, "out of memory");
		goto out;
	}
	if (rc == -EISDIR || rc == -ENOTEMPTY)
		report_dir_in_way(r, type);
	else
		report_failed(r, type, rc, what);
	rc = 0;
out:
	if (tmp[0])
		unlinkat(ddir, tmp, 0);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Whether a directory entry of the copy is left out of every restore. */
static bool leave_out(const struct vss_restore *r, int depth_from_copy_root, const char *name)
{
	if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
		return true;
	/* A restore's temporary file the copy caught, never a real file. */
	if (vss__restore_is_temp_name(name))
		return true;
	/* The store of the volume's copies: restoring it would be nonsense. */
	(void)r;
	return depth_from_copy_root == 0 && strcmp(name, VSS__STORE_DIR) == 0;
}

/* How deep the current source is below the copy's root (0 at the root). */
static int source_depth(const struct vss_restore *r)
{
	const char *p = sbuf_str(&r->spath) + strlen(r->src_root);
	int depth = 0;

	for (; *p; p++)
		if (*p == '/')
			depth++;
	return depth;
}

/*
 * The target directory for a directory of the copy: created, or the one
 * there.  *ret_fd -1 in a dry run when it is not there.  1 when refused or
 * failed (reported).
 */
static int target_dir(struct vss_restore *r, int ddir, const char *dname, int *ret_fd,
		      bool *ret_existed)
{
	int fd, err;

	*ret_fd = -1;
	*ret_existed = false;
	if (!dname) {
		/* The restore root itself. */
		fd = fcntl(ddir, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			report_failed(r, 'd', -errno, "open the directory");
			return 1;
		}
		*ret_fd = fd;
		*ret_existed = true;
		return 0;
	}
	if (ddir < 0)
		return 0;
	if (!dry(r) && mkdirat(ddir, dname, 0700) == 0) {
		fd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			report_failed(r, 'd', -errno, "open the new directory");
			return 1;
		}
		*ret_fd = fd;
		return 0;
	}
	err = dry(r) ? EEXIST : errno;
	if (err == EEXIST) {
		fd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			*ret_fd = fd;
			*ret_existed = true;
			return 0;
		}
		err = errno;
		if (err == ENOENT && dry(r))
			return 0;
	}
	/* O_DIRECTORY answers ENOTDIR before O_NOFOLLOW's ELOOP. */
	if (err == ENOTDIR) {
		struct stat st;

		if (fstatat(ddir, dname, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			err = ELOOP;
	}
	if (err == ELOOP)
		report_planted(r, 'd');
	else if (err == ENOTDIR)
		report_fmt(r, 'd', VSS_RESTORE_FAILED, -ENOTDIR,
			   "'%s' is not a directory where the copy has one; remove it to restore "
			   "there", sbuf_str(&r->tpath));
	else
		report_failed(r, 'd', -err, "create the directory");
	return 1;
}

/* What a file created in target directory dfd (dst its status) starts with. */
static void fresh_in(struct vss_restore *r, int dfd, const struct stat *dst)
{
	r->fresh.uid = geteuid();
	r->fresh.gid = dst->st_mode & S_ISGID ? dst->st_gid : getegid();
	r->fresh.may_have_acl = fgetxattr(dfd, "system.posix_acl_default", NULL, 0) >= 0 ||
				(errno != ENODATA && errno != ENOTSUP);
}

static int restore_dir(struct vss_restore *r, int sdir, const char *sname,
		       const struct stat *st, int ddir, const char *dname)
{
	const char *what = "read the copy's directory";
	struct vss__meta_now saved_fresh = r->fresh;
	struct stat dst = { 0 };
	struct dirent *de;
	bool existed;
	DIR *d = NULL;
	int dfd = -1, sfd, rc, depth;

	rc = target_dir(r, ddir, dname, &dfd, &existed);
	if (rc)
		return 0;
	if (dfd >= 0 && fstat(dfd, &dst) < 0) {
		rc = -errno;
		goto fail;
	}
	sfd = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0 || !(d = fdopendir(sfd))) {
		rc = -errno;
		if (sfd >= 0)
			close(sfd);
		goto fail;
	}
	depth = source_depth(r);
	saved_fresh = r->fresh;
	if (dfd >= 0)
		fresh_in(r, dfd, &dst);
	while ((errno = 0, de = readdir(d))) {
		struct saved_paths sv;
		struct stat cst;

		if (leave_out(r, depth, de->d_name))
			continue;
		rc = paths_push(r, de->d_name, de->d_name, &sv);
		if (rc < 0)
			goto out;
		if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
			report_failed(r, de->d_type == DT_DIR ? 'd' : 'f', -errno,
				      "read the copy's entry");
			rc = 0;
		} else {
			rc = restore_entry(r, dirfd(d), de->d_name, &cst, dfd, de->d_name,
					   dst.st_dev);
		}
		paths_pop(r, &sv);
		if (rc < 0)
			goto out;
	}
	if (errno) {
		rc = -errno;
		goto fail;
	}
	r->fresh = saved_fresh;
	if (existed && r->policy == VSS_RESTORE_IF_NOT_THERE) {
		report_exists(r, 'd');
	} else if (dry(r)) {
		report(r, 'd', VSS_RESTORE_WOULD_RESTORE, 0, NULL, 0, false);
	} else {
		/* Last, so creating the entries did not change its times. */
		struct vss__meta_now now = {
			.uid = dst.st_uid, .gid = dst.st_gid, .may_have_acl = true,
		};

		rc = vss__copy_meta(&r->copy, dirfd(d), st, dfd, &now, &what);
		if (rc < 0)
			goto fail;
		report(r, 'd', VSS_RESTORE_RESTORED, 0, NULL, 0, false);
	}
	rc = 0;
	goto out;
fail:
	if (rc == -ENOMEM) {
		vss__error(rc, "out of memory");
		goto out;
	}
	report_failed(r, 'd', rc, what);
	rc = 0;
out:
	r->fresh = saved_fresh;
	if (d)
		closedir(d);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/*
 * Restore entry sname of source directory sdir (st its status) as dname in
 * target directory ddir (on filesystem ddev); dname NULL: as ddir itself
 * (a directory only).  Entries that cannot be restored are reported;
 * returns < 0 only when the whole run must stop.
 */
static int restore_entry(struct vss_restore *r, int sdir, const char *sname,
			 const struct stat *st, int ddir, const char *dname, dev_t ddev)
{
	if (S_ISDIR(st->st_mode))
		return restore_dir(r, sdir, sname, st, ddir, dname);
	if (!dname) {
		report_fmt(r, type_of(st->st_mode), VSS_RESTORE_FAILED, -ENOTDIR,
			   "only a directory can be restored onto the restore root itself");
		return 0;
	}
	if (S_ISREG(st->st_mode)) {
		if (ddir < 0) {
			precheck(r, 'f', ddir, dname, (uint64_t)st->st_size);
			return 0;
		}
		return restore_file(r, sdir, sname, st, ddir, dname, ddev);
	}
	if (S_ISLNK(st->st_mode))
		return restore_symlink(r, sdir, sname, st, ddir, dname);
	return restore_special(r, st, ddir, dname);
}

/* ---- counting, for progress ----------------------------------------------------- */

static void count_tree(struct vss_restore *r, int sdir, const char *sname, const struct stat *st,
		       int depth)
{
	struct dirent *de;
	DIR *d;
	int fd;

	r->total_files++;
	if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
		/* The content of an inode is restored once, whatever its links. */
		struct hardlink **p = link_find_in(r->counted, st), *l;

		if (*p)
			return;
		l = calloc(1, sizeof(*l));
		if (l) {
			l->sdev = st->st_dev;
			l->sino = st->st_ino;
			*p = l;
		}
	}
	if (S_ISREG(st->st_mode))
		r->total_bytes += (uint64_t)st->st_size;
	if (!S_ISDIR(st->st_mode))
		return;
	fd = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat cst;

		if (leave_out(r, depth, de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		count_tree(r, dirfd(d), de->d_name, &cst, depth + 1);
	}
	closedir(d);
}

/* ---- one mapping ---------------------------------------------------------------- */

/* rel split at its last '/': *ret_dir malloc()ed ("" when none), *ret_base in rel. */
static int split_rel(const char *rel, char **ret_dir, const char **ret_base)
{
	const char *slash = strrchr(rel, '/');

	*ret_dir = slash ? strndup(rel, (size_t)(slash - rel)) : strdup("");
	*ret_base = slash ? slash + 1 : rel;
	return *ret_dir ? 0 : vss__error(-ENOMEM, "out of memory");
}

static size_t count_parts(const char *rel)
{
	size_t n = *rel ? 1 : 0;

	for (; *rel; rel++)
		if (*rel == '/')
			n++;
	return n;
}

static void count_map(struct vss_restore *r, const struct restore_map *m)
{
	const char *base;
	char *dir = NULL;
	struct stat st;
	int fd;

	if (split_rel(m->src_rel, &dir, &base) < 0)
		return;
	fd = openat2_dir(r->src_fd, *dir ? dir : ".", O_RDONLY);
	if (fd >= 0 && fstatat(fd, *base ? base : ".", &st, AT_SYMLINK_NOFOLLOW) == 0)
		count_tree(r, fd, *base ? base : ".", &st, (int)count_parts(m->src_rel));
	if (fd >= 0)
		close(fd);
	free(dir);
}

/* A parent directory created on the way to a mapping's target. */
struct made_parent {
	int dfd;
	int sfd;                    /* its counterpart in the copy, or -1 */
	struct stat st;
};

/*
 * Open (creating what is missing) the directories of tdir under the root,
 * each relative to the one before without following symlinks.  Created
 * ones are given the metadata of the copy's directory at the same
 * distance from the end of sdir, once the tree is restored (made[]).
 * *ret_fd -1 in a dry run past a missing one.  1: refused or failed
 * (reported, with tpath at the offending directory).
 */
/* A dry run: the parts of tdir not opened yet, onto the reported paths. */
static int push_rest(struct vss_restore *r, const char *p)
{
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p), old;
		char name[NAME_MAX + 1];

		if (len > NAME_MAX)
			return vss__error(-ENAMETOOLONG, "a name in '%s' is too long", p);
		memcpy(name, p, len);
		name[len] = '\0';
		p += len + (slash ? 1 : 0);
		if (path_push(&r->tpath, name, &old) < 0 || path_push(&r->trel, name, &old) < 0)
			return vss__error(-ENOMEM, "out of memory");
	}
	return 0;
}

static int open_parents(struct vss_restore *r, const char *tdir, const char *sdir,
			struct made_parent *made, size_t *nmade, int *ret_fd)
{
	size_t nt = count_parts(tdir), ns = count_parts(sdir), i;
	const char *p = tdir;
	int cur, fd, rc = 0;

	*ret_fd = -1;
	cur = fcntl(r->root_fd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0)
		return vss__error(-errno, "cannot open '%s': %m", sbuf_str(&r->tpath));
	for (i = 0; i < nt; i++) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p), old;
		char name[NAME_MAX + 1];

		if (len > NAME_MAX) {
			report_failed(r, 'd', -ENAMETOOLONG, "open the directory");
			rc = 1;
			goto out;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len + (slash ? 1 : 0);
		if (path_push(&r->tpath, name, &old) < 0 || path_push(&r->trel, name, &old) < 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		fd = openat2_dir(cur, name, O_RDONLY);
		if (fd < 0 && errno == ENOENT) {
			if (dry(r)) {
				/* Nothing to open below a directory a dry run
				 * does not make, but the paths reported must
				 * still name every part. */
				close(cur);
				cur = -1;
				rc = push_rest(r, p);
				goto out;
			}
			if (mkdirat(cur, name, 0700) < 0 && errno != EEXIST) {
				report_failed(r, 'd', -errno, "create the directory");
				rc = 1;
				goto out;
			}
			fd = openat2_dir(cur, name, O_RDONLY);
			if (fd >= 0) {
				struct made_parent *m = &made[(*nmade)++];
				size_t back = nt - 1 - i;

				m->dfd = fd;
				m->sfd = -1;
				if (back < ns) {
					/* sdir's first ns - back parts. */
					size_t keep = 0, parts = ns - back;
					char *sp = strdup(sdir);

					if (!sp) {
						rc = vss__error(-ENOMEM, "out of memory");
						goto out;
					}
					for (const char *q = sp; *q && parts; q++, keep++)
						if (*q == '/' && --parts == 0)
							break;
					sp[keep] = '\0';
					m->sfd = openat2_dir(r->src_fd, sp, O_RDONLY);
					free(sp);
					if (m->sfd >= 0 && fstat(m->sfd, &m->st) < 0) {
						close(m->sfd);
						m->sfd = -1;
					}
				}
				close(cur);
				cur = fcntl(fd, F_DUPFD_CLOEXEC, 0);
				if (cur < 0) {
					report_failed(r, 'd', -errno, "open the directory");
					rc = 1;
					goto out;
				}
				continue;
			}
		}
		if (fd < 0) {
			if (errno == ELOOP || errno == EXDEV)
				report_planted(r, 'd');
			else if (errno == ENOTDIR)
				report_fmt(r, 'd', VSS_RESTORE_FAILED, -ENOTDIR,
					   "'%s' is not a directory; remove it to restore below it",
					   sbuf_str(&r->tpath));
			else
				report_failed(r, 'd', -errno, "open the directory");
			rc = 1;
			goto out;
		}
		close(cur);
		cur = fd;
	}
out:
	if (rc == 0) {
		*ret_fd = cur;
		cur = -1;
	}
	if (cur >= 0)
		close(cur);
	return rc;
}

static void finish_parents(struct vss_restore *r, struct made_parent *made, size_t nmade)
{
	const char *what = NULL;

	while (nmade-- > 0) {
		struct made_parent *m = &made[nmade];

		if (m->sfd >= 0)
			vss__copy_meta(&r->copy, m->sfd, &m->st, m->dfd, NULL, &what);
		else
			fchmod(m->dfd, 0755);
		if (m->sfd >= 0)
			close(m->sfd);
		close(m->dfd);
	}
}

static int run_map(struct vss_restore *r, const struct restore_map *m, const char *root,
		   const char *target_rel)
{
	char *sdirrel = NULL, *tdirrel = NULL;
	const char *sbase, *tbase;
	struct made_parent *made = NULL;
	size_t nmade = 0, old;
	struct stat st, dst;
	int sdir = -1, ddir = -1, rc;

	path_pop(&r->spath, 0);
	path_pop(&r->tpath, 0);
	path_pop(&r->trel, 0);
	links_clear(r);
	if (sbuf_adds(&r->spath, r->src_root) < 0 || sbuf_adds(&r->tpath, root) < 0)
		return vss__error(-ENOMEM, "out of memory");
	rc = split_rel(m->src_rel, &sdirrel, &sbase);
	if (rc == 0)
		rc = split_rel(target_rel, &tdirrel, &tbase);
	if (rc < 0)
		goto out;
	made = calloc(count_parts(tdirrel) + 1, sizeof(*made));
	if (!made) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (path_push(&r->spath, sdirrel, &old) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	sdir = openat2_dir(r->src_fd, *sdirrel ? sdirrel : ".", O_RDONLY);
	if (path_push(&r->spath, sbase, &old) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (sdir < 0 || fstatat(sdir, *sbase ? sbase : ".", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		/* Checked when added; the copy changed under us. */
		report_failed(r, 'f', -errno, "read the copy");
		rc = 0;
		goto out;
	}
	rc = open_parents(r, tdirrel, sdirrel, made, &nmade, &ddir);
	if (rc) {
		rc = rc < 0 ? rc : 0;
		goto out;
	}
	if (path_push(&r->tpath, tbase, &old) < 0 || path_push(&r->trel, tbase, &old) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	dst.st_dev = 0;
	if (ddir >= 0 && fstat(ddir, &dst) < 0)
		dst.st_dev = 0;
	else if (ddir >= 0)
		fresh_in(r, ddir, &dst);
	rc = restore_entry(r, sdir, *sbase ? sbase : ".", &st, ddir, *tbase ? tbase : NULL,
			   dst.st_dev);
	finish_parents(r, made, nmade);
	nmade = 0;
	/* One sync for the whole tree, instead of one per file. */
	if (!dry(r) && syncfs(r->root_fd) < 0 && rc == 0)
		rc = vss__error(-errno, "cannot flush '%s' to disk: %m", root);
out:
	finish_parents(r, made, nmade);
	free(made);
	if (ddir >= 0)
		close(ddir);
	if (sdir >= 0)
		close(sdir);
	free(tdirrel);
	free(sdirrel);
	return rc;
}

/* ---- the copy's tree ------------------------------------------------------------ */

/*
 * An exposure made by a restore that died (its directory names the
 * process: "<rundir>/restore.<pid>.XXXXXX"): undone, so it neither stays
 * mounted nor stands in the way of this restore's own.
 */
static void reclaim_dead_exposure(struct vss_restore *r)
{
	const struct vss_snapshot *s = r->snap;
	const char *name = s->exposed_name, *rest;
	size_t n = strlen(r->ctx->rundir);
	char path[PATH_MAX];
	unsigned long pid;
	char *end;

	if (!name || strncmp(name, r->ctx->rundir, n) != 0 ||
	    strncmp(name + n, "/restore.", 9) != 0)
		return;
	rest = name + n + 9;
	errno = 0;
	pid = strtoul(rest, &end, 10);
	if (errno || end == rest || *end != '.' || pid == 0 ||
	    (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
		return;
	snprintf(path, sizeof(path), "%s", name);
	vss__debug("restore: undoing the exposure '%s' of dead process %lu", path, pid);
	if (vss__unexpose_id(r->ctx, &s->id, VSS_UNEXPOSE_FORCE) == 0) {
		rmdir(path);
		free(r->snap->exposed_name);
		r->snap->exposed_name = NULL;
		free(r->snap->exposed_loop);
		r->snap->exposed_loop = NULL;
	}
}

static int source_open(struct vss_restore *r)
{
	const struct vss_snapshot *s = r->snap;
	char g[VSS_GUID_STRING_MAX];
	struct stat st;
	struct sbuf dir = SBUF_INIT;
	int rc = 0;

	if (r->src_fd >= 0)
		return 0;
	vss_guid_format(&s->id, VSS_GUID_BRACES, g);
	if (geteuid() == 0)
		reclaim_dead_exposure(r);
	if (s->device && stat(s->device, &st) == 0 && S_ISDIR(st.st_mode)) {
		r->src_root = strdup(s->device);
	} else if (s->exposed_name && !(s->exposed_loop &&
					strcmp(s->exposed_loop, s->exposed_name) == 0)) {
		r->src_root = strdup(s->exposed_name);
	} else if (s->exposed_name) {
		return vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
				  "shadow copy %s is exposed as device '%s'; unexpose it to restore "
				  "from it", g, s->exposed_name);
	} else {
		rc = vss__require_root("reading an image shadow copy");
		if (rc < 0)
			return rc;
		rc = vss__mkdir_p(r->ctx->rundir, 0755);
		if (rc < 0)
			return rc;
		if (sbuf_addf(&dir, "%s/restore.%ld.XXXXXX", r->ctx->rundir, (long)getpid()) < 0)
			return vss__error(-ENOMEM, "out of memory");
		if (!mkdtemp(dir.data)) {
			rc = vss__error(-errno, "cannot create '%s': %m", dir.data);
			sbuf_release(&dir);
			return rc;
		}
		rc = vss__expose_at(r->ctx, r->snap, dir.data, 0, false, NULL);
		if (rc < 0) {
			vss__error_prefix("cannot read shadow copy %s", g);
			rmdir(dir.data);
			sbuf_release(&dir);
			return rc;
		}
		r->exposure = sbuf_detach(&dir);
		r->src_root = r->exposure ? strdup(r->exposure) : NULL;
	}
	if (!r->src_root)
		return vss__error(-ENOMEM, "out of memory");
	r->src_fd = open(r->src_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->src_fd < 0)
		return vss__error(-errno, "cannot open shadow copy %s at '%s': %m", g, r->src_root);
	return 0;
}

static void source_close(struct vss_restore *r)
{
	struct vss__saved_error e;

	if (r->src_fd >= 0)
		close(r->src_fd);
	r->src_fd = -1;
	if (r->exposure) {
		vss__error_save(&e);
		if (vss__unexpose_id(r->ctx, &r->snap->id, 0) == -EBUSY)
			vss__unexpose_id(r->ctx, &r->snap->id, VSS_UNEXPOSE_FORCE);
		rmdir(r->exposure);
		free(r->exposure);
		r->exposure = NULL;
		vss__error_restore(&e);
	}
	free(r->src_root);
	r->src_root = NULL;
}

/* ---- the API ---------------------------------------------------------------------- */

int vss__restore_new_snapshot(struct vss_context *ctx, struct vss_snapshot *snap,
			      struct vss_restore **ret)
{
	struct vss_restore *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return vss__error(-ENOMEM, "out of memory");
	r->refcount = 1;
	r->ctx = vss_context_ref(ctx);
	r->snap = vss_snapshot_ref(snap);
	r->src_fd = -1;
	r->root_fd = -1;
	sbuf_init(&r->spath);
	sbuf_init(&r->tpath);
	sbuf_init(&r->trel);
	if (getrandom(&r->rnd, sizeof(r->rnd), GRND_NONBLOCK) != sizeof(r->rnd))
		r->rnd = now_ns() ^ (uint64_t)getpid();
	r->rnd |= 1;
	if (snap->original_volume) {
		rc = vss__path_normalise(snap->original_volume, &r->volume);
		if (rc < 0) {
			vss_restore_unref(r);
			return vss__error(rc == -ENOMEM ? rc : -EINVAL,
					  rc == -ENOMEM ? "out of memory" :
					  "the copy's original volume '%s' is not a usable path",
					  snap->original_volume);
		}
	}
	*ret = r;
	return 0;
}

VSS_EXPORT int vss_restore_new(struct vss_context *ctx, const struct vss_guid *id,
			       struct vss_restore **ret)
{
	struct vss_query q = { .snapshot_id = id };
	struct vss_snapshot_list *list = NULL;
	char g[VSS_GUID_STRING_MAX];
	int rc;

	if (!ctx || !id || !ret)
		return vss__error(-EINVAL, "no context or shadow copy id given");
	rc = vss_catalog_query(ctx, &q, &list);
	if (rc < 0)
		goto out;
	if (vss_snapshot_list_count(list) == 0) {
		rc = vss__error(-VSS_E_OBJECT_NOT_FOUND, "no shadow copy %s; vss-list shows the "
				"copies there are", vss_guid_format(id, VSS_GUID_BRACES, g));
		goto out;
	}
	rc = vss__restore_new_snapshot(ctx, vss_snapshot_list_get(list, 0), ret);
out:
	vss_snapshot_list_unref(list);
	return rc;
}

VSS_EXPORT struct vss_restore *vss_restore_unref(struct vss_restore *r)
{
	if (!r || --r->refcount > 0)
		return NULL;
	source_close(r);
	links_clear(r);
	for (size_t i = 0; i < r->nmaps; i++) {
		free(r->maps[i].src_rel);
		free(r->maps[i].root);
		free(r->maps[i].target_rel);
	}
	free(r->maps);
	free(r->target_dir);
	free(r->volume);
	sbuf_release(&r->spath);
	sbuf_release(&r->tpath);
	sbuf_release(&r->trel);
	vss__copy_release(&r->copy);
	vss_snapshot_unref(r->snap);
	vss_context_unref(r->ctx);
	free(r);
	return NULL;
}

const struct vss_snapshot *vss__restore_snapshot(const struct vss_restore *r)
{
	return r->snap;
}

VSS_EXPORT int vss_restore_set_policy(struct vss_restore *r, enum vss_restore_policy policy)
{
	if (policy != VSS_RESTORE_IF_CAN_REPLACE && policy != VSS_RESTORE_IF_NOT_THERE)
		return vss__error(-EINVAL, "unknown restore policy %d", (int)policy);
	r->policy = policy;
	return 0;
}

VSS_EXPORT void vss_restore_set_flags(struct vss_restore *r, unsigned int flags)
{
	r->flags = flags;
}

VSS_EXPORT int vss_restore_set_target_dir(struct vss_restore *r, const char *dir)
{
	struct stat st;
	char *real;

	if (!dir || !*dir)
		return vss__error(-EINVAL, "no target directory given");
	if (stat(dir, &st) < 0)
		return vss__error(-errno, "target directory '%s': %m; create it first", dir);
	if (!S_ISDIR(st.st_mode))
		return vss__error(-ENOTDIR, "target '%s' is not a directory", dir);
	real = realpath(dir, NULL);
	if (!real)
		return vss__error(-errno, "target directory '%s': %m", dir);
	free(r->target_dir);
	r->target_dir = real;
	return 0;
}

VSS_EXPORT void vss_restore_set_entry_fn(struct vss_restore *r, vss_restore_entry_fn fn,
					 void *userdata)
{
	r->entry_fn = fn;
	r->entry_userdata = userdata;
}

VSS_EXPORT void vss_restore_set_progress_fn(struct vss_restore *r, vss_restore_progress_fn fn,
					    void *userdata)
{
	r->progress_fn = fn;
	r->progress_userdata = userdata;
}

int vss__restore_rel(const struct vss_restore *r, const char *path, char **ret)
{
	char *norm = NULL, *out;
	const char *rest;
	int rc;

	if (!path || !*path)
		return vss__error(-EINVAL, "no path given to restore");
	rc = vss__path_normalise(path, &norm);
	if (rc == -ENOMEM)
		return vss__error(rc, "out of memory");
	if (rc < 0)
		return vss__error(-EINVAL, "'%s' goes above the volume's root with '..'; give a "
				  "path inside the volume", path);
	if (path[0] != '/') {
		*ret = norm;
		return 0;
	}
	if (!r->volume || !vss__path_under(norm, r->volume, &rest)) {
		rc = vss__error(-EINVAL, "'%s' is not on the copy's volume '%s'; give a path "
				"under it", path, r->snap->original_volume ? r->snap->original_volume
				: "?");
		free(norm);
		return rc;
	}
	out = strdup(rest);
	free(norm);
	if (!out)
		return vss__error(-ENOMEM, "out of memory");
	*ret = out;
	return 0;
}

/* Whether the copy has rel (not through a symlink of the copy). */
static int check_source(struct vss_restore *r, const char *rel)
{
	const char *base;
	char *dir = NULL;
	struct stat st;
	int fd, rc;

	rc = source_open(r);
	if (rc < 0)
		return rc;
	rc = split_rel(rel, &dir, &base);
	if (rc < 0)
		return rc;
	fd = openat2_dir(r->src_fd, *dir ? dir : ".", O_PATH);
	if (fd < 0 || fstatat(fd, *base ? base : ".", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ELOOP || errno == EXDEV)
			rc = vss__error(-EINVAL, "'%s' goes through a symbolic link in the copy; "
					"give the path it points to", rel);
		else if (errno == ENOENT || errno == ENOTDIR)
			rc = vss__error(-ENOENT, "the copy has no '%s'", *rel ? rel : "/");
		else
			rc = vss__error(-errno, "cannot read '%s' in the copy: %m", rel);
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static int add_map(struct vss_restore *r, const char *src_rel, const char *root,
		   const char *target_rel)
{
	struct restore_map *m;
	int rc;

	rc = check_source(r, src_rel);
	if (rc < 0)
		return rc;
	if (r->nmaps == r->capmaps) {
		size_t cap = r->capmaps ? r->capmaps * 2 : 8;

		m = realloc(r->maps, cap * sizeof(*m));
		if (!m)
			return vss__error(-ENOMEM, "out of memory");
		r->maps = m;
		r->capmaps = cap;
	}
	m = &r->maps[r->nmaps];
	m->src_rel = strdup(src_rel);
	m->root = root ? strdup(root) : NULL;
	m->target_rel = target_rel ? strdup(target_rel) : NULL;
	if (!m->src_rel || (root && !m->root) || (target_rel && !m->target_rel)) {
		free(m->src_rel);
		free(m->root);
		free(m->target_rel);
		return vss__error(-ENOMEM, "out of memory");
	}
	r->nmaps++;
	return 0;
}

VSS_EXPORT int vss_restore_add_path(struct vss_restore *r, const char *path)
{
	char *rel = NULL;
	int rc;

	rc = vss__restore_rel(r, path, &rel);
	if (rc == 0)
		rc = add_map(r, rel, NULL, NULL);
	free(rel);
	return rc;
}

int vss__restore_map(struct vss_restore *r, const char *src_rel, const char *target_root,
		     const char *target_rel)
{
	char *src = NULL, *root = NULL, *tgt = NULL;
	int rc;

	if (!src_rel || src_rel[0] == '/' || !target_rel || target_rel[0] == '/')
		return vss__error(-EINVAL, "'%s' is not a relative path",
				  !src_rel ? "(null)" : src_rel[0] == '/' ? src_rel :
				  target_rel ? target_rel : "(null)");
	if (!target_root || target_root[0] != '/')
		return vss__error(-EINVAL, "restore root '%s' is not an absolute path",
				  target_root ? target_root : "(null)");
	rc = vss__path_normalise(src_rel, &src);
	if (rc == 0)
		rc = vss__path_normalise(target_rel, &tgt);
	if (rc == 0)
		rc = vss__path_normalise(target_root, &root);
	if (rc == -ENOMEM) {
		rc = vss__error(rc, "out of memory");
		goto out;
	}
	if (rc < 0) {
		rc = vss__error(-EINVAL, "'%s' -> '%s' under '%s' goes above its top with '..'",
				src_rel, target_rel, target_root);
		goto out;
	}
	/* The root, absolute again. */
	{
		size_t n = strlen(root);
		char *abs = malloc(n + 2);

		if (!abs) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		abs[0] = '/';
		memcpy(abs + 1, root, n + 1);
		free(root);
		root = abs;
	}
	rc = add_map(r, src, root, tgt);
out:
	free(src);
	free(root);
	free(tgt);
	return rc;
}

/* The root and target of a map added by path. */
static int map_target(struct vss_restore *r, const struct restore_map *m, char **ret_root,
		      const char **ret_rel)
{
	const char *base;

	if (m->root) {
		*ret_root = strdup(m->root);
		*ret_rel = m->target_rel;
	} else if (r->target_dir) {
		/* As cp -a PATH DIR: DIR/<last component>; the volume's root
		 * goes under the last component of its own path. */
		const char *rel = *m->src_rel ? m->src_rel : (r->volume ? r->volume : "");

		base = strrchr(rel, '/');
		*ret_root = strdup(r->target_dir);
		*ret_rel = base ? base + 1 : rel;
	} else {
		if (!r->snap->original_volume)
			return vss__error(-EINVAL, "the copy does not say which volume it is of; "
					  "give a target directory");
		*ret_root = strdup(r->snap->original_volume);
		*ret_rel = m->src_rel;
	}
	return *ret_root ? 0 : vss__error(-ENOMEM, "out of memory");
}

VSS_EXPORT int vss_restore_run(struct vss_restore *r, struct vss_restore_stats *ret_stats)
{
	size_t i;
	int rc = 0;

	if (!dry(r)) {
		rc = vss__require_root("restoring files");
		if (rc < 0)
			return rc;
	}
	if (r->nmaps == 0)
		return vss__error(-EINVAL, "nothing to restore; add a path first");
	memset(&r->stats, 0, sizeof(r->stats));
	r->total_files = r->total_bytes = 0;
	r->last_progress = now_ns();
	r->copy.no_clone = r->flags & VSS_RESTORE_NO_CLONE;
	rc = source_open(r);
	if (rc < 0)
		goto out;
	if (r->progress_fn)
		for (i = 0; i < r->nmaps; i++)
			count_map(r, &r->maps[i]);
	/* Every root is there before anything is written. */
	for (i = 0; i < r->nmaps && rc == 0; i++) {
		const char *rel;
		char *root = NULL;
		int fd;

		rc = map_target(r, &r->maps[i], &root, &rel);
		if (rc < 0)
			break;
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			rc = vss__error(-errno, "restore root '%s': %m", root);
		else
			close(fd);
		free(root);
	}
	for (i = 0; i < r->nmaps && rc == 0; i++) {
		const char *rel;
		char *root = NULL;

		rc = map_target(r, &r->maps[i], &root, &rel);
		if (rc < 0)
			break;
		r->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->root_fd < 0)
			rc = vss__error(-errno, "restore root '%s': %m", root);
		else
			rc = run_map(r, &r->maps[i], root, rel);
		if (r->root_fd >= 0)
			close(r->root_fd);
		r->root_fd = -1;
		free(root);
	}
	links_clear(r);
	progress(r, true);
out:
	source_close(r);
	if (rc == 0 && ret_stats)
		*ret_stats = r->stats;
	return rc;
}
