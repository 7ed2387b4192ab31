#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbuf.h"

char *path_join(const char *dir, const char *name)
{
	struct sbuf sb = SBUF_INIT;
	size_t n = strlen(dir);

	if (sbuf_add(&sb, dir, n) < 0 ||
	    ((n == 0 || dir[n - 1] != '/') && sbuf_addch(&sb, '/') < 0) ||
	    sbuf_adds(&sb, name) < 0) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb);
}

int file_fsync_dir(const char *path, bool is_dir)
{
	char *copy = NULL;
	const char *dir = path;
	int fd, rc = 0;

	if (!is_dir) {
		copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		dir = dirname(copy);
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	else {
		if (fsync(fd) < 0)
			rc = -errno;
		close(fd);
	}
	free(copy);
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      bool durable)
{
	struct sbuf tmp = SBUF_INIT;
	int fd = -1, rc;

	rc = sbuf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	if (rc < 0)
		goto out;
	fd = open(sbuf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	rc = write_all(fd, data, len);
	if (rc < 0)
		goto out_unlink;
	if (durable && fsync(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(sbuf_str(&tmp), path) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (durable)
		rc = file_fsync_dir(path, false);
	goto out;

out_unlink:
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(sbuf_str(&tmp));
out:
	if (fd >= 0)
		close(fd);
	sbuf_release(&tmp);
	return rc;
}

int file_write_new(const char *path, const void *data, size_t len, mode_t mode,
		   bool durable)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, mode) < 0 ? -errno : 0;
	if (rc == 0)
		rc = write_all(fd, data, len);
	if (rc == 0 && durable && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		unlink(path);
	return rc;
}

int file_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	struct sbuf sb = SBUF_INIT;
	struct stat st;
	char chunk[65536];
	int rc = 0;

	/* One allocation for a regular file; the loop still reads to EOF. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		rc = sbuf_grow(&sb, max && (size_t)st.st_size > max ? max : (size_t)st.st_size);
	while (rc == 0 && (max == 0 || sb.len < max)) {
		size_t want = max && max - sb.len < sizeof(chunk) ? max - sb.len : sizeof(chunk);
		ssize_t n = read(fd, chunk, want);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		rc = sbuf_add(&sb, chunk, (size_t)n);
	}
	if (rc < 0) {
		sbuf_release(&sb);
		return rc;
	}
	if (ret_len)
		*ret_len = sb.len;
	*ret = sbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

int file_read_all(const char *path, char **ret, size_t *ret_len)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = file_read_fd(fd, 0, ret, ret_len);
	close(fd);
	return rc;
}

char *path_dirname(const char *path)
{
	char *d = strdup(path), *slash;

	if (!d)
		return NULL;
	slash = strrchr(d, '/');
	if (!slash) {
		free(d);
		return strdup(".");
	}
	slash[slash == d ? 1 : 0] = '\0';
	return d;
}

const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
