/*
 * banned.h - functions that must not be used in Kaifang (git's trick).
 *
 * Included last by every .c file through "core/util.h". Each banned name expands to
 * an identifier that does not exist, so using it fails to compile with a message
 * naming the function. Use buf_addf(), xsnprintf() and parse_i64() instead.
 */
#ifndef KAIFANG_CORE_BANNED_H
#define KAIFANG_CORE_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atof
#define atof(x) BANNED(atof)
#undef sscanf
#define sscanf(...) BANNED(sscanf)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)

#endif
