/*
 * store.h - the persistence interface: the only way into the database.
 *
 * All SQL lives in src/store/. Callers see records as jansson objects (the CKAN
 * dictionaries Kaifang serves) plus the few indexed columns that queries need; nothing
 * here assumes which engine is underneath. Backends implement struct store_backend
 * (store-int.h); the SQLite one is the default, a PostgreSQL one follows.
 *
 * Threads and transactions
 *   A struct store is shared by all threads. Reads use a connection private to the
 *   calling thread. Writes happen between store_begin() and store_commit() /
 *   store_rollback(): one writer at a time for the whole process (store_begin blocks
 *   until the previous writer finishes). While a thread holds the write transaction,
 *   its reads go through the write connection and so see its own uncommitted changes.
 *   Every write function must be called inside a transaction (BUG_ON otherwise).
 *
 * Errors
 *   Functions return 0 or a negative enum err_kind and fill err: -ERR_NOT_FOUND for a
 *   missing record, -ERR_CONFLICT when a unique name or id is already taken (field
 *   "name" or "id"), -ERR_INTERNAL for an engine failure (message names the operation;
 *   the engine's own text goes to the log, not to the client).
 *
 * Failure injection (tests only): when the environment variable KAIFANG_FAIL_STORE_AT=N
 *   is set, the Nth store call that writes (counted per process from 1) fails with
 *   -ERR_INTERNAL, so tests can check that a failed write leaves nothing behind.
 *
 * Ownership: json_t results are new references the caller must json_decref().
 */
#ifndef KAIFANG_STORE_STORE_H
#define KAIFANG_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/* Current schema version; migrations bring any older database up to it. */
#define STORE_SCHEMA_VERSION 14

/*
 * Opens the store named by url: "sqlite:PATH", or a bare PATH (SQLite). Creates the
 * database file if missing when create is true, then applies pending migrations.
 * On success *out owns the store; free it with store_free().
 */
int store_open(struct store **out, const char *url, bool create, struct err *err);

/*
 * Opens an existing store to read only (`kaifang ledger verify PORTAL_DIR`): no
 * migration (-ERR_VALIDATION when the schema is not STORE_SCHEMA_VERSION), every write
 * and store_begin() fail, and each connection's page cache is at most cache_kib KiB with
 * no memory map, so that reading the whole database keeps the process small.
 * -ERR_NOT_FOUND when the database does not exist. Free with store_free().
 */
int store_open_readonly(struct store **out, const char *url, size_t cache_kib, struct err *err);

/* Closes every connection and frees s. NULL is a no-op. Must not be called while
 * other threads still use s. */
void store_free(struct store *s);

/* The schema version the database is at (after store_open: STORE_SCHEMA_VERSION). */
int store_schema_version(struct store *s, int *version, struct err *err);

/* Write transactions (see above). store_rollback() is safe to call after a failed
 * commit and when no transaction is open on this thread (then it does nothing). */
int store_begin(struct store *s, struct err *err);
int store_commit(struct store *s, struct err *err);
void store_rollback(struct store *s);

/* A counter bumped by every committed write transaction; readers use it to validate
 * caches of anything the store holds (the ledger's checkpoint, the sequencer's "something
 * changed"). Cheap; safe from any thread. */
uint64_t store_version(struct store *s);

/*
 * A counter bumped by every committed write transaction except those whose only writes
 * were ledger rows (store_ledger_stage, store_ledger_tile_put, store_ledger_checkpoint_put:
 * a restricted read's entry or a refusal's, an integration of the ledger) or web sessions
 * (store_session_put, store_session_delete: signing in and out). Any other write
 * in the transaction (a dataset, a grant, a user, a charge, …) moves it, so it is the key
 * for caches of what the catalog holds (catalog answers, rendered pages, searches,
 * metadata exports): a restricted read, which changes nothing there, leaves them valid.
 * A cache of what the ledger shows (entries, checkpoints, proofs, the audit) must use
 * store_version(). A transaction with no write at all counts as a catalog change. A
 * backend without the distinction answers store_version() (both stores have it). Cheap;
 * safe from any thread.
 */
uint64_t store_catalog_version(struct store *s);

/* Whether the calling thread holds a write transaction on s (store_begin() without its
 * commit or rollback yet): a cache keyed by a version must not keep what it reads then,
 * since the transaction may still roll back. */
bool store_in_transaction(const struct store *s);

/* A number naming this open store, unique within the process and never reused (from 1),
 * unlike its address: the key of process-wide caches of what a store holds (the
 * ledger's full tiles). Safe from any thread. */
uint64_t store_id(const struct store *s);

/* ---- Organizations and groups ------------------------------------------------------
 * Both are "groups" in CKAN terms: is_organization tells them apart. doc is the CKAN
 * organization_show / group_show dictionary (without "packages" and "package_count",
 * which callers compute). */
struct store_group {
    const char *id;   /* UUID, required */
    const char *name; /* unique slug among groups of the same kind */
    bool is_organization;
    const char *state; /* "active" | "deleted" */
    json_t *doc;       /* borrowed */
};

/* Inserts or replaces (by id) a group. -ERR_CONFLICT on a duplicate name. */
int store_group_put(struct store *s, const struct store_group *g, struct err *err);

/* Looks a group up by id or name. *doc: new reference. -ERR_NOT_FOUND if absent or of
 * the other kind. Deleted groups are returned too (callers check "state"). */
int store_group_get(struct store *s, bool is_organization, const char *id_or_name, json_t **doc,
                    struct err *err);

/* Lists active groups of a kind ordered by name: a JSON array of their docs when
 * all_fields, else of their names. limit 0 means no limit. */
int store_group_list(struct store *s, bool is_organization, bool all_fields, size_t offset,
                     size_t limit, json_t **list, struct err *err);

/* ---- Datasets ----------------------------------------------------------------------
 * doc is the whole CKAN package_show dictionary, including "resources", "tags",
 * "groups" and "organization". The other fields are copies of what queries need. */
struct store_facet {
    const char *field; /* "organization", "tags", "res_format", "license_id", "groups", … */
    const char *value;
};

struct store_dataset {
    const char *id;        /* UUID */
    const char *name;      /* unique among datasets (any state) */
    const char *owner_org; /* organization id, or NULL */
    const char *state;     /* "active" | "draft" | "deleted" */
    bool is_private;
    const char *title;
    const char *metadata_modified; /* CKAN timestamp text; sorts as text */
    const char *metadata_created;
    json_t *doc; /* borrowed */
    /* Full-text fields, already tokenised by catalog_search_text() (space-separated
     * tokens): the backend indexes them with BM25 weights title 10, tags 5, text 1. */
    const char *fts_title;
    const char *fts_tags;
    const char *fts_text;
    /* Exact-match values for filters and facets (replaced wholesale on put). */
    const struct store_facet *facets;
    size_t nfacets;
    /* Resource ids in the dataset, for resource_show's lookup by id. */
    const char *const *resource_ids;
    size_t nresource_ids;
    /* A text derived from the dataset by a module above the store (the data.json entry,
     * src/dcat/), kept with it so that readers need not derive it again: derived_len
     * bytes (any bytes), valid for readers that name the same derived_key (what else
     * the text depends on, STORE_DERIVED_KEY bytes). derived NULL: the dataset has none
     * (any it had is removed), so a stale text never outlives a write of its dataset. */
    const void *derived;
    size_t derived_len;
    const uint8_t *derived_key;
    /* The dataset's search summary (catalog_dataset_summary(): a compact JSON object
     * holding only what a list of search results shows of it), kept beside the
     * document so that a results page need not read and parse whole documents
     * (store_search.summaries). NULL: the dataset has none (any it had is removed), and
     * readers get the document instead. */
    const char *summary;
};

/* Bytes of a derived text's key (a SHA-256). */
#define STORE_DERIVED_KEY 32

/* Inserts or replaces (by id) a dataset with its search index rows, facet rows and
 * resource index rows. -ERR_CONFLICT when the name belongs to another dataset id, or a
 * resource id belongs to another dataset. */
int store_dataset_put(struct store *s, const struct store_dataset *d, struct err *err);

/*
 * Sets the derived text of the dataset with this id (see store_dataset): for a reader
 * that derived it from the dataset as it is now and keeps it for the next one. Write:
 * inside a transaction; the caller must know that the dataset did not change since it
 * read it (the store version is the same). A dataset that is gone is not an error.
 * A backend that keeps no derived texts does nothing.
 */
int store_dataset_derived_put(struct store *s, const char *id, const uint8_t *key, const void *text,
                              size_t len, struct err *err);

/* Removes a dataset and everything indexed for it (CKAN's dataset_purge). */
int store_dataset_purge(struct store *s, const char *id, struct err *err);

/* Looks a dataset up by id or name, in any state. *doc: new reference. */
int store_dataset_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err);

/* The id of the dataset holding resource id. out: UUID_STR_LEN-sized buffer. */
int store_resource_dataset(struct store *s, const char *resource_id, char *dataset_id, size_t size,
                           struct err *err);

/* Who may see a dataset in lists and searches. */
struct store_visibility {
    bool all;                   /* sysadmin: private ones of every organization */
    const char *const *org_ids; /* private datasets of these organizations are visible */
    size_t norg_ids;
    bool include_drafts; /* drafts of the visible organizations too */
};

/* Names of active datasets, ordered by name, public ones plus what vis allows.
 * limit 0 means no limit. *names: new JSON array of strings. */
int store_dataset_names(struct store *s, const struct store_visibility *vis, size_t offset,
                        size_t limit, json_t **names, struct err *err);

enum store_sort {
    STORE_SORT_SCORE,    /* BM25 relevance, then metadata_modified desc */
    STORE_SORT_MODIFIED, /* metadata_modified */
    STORE_SORT_CREATED,  /* metadata_created */
    STORE_SORT_NAME,
    STORE_SORT_TITLE,
};

/*
 * The query of a search, engine-neutral: an AND of clauses, each clause an OR of terms,
 * each term a possibly negated test of one dataset (conjunctive normal form). The
 * catalog's parser (src/catalog/search.c) turns Solr syntax into this shape; a backend
 * only has to express AND, OR and NOT over two kinds of test:
 *   - text: tokens (each a catalog_search_text() token) in the full-text index, either
 *     all of them anywhere (phrase false) or adjacent and in this order (phrase true),
 *     in every column or one (SQLite: FTS5 strings, "+" between the tokens of a phrase,
 *     a {column} filter; PostgreSQL: tsquery with & or <->, and weight labels).
 *     A text term with no tokens matches no dataset.
 *   - filter: a facet row field = value exists (the exact filters of fq and facets).
 * A clause with no terms matches no dataset; no clauses: every dataset matches. Text
 * and filters may be mixed in one clause ("river OR tags:water"). Ranking (BM25) is
 * computed over the clauses made only of positive text terms; other clauses filter.
 */
enum store_column {
    STORE_COLUMN_ANY,   /* title, tags and text */
    STORE_COLUMN_TITLE, /* store_dataset.fts_title */
    STORE_COLUMN_TAGS,  /* store_dataset.fts_tags */
    STORE_COLUMN_TEXT,  /* store_dataset.fts_text */
};

struct store_term {
    bool is_filter;
    bool negate; /* the dataset must not pass the test */
    /* is_filter: a facet row with this field and value. */
    struct store_facet filter;
    /* Text: tokens (borrowed), in order; see above. */
    const char *const *tokens;
    size_t ntokens;
    bool phrase;
    enum store_column column;
};

struct store_clause {
    const struct store_term *terms; /* OR: at least one must pass */
    size_t nterms;
};

struct store_search {
    /* AND: every clause must pass. At most LIMIT_SEARCH_TERMS text terms in all, and
     * LIMIT_SEARCH_QUERY tokens (-ERR_SEARCH beyond); filters are not counted (the
     * catalog adds some for visibility). nclauses 0: every dataset matches. */
    const struct store_clause *clauses;
    size_t nclauses;
    struct store_visibility vis;
    enum store_sort sort;
    bool descending;
    size_t start, rows; /* rows may be 0 (count and facets only) */
    /* Facet counts wanted: field names of facet rows; up to facet_limit values each,
     * ordered by count desc then value. */
    const char *const *facet_fields;
    size_t nfacet_fields;
    size_t facet_limit;
    /* The page as the stored texts instead of parsed documents (see docs), for callers
     * that send them on unchanged: package_search splices them into its response
     * (docs/internals/catalog.md, "package_search as text"). */
    bool raw_docs;
    /* With raw_docs: also the datasets' derived texts stored under this key
     * (STORE_DERIVED_KEY bytes; see store_dataset), in store_search_result.derived. */
    const uint8_t *derived_key;
    /* The page as each dataset's search summary (store_dataset.summary) parsed, instead
     * of the whole document; a dataset without one (stored before summaries were kept,
     * or a backend that keeps none) gives its document, which holds every key a summary
     * holds. Not with raw_docs. */
    bool summaries;
};

struct store_search_result {
    size_t count; /* datasets that match, whatever start/rows */
    /* The page's package dicts in order, a new reference to an array. With raw_docs,
     * each element is instead a JSON string holding the document's stored text, not
     * checked as UTF-8 (json_stringn_nocheck): what store_dataset_put stored,
     * json_dumps(doc, JSON_COMPACT) of the package dict, so that
     * json_dumps(json_loadb(text), JSON_COMPACT) gives the same bytes (jansson keeps
     * the key order, and strings and numbers round-trip exactly). */
    json_t *docs;
    /* With derived_key: an array as long as docs, each element the dataset's derived
     * text stored under that key as a JSON string (json_stringn_nocheck, any bytes), or
     * null when it has none; where it is a string, docs holds null instead of the
     * stored text (which was not read). NULL when the backend keeps no derived texts
     * (then every element of docs is the stored text). New reference. */
    json_t *derived;
    json_t *facets; /* {"field": [["value", count], …]}; new reference */
};

/* Runs a catalog search. Only state "active" datasets (and drafts when vis says so).
 * store_search_result_release() frees what res holds, also after a failure. */
int store_dataset_search(struct store *s, const struct store_search *q,
                         struct store_search_result *res, struct err *err);
void store_search_result_release(struct store_search_result *res);

/* Active tags of visible datasets, ordered by name; optional prefix filter (NULL for all).
 * *tags: new JSON array of strings. */
int store_tag_list(struct store *s, const char *prefix, json_t **tags, struct err *err);

/*
 * Dataset views (issue 4: the home page's most-viewed datasets; CKAN's tracking counts
 * page views the same way, summed per dataset). One count to add: dataset is an id or a
 * name (as the page or package_show was asked for it), views > 0.
 */
struct store_view_count {
    const char *dataset; /* borrowed */
    uint64_t views;
};

/*
 * Adds each count to its dataset's stored total, in one transaction of its own: a sum,
 * so several servers sharing the store each add what they counted. A count is added
 * only when its dataset exists and is public now (active, not private, access_level
 * neither "restricted public" nor "non-public"); the others are dropped, so a private,
 * draft or restricted dataset's views are never kept. *added: how many of the n counts
 * were kept. Does not move store_version(): view totals are not catalog content, and
 * a flush must not empty every page cache. Must not be called inside store_begin() on
 * the same thread. -ERR_INTERNAL "not supported" on a backend without view totals;
 * -ERR_UNAVAILABLE when the database stays busy. Write (counts for failure injection).
 */
int store_dataset_views_add(struct store *s, const struct store_view_count *v, size_t n,
                            size_t *added, struct err *err);

/* Whether the backend keeps view totals (both stores do; a backend without them
 * counts nothing). */
bool store_dataset_views_supported(const struct store *s);

/*
 * The most-viewed datasets that are public now (as store_dataset_views_add() decides),
 * most views first (ties: by id), at most limit (1 … 1000): *list a new JSON array of
 * {"dataset": the stored package dict, "views": total}. Same errors as above.
 */
int store_dataset_views_top(struct store *s, size_t limit, json_t **list, struct err *err);

/* Number of active public datasets of an organization or group (by id). */
int store_group_dataset_count(struct store *s, bool is_organization, const char *group_id,
                              size_t *count, struct err *err);

/* ---- Users, tokens, memberships ---------------------------------------------------- */
struct store_user {
    const char *id;
    const char *name; /* unique */
    const char *fullname;
    const char *email;
    bool sysadmin;
    const char *state;         /* "active" | "deleted" */
    const char *password_hash; /* argon2id string, or NULL */
    const char *created;
};

/* Inserts or replaces (by id) a user. -ERR_CONFLICT on a duplicate name. */
int store_user_put(struct store *s, const struct store_user *u, struct err *err);

/* A user as a JSON object {"id","name","fullname","email","sysadmin","state","created"}
 * (never the password hash). By id or name. */
int store_user_get(struct store *s, const char *id_or_name, json_t **user, struct err *err);

/* All users ordered by name, as store_user_get objects. */
int store_user_list(struct store *s, json_t **users, struct err *err);

/* The API tokens of user_id as a new JSON array of {"id", "label" (or null), "created"},
 * oldest first; never a token or its hash. -ERR_INTERNAL "not available" on a backend
 * without it (PostgreSQL for now). */
int store_token_list(struct store *s, const char *user_id, json_t **tokens, struct err *err);

/* Sets a user's state ("active" | "deleted": disabled, as CKAN's user_delete), leaving
 * everything else of the user as it is. -ERR_NOT_FOUND when no such user. Write. */
int store_user_state_set(struct store *s, const char *user_id, const char *state, struct err *err);

/* Stores a token: id (UUID), owner user id, hash (secret_token_hash), a label. */
int store_token_put(struct store *s, const char *token_id, const char *user_id,
                    const char *token_hash, const char *label, const char *created,
                    struct err *err);

/* Finds the active user owning a token hash; *user as store_user_get. -ERR_NOT_FOUND
 * when no such token or the user is deleted. */
int store_token_user(struct store *s, const char *token_hash, json_t **user, struct err *err);

/* Revokes a token by id. */
int store_token_revoke(struct store *s, const char *token_id, struct err *err);

/* Sets (insert or replace) or, with capacity NULL, removes a user's membership in an
 * organization or group. capacity: "admin" | "editor" | "member". */
int store_member_set(struct store *s, const char *group_id, const char *user_id,
                     const char *capacity, struct err *err);

/* The user's capacity in a group, copied into out ("admin", …); -ERR_NOT_FOUND when
 * not a member. */
int store_member_get(struct store *s, const char *group_id, const char *user_id, char *out,
                     size_t size, struct err *err);

/* The ids of the organizations a user is a member of (any capacity), as a JSON array
 * of {"id", "capacity"}. */
int store_member_orgs(struct store *s, const char *user_id, json_t **orgs, struct err *err);

/* ---- Roles and grants (src/access/; docs/internals/access.md) ---------------------- */

/*
 * Gives (on true) or takes away (on false) a role: role "approver" | "auditor" |
 * "grantee", org_id the organization's id, or NULL or "" for a portal-wide role.
 * Giving a role held already is no change (0); taking one not held is -ERR_NOT_FOUND.
 * -ERR_NOT_FOUND when the user does not exist. Write.
 */
int store_role_set(struct store *s, const char *user_id, const char *role, const char *org_id,
                   bool on, struct err *err);

/* A user's roles as a new JSON array of {"role", "organization": id or null}, ordered by
 * role then organization. */
int store_roles_of(struct store *s, const char *user_id, json_t **roles, struct err *err);

/* Every role of every active user, as a new JSON array of {"user": name, "role",
 * "organization": id or null}, ordered by user name, role, organization. */
int store_role_list(struct store *s, json_t **roles, struct err *err);

/* Inserts or replaces (by id) a grant: doc (borrowed) is its whole record, the other
 * arguments the columns looked up by (created: ISO time, orders a dataset's grants).
 * Write. */
int store_grant_put(struct store *s, const char *id, const char *dataset_id, const char *grantee_id,
                    const char *state, const char *created, const json_t *doc, struct err *err);

/* A grant's doc by id (new reference). -ERR_NOT_FOUND. */
int store_grant_get(struct store *s, const char *id, json_t **doc, struct err *err);

/* The docs of the grants on dataset_id (when not NULL) of grantee_id (when not NULL),
 * oldest first, as a new JSON array; both NULL: every grant. */
int store_grant_list(struct store *s, const char *dataset_id, const char *grantee_id, json_t **docs,
                     struct err *err);

/* ---- Passwords and web sessions (src/access/session.c; docs/internals/access.md) ----- */

/* The argon2id string of the active user called name (its crypto_pwhash_str form) into
 * *hash (malloc'ed, free() it; NULL when the user has no password) and the user as
 * store_user_get gives it into *user (new reference). -ERR_NOT_FOUND when no active user
 * has that name (by name only, never by id). */
int store_user_password_get(struct store *s, const char *name, json_t **user, char **hash,
                            struct err *err);

/* Sets (hash a crypto_pwhash_str string) or clears (NULL) the password of user_id.
 * -ERR_NOT_FOUND when no such user. Write. */
int store_user_password_set(struct store *s, const char *user_id, const char *hash,
                            struct err *err);

/* Stores a web session: id_hash the hex BLAKE2b of the session id (the id itself is only
 * in the browser's cookie), its user, its CSRF token (synchronizer token, sent back in
 * every form), and its end as Unix seconds. Also deletes every session that ended
 * before now (Unix seconds), so the table does not grow with abandoned ones. Write. */
int store_session_put(struct store *s, const char *id_hash, const char *user_id, const char *csrf,
                      int64_t expires, int64_t now, struct err *err);

/* The session id_hash when it ends after now (Unix seconds) and its user is active: the
 * user as store_user_get gives it (*user, new reference) and the CSRF token (*csrf,
 * malloc'ed, free() it). -ERR_NOT_FOUND otherwise (no such session, ended, user
 * deleted); the message never echoes the hash. */
int store_session_get(struct store *s, const char *id_hash, int64_t now, json_t **user, char **csrf,
                      struct err *err);

/* Deletes the session id_hash, or (id_hash NULL) every session of user_id (none: 0,
 * nothing changes). Write. */
int store_session_delete(struct store *s, const char *id_hash, const char *user_id,
                         struct err *err);

/*
 * Sends the reads of s to a read replica from now on (`kaifang serve --read-store`):
 * url is a postgresql:// URI of a hot standby of s's primary (or any server holding the
 * same database). Reads outside a write transaction on the threads' own connections
 * (catalog, search, users, tokens, sessions, ledger rows and checkpoints, the store
 * version) go to it, each thread opening its connection on its first read; writes,
 * everything inside store_begin … store_commit, the sequencer's thread (its election is
 * a lock on the primary) and the datastore tables stay on the primary. A replica lags:
 * a read right after a write may not see it yet (caches follow the version the replica
 * shows). Call before any thread reads. -ERR_VALIDATION for a store that is not
 * PostgreSQL or a malformed URL; -ERR_UNAVAILABLE when the replica does not answer (it
 * is tried once here). The URL is never echoed.
 */
int store_read_replica_set(struct store *s, const char *url, struct err *err);

/*
 * Whether the calling thread leads the integration of the ledger (the sequencer,
 * src/ledger/sequencer.c): of the processes sharing one database, one leads at a time.
 * SQLite: always true (the file is one host's; writers are serialised anyway).
 * PostgreSQL: a session advisory lock taken by the first thread to ask and held by that
 * thread's connection until it closes (the process stops or dies), after which another
 * process's next call takes it. *lead gets the answer; an engine failure is an error
 * (then *lead is false). Integration stays safe without it (a write transaction); the
 * election only keeps the other servers from doing the work twice.
 */
int store_sequencer_lead(struct store *s, bool *lead, struct err *err);

/* ---- The public ledger (src/ledger/; docs/internals/ledger.md) ----------------------
 * Three kinds of rows: entries (index, canonical entry bytes, RFC 9162 leaf hash), tiles
 * (C2SP tlog-tiles hash tiles, level L index N, the w <= 256 hashes it holds so far) and
 * signed checkpoints (tree size, root, note, time). An entry is "staged" from
 * store_ledger_stage() until a checkpoint covers it; the integrated size is the size of
 * the latest checkpoint. The store only keeps bytes: hashing, tree layout and signing
 * are the ledger's. Hashes are STORE_LEDGER_HASH bytes. */
#define STORE_LEDGER_HASH       32
#define STORE_LEDGER_TILE_WIDTH 256

struct store_ledger_entry {
    uint64_t index;
    char *entry; /* owned, NUL-terminated after len bytes */
    size_t len;
    uint8_t leaf_hash[STORE_LEDGER_HASH];
};

/*
 * Stages one entry (write; inside the caller's transaction): assigns it the next index
 * (one more than the largest stored, 0 first) atomically, as the single writer, and
 * stores entry (len bytes) and its leaf hash. *index gets the index.
 */
int store_ledger_stage(struct store *s, const void *entry, size_t len,
                       const uint8_t leaf_hash[STORE_LEDGER_HASH], uint64_t *index,
                       struct err *err);

/*
 * Stages one entry as store_ledger_stage() does, in a write transaction of its own, and
 * returns once that transaction committed (0: the entry is in the database; with
 * SQLite's synchronous = NORMAL in WAL mode it survives the process being killed, not a
 * power loss) or failed (a negative error; nothing of it is stored). Concurrent callers
 * share one transaction (group commit): a caller that finds no transaction of this kind
 * running commits the entries of every caller queued behind it (at most
 * STORE_LEDGER_GROUP_MAX), which wait and return with its result, so that N concurrent
 * entries cost one commit, not N, and each caller still returns only after its own entry
 * committed. If the shared transaction fails, every entry of it fails. The transaction
 * writes ledger rows only: store_catalog_version() does not move. *index gets the index.
 * Must not be called inside a transaction on the calling thread. Thread-safe.
 */
int store_ledger_append(struct store *s, const void *entry, size_t len,
                        const uint8_t leaf_hash[STORE_LEDGER_HASH], uint64_t *index,
                        struct err *err);
#define STORE_LEDGER_GROUP_MAX 256

/* The number of entries stored (staged or integrated): the next index. */
int store_ledger_count(struct store *s, uint64_t *count, struct err *err);

/*
 * The mark of the ledger journal (src/ledger/journal.c, docs/internals/ledger.md "The
 * read journal"): the generation of the journal file all of whose records are staged in
 * ledger_entries, 0 when none was. Both only inside a write transaction (BUG_ON
 * otherwise), so that the mark and the entries it stands for commit together; the put is
 * a ledger row (store_catalog_version() does not move). -ERR_INTERNAL naming the backend
 * when it keeps no mark: see store_ledger_journal_supported().
 */
int store_ledger_journal_get(struct store *s, uint64_t *gen, struct err *err);
int store_ledger_journal_put(struct store *s, uint64_t gen, struct err *err);

/* Whether the backend keeps the journal mark (SQLite: yes; PostgreSQL: not yet, its
 * servers commit each read's entry with store_ledger_append()). */
bool store_ledger_journal_supported(const struct store *s);

/* Leaf hashes of entries [start, end) into out (end - start rows of STORE_LEDGER_HASH
 * bytes). -ERR_INTERNAL when one of them is missing. */
int store_ledger_leaves(struct store *s, uint64_t start, uint64_t end,
                        uint8_t (*out)[STORE_LEDGER_HASH], struct err *err);

/* Entries [start, end) (end - start <= STORE_LEDGER_TILE_WIDTH), as a new array in *out
 * of *n elements (fewer when the log ends first); free with store_ledger_entries_free(). */
int store_ledger_entries(struct store *s, uint64_t start, uint64_t end,
                         struct store_ledger_entry **out, size_t *n, struct err *err);
void store_ledger_entries_free(struct store_ledger_entry *e, size_t n);

/* The smallest index below `below` whose leaf hash is leaf; -ERR_NOT_FOUND otherwise. */
int store_ledger_find_leaf(struct store *s, const uint8_t leaf[STORE_LEDGER_HASH], uint64_t below,
                           uint64_t *index, struct err *err);

/* Tile (level, index): its hashes into out (room for STORE_LEDGER_TILE_WIDTH hashes) and
 * their number into *width. -ERR_NOT_FOUND when no such tile is stored. */
int store_ledger_tile_get(struct store *s, unsigned level, uint64_t index,
                          uint8_t (*out)[STORE_LEDGER_HASH], size_t *width, struct err *err);

/* Stores (inserts or replaces) tile (level, index) with width hashes (1..256). Write. */
int store_ledger_tile_put(struct store *s, unsigned level, uint64_t index,
                          const uint8_t (*hashes)[STORE_LEDGER_HASH], size_t width,
                          struct err *err);

/* Stores a signed checkpoint (write). size must be larger than every stored one's, or
 * the first (-ERR_CONFLICT otherwise: a log never signs two trees of one size). time is
 * RFC 3339 text. */
int store_ledger_checkpoint_put(struct store *s, uint64_t size,
                                const uint8_t root[STORE_LEDGER_HASH], const char *note,
                                const char *time, struct err *err);

/* The latest checkpoint: its size, root and (when note is not NULL) signed note as a
 * new string to free(). -ERR_NOT_FOUND when none was stored yet. */
int store_ledger_checkpoint_get(struct store *s, uint64_t *size, uint8_t root[STORE_LEDGER_HASH],
                                char **note, struct err *err);

/*
 * Every stored checkpoint in increasing size: fn(ctx, size, root, note, err) for each,
 * the root and note borrowed for the call only. A non-zero return from fn stops the walk
 * and is returned (fn sets err). One read snapshot: a checkpoint stored meanwhile is
 * not seen. Memory: one row at a time.
 */
int store_ledger_checkpoints(struct store *s,
                             int (*fn)(void *ctx, uint64_t size,
                                       const uint8_t root[STORE_LEDGER_HASH], const char *note,
                                       struct err *err),
                             void *ctx, struct err *err);

#endif
