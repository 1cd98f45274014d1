/*
 * ui.h - the HTML pages (one file per page, as cgit's ui-*.c). A minimal set for now:
 * the home page, the dataset search results and the dataset page; the full web portal
 * comes later.
 *
 * Each page function appends a whole UTF-8 HTML document to out and returns 0, or a
 * negative enum err_kind with err set (-ERR_NOT_FOUND for a dataset the actor may not
 * see) in which case out holds nothing useful and the caller renders ui_error_page().
 * Everything that came from the catalog is escaped at the sink (web/html.h).
 * Thread-safe.
 */
#ifndef KAIFANG_WEB_UI_H
#define KAIFANG_WEB_UI_H

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"

/* "/": counts, the newest datasets, the organizations, a search box. */
int ui_home(struct catalog *c, const struct actor *a, struct buf *out, struct err *err);

/* Results per page of the search page, and the highest page number read from a URL
 * (UI_SEARCH_ROWS * UI_SEARCH_PAGE_MAX stays within package_search's start limit). */
#define UI_SEARCH_ROWS     20u
#define UI_SEARCH_PAGE_MAX 50000u

/* "/dataset?q=…&page=N": package_search results for q (NULL or "": every dataset),
 * UI_SEARCH_ROWS per page. page: the query's "page" string, NULL, or anything else
 * (not a number ≥ 1: page 1; past the last page: the last page). With more than one
 * page, "Page N of M" with links to the previous and next pages that keep q. */
int ui_dataset_search_page(struct catalog *c, const struct actor *a, const char *q,
                           const char *page, struct buf *out, struct err *err);

/* "/dataset/<id or name>": title, notes (Markdown, safe mode), organization, licence,
 * tags and resources with download links. */
int ui_dataset(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
               struct err *err);

struct ledger_key;

/* The query of the ledger page, each member NULL when absent. */
struct ui_ledger_query {
    const char *before; /* show entries with a lower index (default: the newest) */
    const char *type;   /* only entries of this type ("dataset_create") */
    const char *org;    /* only entries of this organization (its name) */
};

/* Entries per ledger page, and how many entries a filtered page looks at at most. */
#define UI_LEDGER_ROWS 50u
#define UI_LEDGER_SCAN 4096u

/* "/ledger": the latest signed checkpoint (origin, size, root hash, the note itself,
 * verified with key before it is shown; key NULL: shown unverified), the verifier key,
 * and the entries of the log newest first, UI_LEDGER_ROWS per page, each with its
 * index, time, type, actor, organization, objects (a dataset links to its page) and a
 * link to its inclusion proof. Filters by type and organization (exact match) look at
 * up to UI_LEDGER_SCAN entries per page. -ERR_INTERNAL when the store fails or the
 * checkpoint does not verify. */
int ui_ledger(struct catalog *c, const struct ledger_key *key, const struct ui_ledger_query *q,
              struct buf *out, struct err *err);

/* A small error page: status line as the title, message as text. */
void ui_error_page(unsigned status, const char *message, struct buf *out);

#endif
