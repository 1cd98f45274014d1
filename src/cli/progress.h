/*
 * progress.h - a progress bar for long commands (load), on stderr and only when stderr
 * is a terminal: scripts and logs see nothing of it.
 *
 *   loading  [##########..........]  7/21 datasets  3.1/7.2 MB  12.3 MB/s
 *
 * Not thread-safe: one progress per command, drawn from the thread doing the work.
 */
#ifndef KAIFANG_CLI_PROGRESS_H
#define KAIFANG_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct progress {
    bool enabled; /* stderr is a terminal (and TERM is not "dumb") */
    const char *label;
    const char *unit; /* what the items are: "datasets" */
    size_t items_total, items_done;
    uint64_t bytes_total, bytes_done;
    uint64_t start_us, last_draw_us;
    bool drawn; /* a bar is on screen and must be cleared before other output */
};

/* Starts a bar. label and unit are borrowed and must outlive p. Draws nothing when
 * stderr is not a terminal. */
void progress_start(struct progress *p, const char *label, const char *unit, size_t items_total,
                    uint64_t bytes_total);

/* Records progress and redraws at most ten times a second. */
void progress_items(struct progress *p, size_t items_done);
void progress_bytes(struct progress *p, uint64_t more_bytes);

/* Clears the bar from the screen so a message can be printed; the next update draws
 * it again. */
void progress_clear(struct progress *p);

/* Draws the final state and ends the line. */
void progress_finish(struct progress *p);

/* Formats the bar line (no "\r", no newline) for elapsed microseconds since start and a
 * bar width in cells; appends to out. Exposed for the unit tests. */
void progress_format(const struct progress *p, uint64_t elapsed_us, unsigned bar_width,
                     struct buf *out);

#endif
