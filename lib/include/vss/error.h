/*
 * <vss/error.h> — error codes and the last error message.
 *
 * Every function that can fail returns 0 or a negative code.  Codes below
 * VSS_E_BASE are errno values (-ENOENT, -EPERM, ...).  Codes from VSS_E_BASE
 * up mirror the HRESULTs of the Windows Volume Shadow Copy Service:
 * VSS_E_x == VSS_E_BASE + (HRESULT & 0xfff) - 0x300, so 0x80042308
 * VSS_E_OBJECT_NOT_FOUND is 5008.  Functions return them negated.
 *
 * The message of the last failure in the calling thread is kept until the
 * next failure (or vss_error_clear()); it names the thing that was wrong.
 */
#ifndef VSS_ERROR_H
#define VSS_ERROR_H

#include <vss/common.h>

enum vss_error_code {
	VSS_E_BASE                               = 5000,
	VSS_E_BAD_STATE                          = 5001, /* 0x80042301 */
	VSS_E_UNEXPECTED                         = 5002,
	VSS_E_PROVIDER_ALREADY_REGISTERED        = 5003,
	VSS_E_PROVIDER_NOT_REGISTERED            = 5004,
	VSS_E_PROVIDER_VETO                      = 5006,
	VSS_E_PROVIDER_IN_USE                    = 5007,
	VSS_E_OBJECT_NOT_FOUND                   = 5008,
	VSS_E_VOLUME_NOT_SUPPORTED               = 5012, /* 0x8004230C */
	VSS_E_OBJECT_ALREADY_EXISTS              = 5013,
	VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER   = 5014,
	VSS_E_UNEXPECTED_PROVIDER_ERROR          = 5015,
	VSS_E_CORRUPT_XML_DOCUMENT               = 5016,
	VSS_E_INVALID_XML_DOCUMENT               = 5017,
	VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED  = 5018,
	VSS_E_FLUSH_WRITES_TIMEOUT               = 5019,
	VSS_E_HOLD_WRITES_TIMEOUT                = 5020,
	VSS_E_UNEXPECTED_WRITER_ERROR            = 5021,
	VSS_E_SNAPSHOT_SET_IN_PROGRESS           = 5022,
	VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED = 5023,
	VSS_E_WRITER_INFRASTRUCTURE              = 5024,
	VSS_E_WRITER_NOT_RESPONDING              = 5025,
	VSS_E_WRITER_ALREADY_SUBSCRIBED          = 5026,
	VSS_E_UNSUPPORTED_CONTEXT                = 5027,
	VSS_E_VOLUME_IN_USE                      = 5029,
	VSS_E_MAXIMUM_DIFFAREA_ASSOCIATIONS_REACHED = 5030,
	VSS_E_INSUFFICIENT_STORAGE               = 5031,
	VSS_E_NO_SNAPSHOTS_IMPORTED              = 5032,
	VSS_E_SOME_SNAPSHOTS_NOT_IMPORTED        = 5033,
	VSS_E_REVERT_IN_PROGRESS                 = 5037,
	VSS_E_REVERT_VOLUME_LOST                 = 5038,
	VSS_E_REBOOT_REQUIRED                    = 5039,
	VSS_E_UNSELECTED_VOLUME                  = 5042,
	VSS_E_SNAPSHOT_NOT_IN_SET                = 5043,
	VSS_E_NESTED_VOLUME_LIMIT                = 5044,
	VSS_E_VOLUME_NOT_LOCAL                   = 5045,
	VSS_E_NOT_SUPPORTED                      = 5047, /* 0x8004232F */
	VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT   = 5240, /* 0x800423F0 */
	VSS_E_WRITERERROR_OUTOFRESOURCES         = 5241,
	VSS_E_WRITERERROR_TIMEOUT                = 5242,
	VSS_E_WRITERERROR_RETRYABLE              = 5243,
	VSS_E_WRITERERROR_NONRETRYABLE           = 5244,
	VSS_E_WRITERERROR_RECOVERY_FAILED        = 5245,
	VSS_E_WRITER_STATUS_NOT_AVAILABLE        = 5265, /* 0x80042409 */
	VSS_E_MAX                                = 5300
};

/* Details of the last failure in this thread. */
struct vss_error {
	int code;             /* the negative code last returned, 0 if none */
	const char *message;  /* never NULL; "" when there is none */
	const char *file;     /* for parse errors: the document, else NULL */
	int line;             /* for parse errors: 1-based, else 0 */
	int column;           /* for parse errors: 1-based, else 0 */
};

/*
 * A short description of a code (negative or positive), for errno values
 * strerror()'s text, for VSS codes the VSS name, e.g.
 * "VSS_E_OBJECT_NOT_FOUND: object not found".  Never NULL.
 */
VSS_EXPORT const char *vss_strerror(int code);

/* The name alone ("VSS_E_OBJECT_NOT_FOUND", "ENOENT"), or NULL if unknown. */
VSS_EXPORT const char *vss_error_name(int code);

/* The last failure of the calling thread.  Never NULL. */
VSS_EXPORT const struct vss_error *vss_error_last(void);

/* Forget the last failure of the calling thread. */
VSS_EXPORT void vss_error_clear(void);

#endif
