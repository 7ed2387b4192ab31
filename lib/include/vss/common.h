/* <vss/common.h> — export macro and version. */
#ifndef VSS_COMMON_H
#define VSS_COMMON_H

#if defined(VSS_BUILDING_LIBRARY) && defined(__GNUC__)
# define VSS_EXPORT __attribute__((visibility("default")))
#else
# define VSS_EXPORT
#endif

#define VSS_VERSION_MAJOR 0
#define VSS_VERSION_MINOR 1
#define VSS_VERSION_PATCH 0
#define VSS_VERSION_STRING "0.1.0"

/* The version of the library actually loaded, e.g. "0.1.0". */
VSS_EXPORT const char *vss_version(void);

#endif
