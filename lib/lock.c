/*
 * Advisory locks (flock): the machine-wide creation lock and the catalog
 * lock.  Locks die with their process, which is what makes recovery of a
 * killed creator safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/banned.h"

int vss__lock_take(const char *path, int how, bool wait, int *ret_fd)
{
	int fd, rc;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	/* Readers without write permission can still take a shared lock. */
	if (fd < 0 && (errno == EACCES || errno == EROFS) && how == LOCK_SH)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return vss__error(-errno, "cannot open lock '%s': %s", path, strerror(errno));
	do
		rc = flock(fd, how | (wait ? 0 : LOCK_NB));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		rc = -errno;
		close(fd);
		if (rc == -EWOULDBLOCK)
			return vss__error(rc, "'%s' is locked by another process", path);
		return vss__error(rc, "cannot lock '%s': %s", path, strerror(-rc));
	}
	*ret_fd = fd;
	return 0;
}

void vss__unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
