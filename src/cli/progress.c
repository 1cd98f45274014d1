/*
 * progress.c - the terminal progress bar (see progress.h).
 */
#include "cli/progress.h"
#include "core/timeutil.h"
#include "core/util.h"

#define REDRAW_US 100000u /* 10 Hz: smooth enough, cheap enough */
#define BAR_WIDTH 24u

void progress_start(struct progress *p, const char *label, const char *unit, size_t items_total,
                    uint64_t bytes_total)
{
    const char *term = getenv("TERM");

    memset(p, 0, sizeof(*p));
    p->enabled = isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb"));
    p->label = label;
    p->unit = unit;
    p->items_total = items_total;
    p->bytes_total = bytes_total;
    p->start_us = time_mono_us();
}

/* Human size with one decimal in binary units, as "3.1 MB". */
static void add_size(struct buf *out, uint64_t n)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1024.0 && u + 1 < ARRAY_SIZE(units)) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        buf_addf(out, "%" PRIu64 " B", n);
    else
        buf_addf(out, "%.1f %s", v, units[u]);
}

void progress_format(const struct progress *p, uint64_t elapsed_us, unsigned bar_width,
                     struct buf *out)
{
    double frac;
    unsigned fill;

    if (p->bytes_total)
        frac = (double)p->bytes_done / (double)p->bytes_total;
    else if (p->items_total)
        frac = (double)p->items_done / (double)p->items_total;
    else
        frac = 1.0;
    if (frac > 1.0)
        frac = 1.0;
    fill = (unsigned)(frac * bar_width + 0.5);
    buf_addf(out, "%s [", p->label);
    for (unsigned i = 0; i < bar_width; i++)
        buf_addch(out, i < fill ? '#' : '.');
    buf_addf(out, "] %zu/%zu %s", p->items_done, p->items_total, p->unit);
    if (p->bytes_total) {
        buf_addstr(out, "  ");
        add_size(out, p->bytes_done);
        buf_addstr(out, " / ");
        add_size(out, p->bytes_total);
    }
    if (elapsed_us >= 100000) {
        double secs = (double)elapsed_us / 1e6;

        buf_addstr(out, "  ");
        if (p->bytes_total) {
            add_size(out, (uint64_t)((double)p->bytes_done / secs));
            buf_addstr(out, "/s");
        } else {
            buf_addf(out, "%.1f %s/s", (double)p->items_done / secs, p->unit);
        }
    }
}

static void draw(struct progress *p, bool force)
{
    struct buf line = BUF_INIT;
    uint64_t now;

    if (!p->enabled)
        return;
    now = time_mono_us();
    if (!force && p->drawn && now - p->last_draw_us < REDRAW_US)
        return;
    p->last_draw_us = now;
    buf_addstr(&line, "\r\033[K");
    progress_format(p, now - p->start_us, BAR_WIDTH, &line);
    fputs(line.buf, stderr);
    fflush(stderr);
    p->drawn = true;
    buf_release(&line);
}

void progress_items(struct progress *p, size_t items_done)
{
    p->items_done = items_done;
    draw(p, false);
}

void progress_bytes(struct progress *p, uint64_t more_bytes)
{
    p->bytes_done += more_bytes;
    draw(p, false);
}

void progress_clear(struct progress *p)
{
    if (!p->enabled || !p->drawn)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->drawn = false;
}

void progress_finish(struct progress *p)
{
    if (!p->enabled)
        return;
    draw(p, true);
    fputc('\n', stderr);
    p->drawn = false;
}
