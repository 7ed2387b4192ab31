/* File helpers: whole reads, atomic durable writes. */
#ifndef VSS_UTIL_FILE_H
#define VSS_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Write data to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync the directory (durable when durable is
 * true; without it the fsyncs are skipped).  On failure path is unchanged
 * and the temporary file is removed.  Returns 0 or -errno.
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      bool durable);
/*
 * Create path (it must not exist) with data.  With durable, one fsync of
 * the new file, which on ext4, XFS and btrfs also makes its directory entry
 * durable.  Cheaper than file_write_atomic(), for files that have no
 * earlier version to protect: a crash can leave a torn new file, never a
 * torn old one.  On failure the file is removed.  Returns 0 or -errno
 * (-EEXIST when it exists).
 */
int file_write_new(const char *path, const void *data, size_t len, mode_t mode,
		   bool durable);
/*
 * Read fd to its end, or until max bytes when max is not 0, into a
 * NUL-terminated buffer (*ret_len excludes the NUL).  0 or -errno.
 */
int file_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* Read a whole file (NUL-terminated; *ret_len excludes the NUL). -errno. */
int file_read_all(const char *path, char **ret, size_t *ret_len);
/* fsync the directory that holds path (or dir itself with is_dir). */
int file_fsync_dir(const char *path, bool is_dir);
/* "dir/name", malloc()ed, NULL on no memory. */
char *path_join(const char *dir, const char *name);
/* The directory part of path, malloc()ed ("/" for "/x", "." for "x"), or
 * NULL when out of memory. */
char *path_dirname(const char *path);
/* The last component of path (borrowed). */
const char *path_basename(const char *path);
/* True when path (absolute, normalised) is dir or lies under it; trailing
 * slashes of dir do not matter. */
bool path_is_under(const char *path, const char *dir);

#endif
