/*
 * Loop devices for exposing image copies: attach a clone read-only, detach
 * it, and check what a recorded device is attached to.
 *
 * The ioctls directly (LOOP_CTL_GET_FREE, LOOP_CONFIGURE): libmount's loop
 * device code is internal to util-linux, and running losetup would parse
 * its output.  LOOP_CONFIGURE (Linux 5.8) sets file and flags in one step,
 * so a device is never seen attached but still writable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/loop.h>

#include "vss-private.h"
#include "util/banned.h"

/* Another process may take the free device between our two ioctls. */
#define ATTACH_TRIES 32

/* One try: 0, -EBUSY (the device was taken: try another), or an error. */
static int attach_once(int ctl, int file_fd, const char *file, bool autoclear, int *ret_fd,
		       char **ret)
{
	struct loop_config cfg;
	char dev[64];
	int n, fd = -1, rc;

	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (n < 0)
		return vss__error(-errno, "cannot find a free loop device: %s", strerror(errno));
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	/* udev or devtmpfs may need a moment to make the node of a new device. */
	for (int i = 0; i < 50; i++) {
		fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	if (fd < 0) {
		rc = vss__error(-errno, "cannot open the loop device '%s': %s", dev, strerror(errno));
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (__u32)file_fd;
	cfg.info.lo_flags = LO_FLAGS_READ_ONLY | (autoclear ? LO_FLAGS_AUTOCLEAR : 0);
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", file);
	if (ioctl(fd, LOOP_CONFIGURE, &cfg) < 0) {
		rc = errno == EBUSY ? -EBUSY
				    : vss__error(-errno, "cannot attach '%s' to '%s': %s", file, dev,
						 strerror(errno));
		goto out;
	}
	*ret = strdup(dev);
	if (!*ret) {
		ioctl(fd, LOOP_CLR_FD, 0);
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	*ret_fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int vss__loop_attach_ro(const char *file, bool autoclear, int *ret_fd, char **ret)
{
	int ctl = -1, file_fd = -1, rc;

	file_fd = open(file, O_RDONLY | O_CLOEXEC);
	if (file_fd < 0) {
		rc = vss__error(-errno, "cannot open '%s': %s", file, strerror(errno));
		goto out;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		rc = vss__error(-errno, "cannot open '/dev/loop-control': %s (is the loop module "
				"loaded?)", strerror(errno));
		goto out;
	}
	for (int i = 0; i < ATTACH_TRIES; i++) {
		rc = attach_once(ctl, file_fd, file, autoclear, ret_fd, ret);
		if (rc != -EBUSY)
			goto out;
	}
	rc = vss__error(-EBUSY, "cannot attach '%s' to a loop device: every free one was taken "
			"by others first; try again", file);
out:
	if (ctl >= 0)
		close(ctl);
	if (file_fd >= 0)
		close(file_fd);
	return rc;
}

int vss__loop_detach(const char *dev)
{
	int fd, rc = 0;

	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENXIO)
			return 0;
		return vss__error(-errno, "cannot open the loop device '%s': %s", dev,
				  strerror(errno));
	}
	/* A device still open elsewhere (a lazily unmounted filesystem) is
	 * only marked to detach when its last user closes it. */
	if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
		rc = vss__error(-errno, "cannot detach the loop device '%s': %s", dev,
				strerror(errno));
	close(fd);
	return rc;
}

bool vss__loop_is_attached_to(const char *dev, const char *file)
{
	struct loop_info64 info;
	struct stat st;
	bool same = false;
	int fd;

	if (stat(file, &st) < 0)
		return false;
	memset(&info, 0, sizeof(info));
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (ioctl(fd, LOOP_GET_STATUS64, &info) == 0)
		same = info.lo_device == (__u64)st.st_dev && info.lo_inode == (__u64)st.st_ino;
	close(fd);
	return same;
}
