/*
 * config.h - the portal configuration: <portal>/kaifang.conf, then command-line flags.
 *
 * The file is "key = value" lines; '#' starts a comment; unknown keys and bad values
 * are errors naming the line. Every key is documented in README.md ("Configuration").
 */
#ifndef KAIFANG_CORE_CONFIG_H
#define KAIFANG_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct config {
    char *portal_dir;    /* absolute */
    char *listen;        /* "127.0.0.1:8080" */
    char *store_url;     /* "sqlite:<portal>/kaifang.db" */
    char *read_store;    /* a read replica's postgresql:// URL (--read-store), NULL: none */
    char *site_url;      /* public base URL; default "http://<listen>" */
    char *access_log;    /* path, "-" for stdout, "" for none; default "-" */
    uint64_t max_body;   /* bytes of a JSON request body */
    uint64_t max_upload; /* bytes of a multipart upload */
    unsigned max_header; /* bytes of request line + headers */
    unsigned max_connections;
    unsigned max_connections_per_ip; /* 0: no per-address limit */
    unsigned idle_timeout;           /* seconds */
    unsigned threads;                /* worker threads in the HTTP pool */
    /* The metadata exports (data.json, DCAT-AP, docs/internals/dcat.md): the catalog's
     * own description, the contact point of datasets that name none, and DCAT-US codes
     * for datasets without their own. "" when not set. */
    char *catalog_title;        /* default "Kaifang" */
    char *catalog_description;  /* "": "Open data published on <site_url>." */
    char *catalog_publisher;    /* "": catalog_title */
    char *catalog_contact_name; /* "": catalog_publisher */
    char *catalog_contact_email;
    char *bureau_code;          /* "015:11,015:12" (OMB A-11 codes, normalised) or "" */
    char *program_code;         /* "015:001,…" (Federal Program Inventory) or "" */
    unsigned catalog_page_size; /* datasets per page of /catalog.ttl (1 … 1000) */
    /* The publish gate (docs/internals/privacy-gate.md): the k of k-anonymity a public
     * resource's quasi-identifiers must reach (1 … 1000; default 5). */
    unsigned privacy_k;
    /* Seconds between two flushes of a server's view counts to the store (1 … 86400;
     * default 60): the home page's most-viewed datasets lag by at most about this much
     * (src/catalog/views.h). */
    unsigned views_flush;
};

/* Fills c with defaults for a portal directory (made absolute). */
void config_defaults(struct config *c, const char *portal_dir);

/* Reads <portal>/kaifang.conf if it exists, over the defaults. -ERR_VALIDATION with
 * "kaifang.conf:LINE: …" on a bad line. */
int config_load(struct config *c, struct err *err);

/* Sets one key from a string (used by the file parser and by --key=value flags). */
int config_set(struct config *c, const char *key, const char *value, struct err *err);

/* Writes a commented default kaifang.conf for `kaifang init` (does not overwrite); a
 * store_url other than the default is written as a setting, and then the file is
 * readable by its owner only (a PostgreSQL URL may hold a password). */
int config_write_default(const struct config *c, struct err *err);

/*
 * Sets key to value in <portal_dir>/kaifang.conf: the first line setting key is
 * replaced, or a line is appended; comments and other lines are kept. The file is
 * replaced atomically (written beside it, then renamed) and left readable by its owner
 * only (the value may be a PostgreSQL URL with a password). value must not hold a
 * newline, '#' or '"' (-ERR_VALIDATION); -ERR_INTERNAL on an I/O failure (the file is
 * then unchanged). The caller checks value with config_set() first.
 */
int config_file_set(const char *portal_dir, const char *key, const char *value, struct err *err);

void config_release(struct config *c);

#endif
