/*
 * Between restore.c (the walk, target safety, policies) and restore-copy.c
 * (one inode's content and metadata).  Never installed.
 */
#ifndef VSS_RESTORE_PRIVATE_H
#define VSS_RESTORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Buffers reused for every file, and what was learned about cloning
 * between two filesystems, so a failing FICLONE or copy_file_range is
 * tried once per pair, not once per file.
 */
#define VSS__COPY_PAIRS 8
struct vss__copy {
	bool no_clone;              /* VSS_RESTORE_NO_CLONE: bytes only */
	char *buf;                  /* read/write buffer */
	size_t bufsz;
	char *names;                /* xattr name list */
	size_t namessz;
	char *value;                /* one xattr value */
	size_t valuesz;
	struct {
		dev_t src, dst;
		bool clone_fails;
		bool cfr_fails;
	} pairs[VSS__COPY_PAIRS];
	unsigned int npairs;
};

void vss__copy_release(struct vss__copy *c);

/*
 * Copy the content of regular file sfd (described by st) into the empty
 * file dfd on the filesystem dst_dev: FICLONE first (unless no_clone),
 * then copy_file_range over the data segments, then read/write; holes stay
 * holes.  *ret_cloned: the extents are shared.  -errno; *ret_what says
 * which step failed.
 */
int vss__copy_content(struct vss__copy *c, int sfd, const struct stat *st, int dfd,
		      dev_t dst_dev, bool *ret_cloned, const char **ret_what);
/*
 * What is known of a target inode before its metadata is set, to spare
 * calls that would change nothing: a fresh file is owned by the restorer
 * already, and has no ACL unless its directory has a default ACL.
 */
struct vss__meta_now {
	uid_t uid;                  /* (uid_t)-1: unknown */
	gid_t gid;
	bool may_have_acl;          /* ACLs the source lacks may be there */
};
/*
 * Give dfd (a file or directory opened for writing or reading, not
 * O_PATH) the owner, extended attributes (ACLs included), mode and
 * timestamps of sfd/st, in that order: chown clears set-id bits and
 * setting an ACL rewrites the mode.  now: see above (NULL: nothing known).
 * -errno; *ret_what names the step.
 */
int vss__copy_meta(struct vss__copy *c, int sfd, const struct stat *st, int dfd,
		   const struct vss__meta_now *now, const char **ret_what);
/*
 * The same for an inode that can only be reached by path (a device node,
 * FIFO or socket: opening it could block or act): spath is read with
 * l*xattr, dfd is an O_PATH descriptor of the new node.
 */
int vss__copy_meta_path(struct vss__copy *c, const char *spath, const struct stat *st, int dfd,
			const char **ret_what);

/* Pure helpers, unit-tested. */
/*
 * path split at '/', "" and "." dropped, ".." taking back the component
 * before it, joined again with single '/' and no leading or trailing one
 * ("" for the top); malloc()ed in *ret.  -EINVAL when ".." would go above
 * the top; -ENOMEM.  A leading '/' is ignored: callers decide about
 * absolute paths.
 */
int vss__path_normalise(const char *path, char **ret);
/*
 * Whether path (normalised, relative) is at or under base (the same):
 * *ret_rest what follows base ("" when equal), borrowed from path.
 */
bool vss__path_under(const char *path, const char *base, const char **ret_rest);
/* Whether name is one of the temporary names restores write beside targets. */
bool vss__restore_is_temp_name(const char *name);
#define VSS__RESTORE_TEMP_PREFIX ".vss-restore."

#endif
