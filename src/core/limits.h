/*
 * limits.h - every limit on a size or count that input controls, in one place.
 * Each is covered by a test (tests/unit/test-core.c or tests/e2e/).
 * Runtime-configurable limits have their default here and their key in README.md.
 */
#ifndef KAIFANG_CORE_LIMITS_H
#define KAIFANG_CORE_LIMITS_H

/* HTTP (defaults; `max_body`, `max_upload`, `max_header`, `max_connections`,
 * `idle_timeout` in the portal configuration override them). */
#define LIMIT_HTTP_BODY               (1u << 20)                    /* JSON action body: 1 MiB */
#define LIMIT_HTTP_UPLOAD             ((unsigned long long)1 << 30) /* multipart upload: 1 GiB */
#define LIMIT_HTTP_HEADER             (16u * 1024)                  /* request line + headers */
#define LIMIT_HTTP_CONNECTIONS        512u
#define LIMIT_HTTP_CONNECTIONS_PER_IP 64u /* `max_connections_per_ip`; 0: no limit */
#define LIMIT_HTTP_IDLE_SECONDS       30u
#define LIMIT_HTTP_THREADS            4u
/* Query arguments of one request target (414 beyond): libmicrohttpd keeps a 64-byte record
 * per argument in the connection's pool, sized for max_header; see server.c uri_logged(). */
#define LIMIT_HTTP_QUERY_ARGS 200u

/* Catalog (CKAN's own limits where it has them). */
#define LIMIT_NAME_MIN              2u /* CKAN name_validator: 2..100 chars */
#define LIMIT_NAME_MAX              100u
#define LIMIT_TITLE_MAX             1000u
#define LIMIT_TEXT_MAX              (64u * 1024) /* notes, descriptions */
#define LIMIT_TAG_MIN               2u           /* CKAN tag_length_validator: 2..100 */
#define LIMIT_TAG_MAX               100u
#define LIMIT_TAGS_PER_DATASET      200u
#define LIMIT_EXTRAS_PER_DATASET    200u
#define LIMIT_RESOURCES_PER_DATASET 500u
#define LIMIT_URL_MAX               2000u
#define LIMIT_FIELD_MAX             1000u /* any other short string field */

/* package_search (CKAN: rows capped at 1000 by ckan.search.rows_max). */
#define LIMIT_SEARCH_ROWS_DEFAULT 10u
#define LIMIT_SEARCH_ROWS_MAX     1000u
#define LIMIT_SEARCH_START_MAX    1000000u
#define LIMIT_SEARCH_TERMS        32u
#define LIMIT_SEARCH_QUERY        1000u
#define LIMIT_SEARCH_DEPTH        8u /* nested parentheses in q and fq */
#define LIMIT_FACET_LIMIT_DEFAULT 50u
#define LIMIT_FACET_LIMIT_MAX     1000u
#define LIMIT_FACET_FIELDS        16u

/* Lists (package_list, organization_list, tag_list …). */
#define LIMIT_LIST_DEFAULT 1000u
#define LIMIT_LIST_MAX     100000u

/* Users and tokens. */
#define LIMIT_USER_NAME_MAX 100u
#define LIMIT_TOKEN_BYTES   32u /* random bytes in an API token */

/* Loading a catalog directory. */
#define LIMIT_METADATA_FILE (4u << 20) /* metadata.json */

/* Ingest (src/ingest/). */
#define LIMIT_INGEST_FIELD          (4u << 20)  /* bytes in one field or cell: 4 MiB */
#define LIMIT_INGEST_RECORD         (16u << 20) /* bytes in one record (CSV row, JSON object) */
#define LIMIT_INGEST_FIELD_ID       63u         /* bytes in a field id (PostgreSQL NAMEDATALEN-1) */
#define LIMIT_INGEST_SNIFF          (64u * 1024) /* bytes read to detect encoding and delimiter */
#define LIMIT_INGEST_SHARED_STRINGS (256u << 20) /* XLSX strings held: shared, merged values */
#define LIMIT_INGEST_SHEETS         4096u        /* sheets in a workbook (XLSX, XLS) */
/* XLSX parts (zip members) read: at most this many bytes uncompressed, and past
 * LIMIT_INGEST_XLSX_RATIO_FROM bytes at most LIMIT_INGEST_XLSX_RATIO times their compressed
 * size (a sheet's XML compresses about 10:1; a zip bomb 1000:1 and more). */
#define LIMIT_INGEST_XLSX_PART       (16ull << 30)
#define LIMIT_INGEST_XLSX_RATIO      200u
#define LIMIT_INGEST_XLSX_RATIO_FROM (256ull << 20)
/* All the parts one reading of a workbook opens together (every sheet the search for the
 * first with a value reads, each sheet entry counted once however often it is read again):
 * at most this many bytes, declared or inflated. Twice the largest part: a workbook of
 * many sheets, or of one part listed as many sheets, cannot multiply the work. */
#define LIMIT_INGEST_XLSX_UNCOMPRESSED (2 * LIMIT_INGEST_XLSX_PART)
#define LIMIT_INGEST_STYLES            65536u  /* XLSX cell formats (cellXfs), number formats */
#define LIMIT_INGEST_MERGES            100000u /* XLSX merged ranges in one sheet */
/* Archives and compressed files the privacy gate opens (ingest/archive.c): the bytes of
 * the tables and text copied out of one upload, all members and nested archives together
 * (past it the file is "unscanned" and withheld); the members listed; the nesting of
 * archives opened (an archive inside deeper ones is unscanned too). */
#define LIMIT_ARCHIVE_BYTES     (4ull << 30)
#define LIMIT_ARCHIVE_MEMBERS   100000u
#define LIMIT_ARCHIVE_DEPTH     3u
#define LIMIT_INGEST_TITLE_ROWS 10u /* title rows skipped above a header */
#define LIMIT_INGEST_RECORD_FIELDS                                                                 \
    16384u                           /* fields in one CSV record, distinct JSON keys               \
                                        (Excel's 16,384 columns) */
#define LIMIT_INGEST_JSON_DEPTH 512u /* nesting of JSON arrays and objects */

/* Datastore (CKAN: datastore_search limit default 100, ckan.datastore.search.rows_max 32000). */
#define LIMIT_DATASTORE_FIELDS        1000u /* columns in a table (SQLite allows 2000) */
#define LIMIT_DATASTORE_ROWS_DEFAULT  100u
#define LIMIT_DATASTORE_ROWS_MAX      32000u
#define LIMIT_DATASTORE_RECORDS       100000u      /* records in one datastore_create/upsert call */
#define LIMIT_DATASTORE_FILTER_VALUES 1000u        /* values of one filter */
#define LIMIT_DATASTORE_CELLS         4000000u     /* records × fields in one create/upsert call */
#define LIMIT_DATASTORE_SQL           (64u * 1024) /* bytes of datastore_search_sql's sql */
#define LIMIT_DATASTORE_SQL_ROWS      32000u       /* rows a datastore_search_sql returns */
#define LIMIT_DATASTORE_SQL_MS        10000u       /* datastore_search_sql time limit */
#define LIMIT_DATASTORE_SQL_TABLES    10u /* tables one statement may read (SQLite ATTACH) */

/* Fees and the audit (src/audit/): the largest charges file `kaifang audit
 * import-charges` reads (a million charges are about 100 MB). */
#define LIMIT_AUDIT_CHARGES_BYTES (1024ull * 1024 * 1024)

/* View counting (src/catalog/views.c): distinct datasets one server counts between two
 * flushes (a full table flushes at once; a view of yet another dataset meanwhile is
 * dropped), and the longest id or name counted (CKAN's name limit is 100). */
#define LIMIT_VIEWS_DATASETS 8192u
#define LIMIT_VIEWS_KEY      100u

#endif
