/*
 * Loop devices: attach a file (an image copy read-only, to expose it; a
 * volume's backing file again after a revert), read a device's status,
 * detach it, and check what a recorded device is attached to.
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
/* A device being detached is free once its last opener closed it. */
#define PREFER_TRIES 40
#define PREFER_WAIT_US (50 * 1000)

/*
 * Configure dev with file_fd and info's flags, offset and size limit.
 * 0 (*ret_fd the open device), -EBUSY (the device is in use: try another,
 * no message set), or an error.
 */
static int configure(const char *dev, int file_fd, const char *file,
		     const struct loop_info64 *info, int *ret_fd)
{
	struct loop_config cfg;
	int fd = -1, rc;

	/* The kernel makes a device opened read-only a read-only device. */
	int mode = (info->lo_flags & LO_FLAGS_READ_ONLY) ? O_RDONLY : O_RDWR;

	/* udev or devtmpfs may need a moment to make the node of a new device. */
	for (int i = 0; i < 50; i++) {
		fd = open(dev, mode | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	if (fd < 0)
		return vss__error(-errno, "cannot open the loop device '%s': %s", dev,
				  strerror(errno));
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (__u32)file_fd;
	cfg.info.lo_offset = info->lo_offset;
	cfg.info.lo_sizelimit = info->lo_sizelimit;
	cfg.info.lo_flags = info->lo_flags & LOOP_CONFIGURE_SETTABLE_FLAGS;
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", file);
	if (ioctl(fd, LOOP_CONFIGURE, &cfg) < 0) {
		rc = errno == EBUSY ? -EBUSY
				    : vss__error(-errno, "cannot attach '%s' to '%s': %s", file, dev,
						 strerror(errno));
		close(fd);
		return rc;
	}
	*ret_fd = fd;
	return 0;
}

int vss__loop_attach(int file_fd, const char *file, const struct loop_info64 *info,
		     const char *prefer, int *ret_fd, char **ret)
{
	char dev[64];
	int ctl = -1, n, rc = -EBUSY;

	for (int i = 0; prefer && i < PREFER_TRIES && rc == -EBUSY; i++) {
		rc = configure(prefer, file_fd, file, info, ret_fd);
		if (rc == -EBUSY)
			usleep(PREFER_WAIT_US);
	}
	if (rc == 0) {
		*ret = strdup(prefer);
		goto named;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return vss__error(-errno, "cannot open '/dev/loop-control': %s (is the loop module "
				  "loaded?)", strerror(errno));
	for (int i = 0; i < ATTACH_TRIES; i++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			rc = vss__error(-errno, "cannot find a free loop device: %s", strerror(errno));
			goto out;
		}
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		rc = configure(dev, file_fd, file, info, ret_fd);
		if (rc != -EBUSY)
			break;
	}
	if (rc == -EBUSY)
		rc = vss__error(-EBUSY, "cannot attach '%s' to a loop device: every free one was "
				"taken by others first; try again", file);
	if (rc < 0)
		goto out;
	*ret = strdup(dev);
named:
	if (!*ret) {
		ioctl(*ret_fd, LOOP_CLR_FD, 0);
		close(*ret_fd);
		rc = vss__error(-ENOMEM, "out of memory");
	}
out:
	if (ctl >= 0)
		close(ctl);
	return rc;
}

int vss__loop_attach_ro(const char *file, bool autoclear, int *ret_fd, char **ret)
{
	struct loop_info64 info;
	int file_fd, rc;

	file_fd = open(file, O_RDONLY | O_CLOEXEC);
	if (file_fd < 0)
		return vss__error(-errno, "cannot open '%s': %s", file, strerror(errno));
	memset(&info, 0, sizeof(info));
	info.lo_flags = LO_FLAGS_READ_ONLY | (autoclear ? LO_FLAGS_AUTOCLEAR : 0);
	rc = vss__loop_attach(file_fd, file, &info, NULL, ret_fd, ret);
	close(file_fd);
	return rc;
}

int vss__loop_status(const char *dev, struct loop_info64 *ret)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return vss__error(-errno, "cannot open the loop device '%s': %s", dev,
				  strerror(errno));
	if (ioctl(fd, LOOP_GET_STATUS64, ret) < 0)
		rc = errno == ENXIO ? -ENXIO
				    : vss__error(-errno, "cannot read the loop device '%s': %s", dev,
						 strerror(errno));
	close(fd);
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
