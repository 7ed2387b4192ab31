/*
 * <vss.h> — volume shadow copies for Linux.
 *
 * One include for the whole public API.  Each concept has its own header
 * under <vss/>; they are self-contained and may be included on their own.
 *
 * Conventions (see man libvss(3)):
 *   - functions are vss_<noun>_<verb>; objects are opaque and reference
 *     counted (_ref/_unref, NULL-safe; unref returns NULL);
 *   - functions that can fail return 0 or a negative code: -errno, or
 *     -VSS_E_* from <vss/error.h>; vss_error_last() holds the message;
 *   - outputs come last as ret_*, and are never written on failure;
 *   - strings returned as char * are malloc()ed and the caller frees them,
 *     const char * is borrowed from the object it came from.
 */
#ifndef VSS_H
#define VSS_H

#include <vss/common.h>
#include <vss/error.h>
#include <vss/guid.h>
#include <vss/context.h>
#include <vss/volume.h>
#include <vss/snapshot.h>
#include <vss/provider.h>
#include <vss/catalog.h>
#include <vss/session.h>
#include <vss/wmd.h>
#include <vss/bcd.h>
#include <vss/writer.h>
#include <vss/expose.h>
#include <vss/revert.h>
#include <vss/restore.h>

#endif
