/*
 * One inode's content and metadata, for the file restore (restore.c).
 *
 * Content goes by the cheapest way the two filesystems allow: FICLONE
 * shares the extents (same btrfs or XFS), copy_file_range lets the kernel
 * copy (same filesystem), a read/write loop does the rest.  Only the data
 * segments (SEEK_DATA / SEEK_HOLE) are copied, so sparse files stay
 * sparse.  A pair of filesystems where cloning or copy_file_range fails is
 * remembered, so the failing call is not repeated for every file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/fs.h>

#include "restore-private.h"
#include "util/banned.h"

#define COPY_BUF_SIZE   (256u * 1024u)
#define CFR_CHUNK       ((size_t)1 << 30)
#define ACL_ACCESS      "system.posix_acl_access"
#define ACL_DEFAULT     "system.posix_acl_default"

void vss__copy_release(struct vss__copy *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c->names);
	free(c->value);
	c->buf = c->names = c->value = NULL;
	c->bufsz = c->namessz = c->valuesz = 0;
	c->npairs = 0;
}

static unsigned int pair_index(struct vss__copy *c, dev_t src, dev_t dst)
{
	unsigned int i;

	for (i = 0; i < c->npairs; i++)
		if (c->pairs[i].src == src && c->pairs[i].dst == dst)
			return i;
	/* Full: forget the oldest; it is only an optimisation. */
	if (c->npairs == VSS__COPY_PAIRS) {
		memmove(&c->pairs[0], &c->pairs[1], sizeof(c->pairs[0]) * (VSS__COPY_PAIRS - 1));
		c->npairs--;
	}
	i = c->npairs++;
	c->pairs[i].src = src;
	c->pairs[i].dst = dst;
	c->pairs[i].clone_fails = false;
	c->pairs[i].cfr_fails = false;
	return i;
}

/* Errors after which another way of copying may still work. */
static bool try_another_way(int err)
{
	return err != ENOSPC && err != EDQUOT && err != EIO && err != ENOMEM && err != EFBIG;
}

/* Errors that say this pair of filesystems will never do it. */
static bool never_works(int err)
{
	return err == EXDEV || err == EOPNOTSUPP || err == ENOTTY || err == ENOSYS ||
	       err == EINVAL;
}

static int rw_range(struct vss__copy *c, int sfd, int dfd, off_t pos, off_t end,
		    const char **what)
{
	if (!c->buf) {
		c->buf = malloc(COPY_BUF_SIZE);
		if (!c->buf) {
			*what = "allocate a buffer";
			return -ENOMEM;
		}
		c->bufsz = COPY_BUF_SIZE;
	}
	while (pos < end) {
		size_t want = (size_t)(end - pos) < c->bufsz ? (size_t)(end - pos) : c->bufsz;
		ssize_t n = pread(sfd, c->buf, want, pos), done = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*what = "read";
			return -errno;
		}
		if (n == 0)
			break;      /* shorter than it said: keep what there is */
		while (done < n) {
			ssize_t w = pwrite(dfd, c->buf + done, (size_t)(n - done), pos + done);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				*what = "write";
				return -errno;
			}
			done += w;
		}
		pos += n;
	}
	return 0;
}

static int copy_range(struct vss__copy *c, unsigned int p, int sfd, int dfd, off_t pos,
		      off_t end, const char **what)
{
	if (!c->no_clone && !c->pairs[p].cfr_fails) {
		while (pos < end) {
			size_t want = (size_t)(end - pos) < CFR_CHUNK ? (size_t)(end - pos) : CFR_CHUNK;
			loff_t in = pos, out = pos;
			ssize_t n = copy_file_range(sfd, &in, dfd, &out, want, 0);

			if (n > 0) {
				pos += n;
				continue;
			}
			if (n == 0)
				break;
			if (errno == EINTR)
				continue;
			if (!try_another_way(errno)) {
				*what = "copy";
				return -errno;
			}
			if (never_works(errno))
				c->pairs[p].cfr_fails = true;
			break;
		}
	}
	return pos < end ? rw_range(c, sfd, dfd, pos, end, what) : 0;
}

int vss__copy_content(struct vss__copy *c, int sfd, const struct stat *st, int dfd,
		      dev_t dst_dev, bool *ret_cloned, const char **ret_what)
{
	off_t size = st->st_size, pos = 0, end;
	unsigned int p;
	bool sparse;
	int rc = 0;

	*ret_cloned = false;
	if (size == 0)
		return 0;
	p = pair_index(c, st->st_dev, dst_dev);
	if (!c->no_clone && !c->pairs[p].clone_fails) {
		if (ioctl(dfd, FICLONE, sfd) == 0) {
			*ret_cloned = true;
			return 0;
		}
		if (!try_another_way(errno)) {
			*ret_what = "clone";
			return -errno;
		}
		if (never_works(errno) && errno != EINVAL)
			c->pairs[p].clone_fails = true;
	}
	/* Fewer blocks than bytes: there are holes to keep (or inline data). */
	sparse = (uint64_t)st->st_blocks * 512u < (uint64_t)size;
	while (pos < size) {
		if (sparse) {
			off_t data = lseek(sfd, pos, SEEK_DATA);

			if (data < 0) {
				if (errno == ENXIO)
					break;
				data = pos;
				end = size;
			} else {
				end = lseek(sfd, data, SEEK_HOLE);
				if (end < 0 || end > size)
					end = size;
			}
			pos = data;
		} else {
			end = size;
		}
		if (pos >= end)
			break;
		rc = copy_range(c, p, sfd, dfd, pos, end, ret_what);
		if (rc < 0)
			return rc;
		pos = end;
	}
	if (sparse && ftruncate(dfd, size) < 0) {
		*ret_what = "set the size";
		return -errno;
	}
	return 0;
}

/* ---- extended attributes ------------------------------------------------ */

/*
 * Fill c->names with the names of sfd (or spath); *ret_len its length.
 * A filesystem without extended attributes has none.
 */
static int list_names(struct vss__copy *c, int fd, const char *path, size_t *ret_len)
{
	/* Never a zero size: that would ask for the length only. */
	if (!c->names) {
		c->names = malloc(1024);
		if (!c->names)
			return -ENOMEM;
		c->namessz = 1024;
	}
	for (;;) {
		ssize_t n = fd >= 0 ? flistxattr(fd, c->names, c->namessz)
				    : llistxattr(path, c->names, c->namessz);
		size_t want;
		char *p;

		if (n >= 0) {
			*ret_len = (size_t)n;
			return 0;
		}
		if (errno == ENOTSUP) {
			*ret_len = 0;
			return 0;
		}
		if (errno != ERANGE)
			return -errno;
		n = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
		if (n < 0)
			return -errno;
		want = (size_t)n + 256;
		p = realloc(c->names, want);
		if (!p)
			return -ENOMEM;
		c->names = p;
		c->namessz = want;
	}
}

static ssize_t get_value(struct vss__copy *c, int fd, const char *path, const char *name)
{
	if (!c->value) {
		c->value = malloc(4096);
		if (!c->value)
			return -ENOMEM;
		c->valuesz = 4096;
	}
	for (;;) {
		ssize_t n = fd >= 0 ? fgetxattr(fd, name, c->value, c->valuesz)
				    : lgetxattr(path, name, c->value, c->valuesz);
		size_t want;
		char *p;

		if (n >= 0)
			return n;
		if (errno != ERANGE)
			return -errno;
		n = fd >= 0 ? fgetxattr(fd, name, NULL, 0) : lgetxattr(path, name, NULL, 0);
		if (n < 0)
			return -errno;
		want = (size_t)n + 256;
		p = realloc(c->value, want);
		if (!p)
			return -ENOMEM;
		c->value = p;
		c->valuesz = want;
	}
}

/*
 * Attributes an admin set (user data, ACLs) must arrive; others a target
 * filesystem may not know (btrfs.*, security labels of another policy)
 * are left behind when it says it does not support them.
 */
static bool must_keep(const char *name)
{
	return strncmp(name, "user.", 5) == 0 || strncmp(name, "system.posix_acl_", 17) == 0 ||
	       strncmp(name, "trusted.", 8) == 0;
}

static bool names_have(const char *names, size_t len, const char *name)
{
	for (size_t at = 0; at < len; at += strlen(names + at) + 1)
		if (strcmp(names + at, name) == 0)
			return true;
	return false;
}

/*
 * Copy every attribute of the source to dfd (dpath when dfd < 0).  A
 * fresh inode may have inherited ACLs from a default ACL of its new
 * parent, which the source did not have: those go.
 */
static int copy_xattrs(struct vss__copy *c, int sfd, const char *spath, int dfd,
		       const char *dpath, bool is_dir, bool may_have_acl, const char **what)
{
	size_t len, at;
	int rc;

	rc = list_names(c, sfd, spath, &len);
	if (rc < 0) {
		*what = "list the extended attributes";
		return rc;
	}
	for (at = 0; at < len; at += strlen(c->names + at) + 1) {
		const char *name = c->names + at;
		ssize_t n;

		/* XFS's own form of the ACLs, which travel as system.posix_acl_*. */
		if (strncmp(name, "trusted.SGI_ACL_", 16) == 0)
			continue;
		n = get_value(c, sfd, spath, name);
		if (n == -ENODATA)
			continue;
		if (n < 0) {
			*what = "read an extended attribute";
			return (int)n;
		}
		if ((dfd >= 0 ? fsetxattr(dfd, name, c->value, (size_t)n, 0)
			      : setxattr(dpath, name, c->value, (size_t)n, 0)) < 0) {
			if ((errno == ENOTSUP || errno == EOPNOTSUPP) && !must_keep(name))
				continue;
			*what = "set an extended attribute";
			return -errno;
		}
	}
	if (!may_have_acl)
		return 0;
	if (!names_have(c->names, len, ACL_ACCESS) &&
	    (dfd >= 0 ? fremovexattr(dfd, ACL_ACCESS) : removexattr(dpath, ACL_ACCESS)) < 0 &&
	    errno != ENODATA && errno != ENOTSUP) {
		*what = "remove an inherited ACL";
		return -errno;
	}
	if (is_dir && !names_have(c->names, len, ACL_DEFAULT) &&
	    (dfd >= 0 ? fremovexattr(dfd, ACL_DEFAULT) : removexattr(dpath, ACL_DEFAULT)) < 0 &&
	    errno != ENODATA && errno != ENOTSUP) {
		*what = "remove an inherited default ACL";
		return -errno;
	}
	return 0;
}

int vss__copy_meta(struct vss__copy *c, int sfd, const struct stat *st, int dfd,
		   const struct vss__meta_now *now, const char **ret_what)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int rc;

	if ((!now || now->uid != st->st_uid || now->gid != st->st_gid) &&
	    fchown(dfd, st->st_uid, st->st_gid) < 0) {
		*ret_what = "set the owner";
		return -errno;
	}
	rc = copy_xattrs(c, sfd, NULL, dfd, NULL, S_ISDIR(st->st_mode),
			 !now || now->may_have_acl, ret_what);
	if (rc < 0)
		return rc;
	if (fchmod(dfd, st->st_mode & 07777) < 0) {
		*ret_what = "set the mode";
		return -errno;
	}
	if (futimens(dfd, ts) < 0) {
		*ret_what = "set the timestamps";
		return -errno;
	}
	return 0;
}

int vss__copy_meta_path(struct vss__copy *c, const char *spath, const struct stat *st, int dfd,
			const char **ret_what)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	char proc[64];
	int rc;

	/* The node itself, through its descriptor: never a name an
	 * attacker could have swapped meanwhile. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
	if (fchownat(dfd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0) {
		*ret_what = "set the owner";
		return -errno;
	}
	rc = copy_xattrs(c, -1, spath, -1, proc, false, true, ret_what);
	if (rc < 0)
		return rc;
	if (chmod(proc, st->st_mode & 07777) < 0) {
		*ret_what = "set the mode";
		return -errno;
	}
	if (utimensat(AT_FDCWD, proc, ts, 0) < 0) {
		*ret_what = "set the timestamps";
		return -errno;
	}
	return 0;
}

/* ---- paths ------------------------------------------------------------------ */

int vss__path_normalise(const char *path, char **ret)
{
	size_t len = strlen(path), out = 0;
	const char *p = path;
	char *buf = malloc(len + 1);

	if (!buf)
		return -ENOMEM;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (out == 0) {
				free(buf);
				return -EINVAL;
			}
			while (out > 0 && buf[out - 1] != '/')
				out--;
			if (out > 0)
				out--;  /* the '/' before it */
		} else {
			if (out > 0)
				buf[out++] = '/';
			memcpy(buf + out, p, n);
			out += n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	buf[out] = '\0';
	*ret = buf;
	return 0;
}

bool vss__path_under(const char *path, const char *base, const char **ret_rest)
{
	size_t n = strlen(base);

	if (n == 0) {
		*ret_rest = path;
		return true;
	}
	if (strncmp(path, base, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return false;
	*ret_rest = path[n] == '/' ? path + n + 1 : path + n;
	return true;
}

bool vss__restore_is_temp_name(const char *name)
{
	return strncmp(name, VSS__RESTORE_TEMP_PREFIX, sizeof(VSS__RESTORE_TEMP_PREFIX) - 1) == 0;
}
