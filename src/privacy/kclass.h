/*
 * kclass.h - the equivalence classes of a table over its quasi-identifiers, as they are
 * (no generalisation): how many records share each combination of values, and the size
 * of the smallest class, which is the k of k-anonymity the table reaches (Samarati 2001;
 * Sweeney 2002, "k-anonymity: a model for protecting privacy"). The publish gate
 * compares it with the portal's k (docs/internals/privacy-gate.md).
 *
 * Rows are added one at a time, in any order; memory grows with the distinct
 * combinations (each kept once, its bytes and a count), not with the rows. A NULL is a
 * value of its own, distinct from every text (an empty cell is one class's value like
 * any other); an INT is compared as its value, TEXT byte for byte.
 *
 * Thread-safety: one object belongs to one thread at a time.
 */
#ifndef KAIFANG_PRIVACY_KCLASS_H
#define KAIFANG_PRIVACY_KCLASS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dstype.h"

struct kclass;

/* A counter of classes over n values per row (n ≥ 1). Free with kclass_free(). */
struct kclass *kclass_new(size_t n);

/* Counts one row: values[0..n-1] as kclass_new() was given n (borrowed for the call). */
void kclass_add(struct kclass *k, const struct dsvalue *values);

/* Rows counted. */
uint64_t kclass_rows(const struct kclass *k);

/* Distinct combinations (equivalence classes) seen. */
uint64_t kclass_classes(const struct kclass *k);

/* The size of the smallest class: the k the rows reach; 0 when no row was counted. */
uint64_t kclass_min(const struct kclass *k);

/* Rows in classes smaller than k (records a k-anonymity requirement of k would have to
 * generalise or suppress). */
uint64_t kclass_rows_below(const struct kclass *k, uint64_t kmin);

/* NULL is a no-op. */
void kclass_free(struct kclass *k);

#endif
