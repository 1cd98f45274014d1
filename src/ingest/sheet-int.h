/*
 * sheet-int.h - what the two spreadsheet readers (xlsx.c, xls.c) share: choosing the
 * sheet the options name and recording it in the source's info (docs/internals/ingest.md,
 * "Spreadsheets").
 */
#ifndef KAIFANG_INGEST_SHEET_INT_H
#define KAIFANG_INGEST_SHEET_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ingest/ingest.h"

/*
 * Finds the sheet want names among the workbook's n sheet names (UTF-8, in workbook
 * order): a name equal to want wins, else want as a 1-based index in decimal ("2").
 * Sets *index (0-based) and returns 0, or -ERR_VALIDATION with field "sheet":
 * sheet "want" not found, listing the names the workbook has.
 */
int ingest_sheet_lookup(char *const *names, size_t n, const char *want, size_t *index,
                        struct err *err);

/* Fills info for sheet index (0-based) of the n names: format, sheet (cut at a UTF-8
 * character boundary to fit), sheet_index (1-based), nsheets, bytes; encoding "". */
void ingest_sheet_info(struct ingest_info *info, enum ingest_format format, char *const *names,
                       size_t n, size_t index, uint64_t bytes);

/* Frees the first n strings of v and v itself (v need not be NULL-terminated). */
void ingest_sheet_names_free(char **v, size_t n);

#endif
