/*
 * anon.h - de-identification by full-domain generalisation: hierarchies, the table of
 * quasi-identifiers encoded as small integers, privacy models (k-anonymity, distinct and
 * entropy l-diversity, t-closeness) with a record-suppression limit, the globally optimal
 * search over the lattice of hierarchy levels, utility metrics and re-identification
 * risk. docs/internals/privacy-anonymization.md.
 *
 * The definitions follow ARX 3.9.2 (Prasser, Kohlmayer et al.; arx.deidentifier.org),
 * so that the same data, hierarchies and configuration give the same optimum, the same
 * suppressed records and the same scores: k-anonymity (Samarati 2001, Sweeney 2002),
 * l-diversity (Machanavajjhala et al. 2007), t-closeness (Li et al. 2007), the search
 * after Flash (Kohlmayer et al. 2012), and the metrics as ARX's MetricMDNMLoss,
 * MetricMDNUNMEntropy, MetricSDDiscernability and average class size compute them.
 *
 * Thread-safety: every object belongs to one thread at a time; distinct objects are
 * independent.
 */
#ifndef KAIFANG_PRIVACY_ANON_H
#define KAIFANG_PRIVACY_ANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ---- Generalisation hierarchies ------------------------------------------------------ */

#define ANON_MAX_LEVELS   64u         /* levels of one hierarchy (level 0 included) */
#define ANON_MAX_ROWS     (1u << 24)  /* values (rows) of one hierarchy */
#define ANON_MAX_HIER_SRC (64u << 20) /* bytes of a hierarchy CSV file */

/*
 * A hierarchy: nrows rows of height values each; row r's value at level l is
 * cells[r * height + l] (NUL-terminated UTF-8). Level 0 holds the original values, all
 * distinct; each level is a function of the one below (a value at level l always maps
 * to the same value at level l + 1). name says where it came from (a file name or a
 * built-in specification), for messages.
 */
struct anon_hierarchy {
    char *name;
    size_t height;
    size_t nrows;
    char **cells;
};

/*
 * Parses a hierarchy in ARX's CSV format (ARX's Hierarchy.create(file, charset, ';');
 * notes privacy.md §1.1): no header, ';' between values, '"' quotes ("" inside a quoted
 * value is one '"'), LF or CRLF line ends, one row per original value, the same number
 * of values on every row. Blank lines are ignored. name names the source in messages.
 * Errors (-ERR_VALIDATION, err->field "hierarchy", messages naming the file and line):
 * an empty file, a row of another height than the first, an unterminated quote, a value
 * listed twice at level 0, a value of level l that maps to two values of level l + 1
 * (ARX: "can either be transformed to"), more than ANON_MAX_LEVELS levels or
 * ANON_MAX_ROWS rows; -ERR_TOO_LARGE past ANON_MAX_HIER_SRC bytes. On success *out owns
 * the hierarchy (anon_hierarchy_free()).
 */
int anon_hierarchy_parse(struct anon_hierarchy **out, const char *data, size_t len,
                         const char *name, struct err *err);

/* anon_hierarchy_parse() of the file at path (named by its path). -ERR_VALIDATION when it
 * cannot be read. */
int anon_hierarchy_load(struct anon_hierarchy **out, const char *path, struct err *err);

/*
 * Builds a hierarchy for the n distinct values of a column (values[i], any order, no
 * repeats) from a built-in specification:
 *   "date"               YYYY-MM-DD → YYYY-MM → YYYY-Qq → YYYY → decade "1990s" → "*"
 *   "interval:W1,W2,…"   numbers → the interval [floor(x/W1)·W1, +W1) → … → "*"; widths
 *                        positive integers, each a multiple of the one before (so levels
 *                        nest); written "lo-hi" with hi included when every value is an
 *                        integer (ARX's style: "20-24"), else "[lo,hi)"
 *   "region"             GB/T 2260 codes of six digits: county → first four digits and
 *                        "00" (city) → first two and "0000" (province) → "*"
 *   "mask" / "postal"    masking from the right one character per level: "100101" →
 *                        "10010*" → … → "******" → "*" (characters are code points)
 * A value that does not fit ("2020-13-01" for date, "abc" for interval) is
 * -ERR_VALIDATION naming it; an unknown or malformed specification too (err->field
 * "hierarchy"). The hierarchy's rows are the column's values only, so ARX's Loss counts
 * its domain as the values present.
 */
int anon_hierarchy_builtin(struct anon_hierarchy **out, const char *spec, const char *const *values,
                           size_t n, struct err *err);

/*
 * The distinct values of a column of the table at path (read as anon_data_load() reads
 * it), for a built-in hierarchy: *values a new array of *n new strings in first-seen
 * order (free each and the array). -ERR_VALIDATION "column \"x\" not found" (err->field
 * field) or an ingest error.
 */
int anon_column_values(const char *path, const char *column, const char *field, char ***values,
                       size_t *n, struct err *err);

/* Whether spec names a built-in hierarchy (its word before ':' is one of the above). */
bool anon_hierarchy_is_builtin(const char *spec);

void anon_hierarchy_free(struct anon_hierarchy *h);

/* ---- The encoded table ---------------------------------------------------------------- */

/*
 * A table read for anonymisation: every column as text, the quasi-identifiers
 * dictionary-encoded (each distinct value an id; each level of its hierarchy a map from
 * id to the id of the generalised value), records with the same quasi-identifiers and
 * sensitive value collapsed into weighted tuples. Opaque; see anon_data_*().
 */
struct anon_data;

/* One quasi-identifier to generalise: the column's field id (or header text) and its
 * hierarchy (borrowed: it must outlive the data). */
struct anon_qi {
    const char *column;
    const struct anon_hierarchy *hierarchy;
};

/*
 * Reads the table at path (any format src/ingest reads, every field as text; a NULL
 * cell is the value "") and encodes the nqi quasi-identifiers qi[] (at most 64, at
 * least 1) and the optional sensitive column (NULL for none; its hierarchy, needed for
 * hierarchical t-closeness, may be NULL). Errors: those of ingest_table_open() and
 * ingest_table_next(); -ERR_VALIDATION "column \"x\" not found" (err->field "qi" or
 * "sensitive"), a column named twice, and a value missing from its hierarchy:
 * "value \"v\" of column \"c\" (line L) is not in hierarchy \"file\"". *out owns the data
 * (anon_data_free()); it keeps every cell for anon_data_write().
 */
int anon_data_load(struct anon_data **out, const char *path, const struct anon_qi *qi, size_t nqi,
                   const char *sensitive, const struct anon_hierarchy *sensitive_h,
                   struct err *err);

void anon_data_free(struct anon_data *d);

/* Records in the table (N). */
uint64_t anon_data_records(const struct anon_data *d);
/* Quasi-identifiers, and the height of QI j's hierarchy. */
size_t anon_data_nqi(const struct anon_data *d);
size_t anon_data_height(const struct anon_data *d, size_t j);
/* The field id of QI j. */
const char *anon_data_qi_name(const struct anon_data *d, size_t j);

/* ---- Models, metrics, search ----------------------------------------------------------- */

enum anon_metric {
    ANON_METRIC_LOSS = 0,       /* ARX "Loss": gs-factor 0.5, geometric mean; lower is better */
    ANON_METRIC_ENTROPY,        /* non-uniform entropy, non-monotonic, sum over QIs */
    ANON_METRIC_DISCERNIBILITY, /* Σ |E|² over kept classes + S·N */
    ANON_METRIC_AECS,           /* N / (kept classes + 1 if anything is suppressed) */
};

/* "loss", "entropy", "discernibility", "aecs". */
const char *anon_metric_name(enum anon_metric m);
/* Parses the names above (and "dm", "discernability"); false otherwise. */
bool anon_metric_parse(const char *s, enum anon_metric *out);

enum anon_ldiv {
    ANON_LDIV_NONE = 0,
    ANON_LDIV_DISTINCT, /* every class has at least l distinct sensitive values */
    ANON_LDIV_ENTROPY,  /* every class's sensitive entropy -Σ p ln p is at least ln l */
};

enum anon_tclose {
    ANON_TCLOSE_NONE = 0,
    ANON_TCLOSE_EQUAL,        /* EMD with equal ground distance: ½ Σ |p_i − q_i| */
    ANON_TCLOSE_HIERARCHICAL, /* EMD over the sensitive attribute's hierarchy (Li et al.) */
};

/* The privacy requirement and the objective. */
struct anon_config {
    uint32_t k;              /* k-anonymity, ≥ 1 (1: no k requirement) */
    enum anon_ldiv ldiv;     /* needs a sensitive column */
    double l;                /* l-diversity's l (≥ 1; distinct: an integer) */
    enum anon_tclose tclose; /* needs a sensitive column (hierarchical: and its hierarchy) */
    double t;                /* t-closeness's t, in [0, 1] */
    double suppression;      /* share of records that may be suppressed, in [0, 1] */
    enum anon_metric metric;
};

/* The values of every metric at one node, and its classes. */
struct anon_scores {
    uint64_t suppressed; /* S: records in classes that fail the models (all of them, even
                            beyond the limit; see feasible) */
    uint64_t classes;    /* classes that are kept (pass the models) */
    uint64_t min_class;  /* smallest kept class, 0 when none */
    double loss;
    double entropy;
    double discernibility;
    double aecs;
    bool feasible; /* S ≤ floor(suppression · N) */
};

/*
 * Evaluates the node levels[0..nqi-1] (each below its hierarchy's height): the classes
 * of the records generalised to those levels, those that fail the models suppressed
 * whole, and every metric. -ERR_VALIDATION for a level out of range or a configuration
 * the data cannot serve (l-diversity without a sensitive column…).
 */
int anon_evaluate(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
                  struct anon_scores *out, struct err *err);

/* What the search did. */
struct anon_result {
    bool found;       /* false: no node of the lattice satisfies the models */
    unsigned *levels; /* nqi levels of the optimum (owned; anon_result_release()) */
    struct anon_scores scores;
    double score;       /* the chosen metric's value at the optimum */
    uint64_t nodes;     /* nodes of the lattice */
    uint64_t checked;   /* nodes whose classes were computed */
    uint64_t rollups;   /* of which from a computed predecessor, not from the data */
    uint64_t stopped;   /* of which found not anonymous before their grouping ended (more
                           classes than an anonymous node can have) */
    uint64_t pruned;    /* nodes left out by the bound that counts the records suppressed
                           at anonymous nodes above them (Loss with suppression) */
    double seconds;     /* time of the search (CLOCK_MONOTONIC), loading excluded */
    double cpu_seconds; /* CPU time of the process during the search
                           (CLOCK_PROCESS_CPUTIME_ID: user + system, every thread) */
};

/*
 * The globally optimal full-domain generalisation: among the nodes of the lattice of
 * hierarchy levels whose suppressed records fit the limit, the one with the lowest
 * value of c->metric; ties go to the node found first (fewer levels in all, then the
 * last QI's level lowest). Feasibility is tagged through the lattice where it is
 * monotonic (k-anonymity and distinct l-diversity always; entropy l-diversity and
 * t-closeness without suppression): an anonymous node makes its successors anonymous, a
 * non-anonymous one its predecessors non-anonymous; nodes are checked along greedy paths
 * by binary search (Flash). For Loss and non-uniform entropy, whose value without
 * suppression is a lower bound of the value with it, nodes are taken in ascending order
 * of that bound and the search stops at the first bound above the best score; the paths
 * are then kept below that score and their tops checked first. For the other metrics,
 * only the minimal anonymous nodes are scored without suppression (metrics are monotonic
 * then); with suppression every anonymous node is scored unless a lower bound computed
 * from the levels alone already loses. A node's
 * classes are computed from those of a computed predecessor when there is one
 * (roll-up). out is filled (release with anon_result_release()). -ERR_VALIDATION for a
 * configuration the data cannot serve; -ERR_TOO_LARGE for a lattice of more than 2^22
 * nodes.
 */
int anon_search(struct anon_data *d, const struct anon_config *c, struct anon_result *out,
                struct err *err);

void anon_result_release(struct anon_result *r);

/* ---- Risk and output ------------------------------------------------------------------- */

/*
 * Re-identification risk of the table released at levels with the given classes
 * (sample-based, the population taken as the sample; ARX's "prosecutor" risk):
 * highest = 1 / smallest class, average = classes / N, records at risk = share of
 * records with 1/|E| > threshold, sample uniques = share of records alone in their
 * class. Journalist risk equals prosecutor risk when the sample is the population;
 * marketer risk is the average. Suppressed records count as one class of their own
 * (they are all "*"), as ARX's output has them.
 */
struct anon_risk {
    double highest;
    double average;
    double at_risk;
    double uniques;
    uint64_t classes;
};

int anon_risk(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
              double threshold, struct anon_risk *out, struct err *err);

/*
 * Writes the table generalised to levels as CSV (RFC 4180, ',' between fields, CRLF
 * line ends; the header the table's field ids): every quasi-identifier replaced by its
 * value at its level, and the records of suppressed classes with "*" in every
 * quasi-identifier (ARX's output); the other columns unchanged. -ERR_INTERNAL when the
 * file cannot be written.
 */
int anon_data_write(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
                    const char *path, struct err *err);

#endif
