/*
 * Functions we do not use: unbounded copies, hidden state, unchecked
 * conversions.  Included last by every file of the project so a use is a
 * compile error.  Use sbuf, snprintf, strtok_r-free parsing and parse_*().
 */
#ifndef VSS_UTIL_BANNED_H
#define VSS_UTIL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_vss

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)

#endif
