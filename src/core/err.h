/*
 * err.h - user-facing errors.
 *
 * A function that can fail for reasons that came from input returns a negative
 * enum err_kind and fills a struct err with a message (lower-case, problem first, the
 * offending name in quotes) and, where one applies, the field it concerns. Only the
 * HTTP layer maps kinds to statuses and CKAN error shapes (CKAN docs, "API guide":
 * Validation Error 409, Authorization Error 403, Not Found Error 404, Bad request 400).
 */
#ifndef KAIFANG_CORE_ERR_H
#define KAIFANG_CORE_ERR_H

#include <stddef.h>

enum err_kind {
    ERR_NONE = 0,
    ERR_VALIDATION = 1,  /* 409 "Validation Error", per-field messages */
    ERR_NOT_FOUND = 2,   /* 404 "Not Found Error" */
    ERR_AUTH = 3,        /* 403 "Authorization Error" */
    ERR_BAD_REQUEST = 4, /* 400 "Bad request" (malformed JSON, unknown action) */
    ERR_TOO_LARGE = 5,   /* 413 */
    ERR_SEARCH = 6,      /* 409 "Search Query Error" */
    ERR_CONFLICT = 7,    /* 409 "Validation Error" for a duplicate name */
    ERR_INTERNAL = 8,    /* 500: store or I/O failure; message says what failed */
    ERR_UNAVAILABLE = 9, /* 503: busy, shutting down */
};

#define ERR_FIELD_MAX 64
#define ERR_MSG_MAX   512

struct err {
    enum err_kind kind;
    char field[ERR_FIELD_MAX]; /* "" when the error concerns no single field */
    char msg[ERR_MSG_MAX];
};

#define ERR_INIT                                                                                   \
    {                                                                                              \
        ERR_NONE, "", ""                                                                           \
    }

/*
 * Records an error and returns -kind, so callers write
 *     return err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id);
 * err may be NULL (the error is then only returned). field may be NULL. The message is
 * truncated to ERR_MSG_MAX - 1 bytes. The first error set wins: a later err_set() on an
 * err that already holds one keeps the first message but still returns the new kind.
 */
__attribute__((format(printf, 4, 5))) int err_set(struct err *err, enum err_kind kind,
                                                  const char *field, const char *fmt, ...);

/* Clears err back to ERR_NONE. */
void err_clear(struct err *err);

/* The CKAN "__type" string for a kind ("Validation Error", "Not Found Error", …). */
const char *err_kind_type(enum err_kind kind);

/* The HTTP status for a kind (409, 404, 403, 400, 413, 500, 503). */
unsigned err_kind_status(enum err_kind kind);

#endif
