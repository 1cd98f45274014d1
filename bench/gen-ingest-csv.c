/*
 * gen-ingest-csv.c - writes the CSV that bench/ingest.sh ingests: ROWS rows (default
 * 10,000,000, about 1 GB) of the column kinds government tables have, deterministic
 * (a fixed xorshift seed), to stdout:
 *
 *   id           integer 1..ROWS
 *   region_code  6-digit code with leading zeros ("004512"): must stay text
 *   amount       decimal with two places, some negative ("-1234.50")
 *   rate         leading-dot or short decimal (".097", "12.5")
 *   day          date YYYY-MM-DD
 *   count        integer, empty in 1 row of 16 (NULL)
 *   category     short text from 12 values (some Chinese)
 *   name         short text (a word and a number)
 *   remark       long text, 16..72 characters, one row in 10 quoted with a comma inside
 *
 * Build and run: cc -O2 -o gen bench/gen-ingest-csv.c && ./gen 10000000 > big.csv
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static const char *const categories[] = {
        "education", "health",   "transport", "housing", "energy",  "water",
        "环境保护",  "社会保障", "交通运输",  "教育",    "finance", "agriculture",
};

static const char *const words[] = {
        "river",   "station", "district", "school", "hospital", "bridge", "market",
        "harbour", "library", "park",     "road",   "village",  "county", "office",
        "depot",   "清河",    "东城",     "西湖",   "north",    "south",
};

int main(int argc, char **argv)
{
    unsigned long long rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000ull;
    static char out[1 << 20];
    size_t len = 0;

    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    fputs("id,region_code,amount,rate,day,count,category,name,remark\n", stdout);
    for (unsigned long long i = 1; i <= rows; i++) {
        uint64_t r = next(), r2 = next(), r3 = next();
        char remark[160];
        size_t rlen = 16 + r3 % 57, k = 0;
        int quoted = (r3 >> 20) % 10 == 0;

        while (k < rlen) {
            const char *w = words[(next() >> 7) % 20];
            size_t wl = strlen(w);

            if (k + wl + 1 > rlen)
                break;
            memcpy(remark + k, w, wl);
            k += wl;
            remark[k] = quoted && k > 10 && k < 20 ? ',' : ' ';
            k++;
        }
        while (k < rlen)
            remark[k++] = 'x';
        remark[k] = '\0';
        if (len > sizeof(out) - 512) {
            fwrite(out, 1, len, stdout);
            len = 0;
        }
        len += (size_t)snprintf(
                out + len, sizeof(out) - len, "%llu,%06u,%s%u.%02u,%s%u,%04u-%02u-%02u,", i,
                (unsigned)(r % 1000000), (r >> 24) % 7 == 0 ? "-" : "",
                (unsigned)((r >> 30) % 100000), (unsigned)((r >> 50) % 100), (r2 & 1) ? "." : "",
                (unsigned)((r2 >> 1) % 1000), (unsigned)(1990 + (r2 >> 12) % 35),
                (unsigned)(1 + (r2 >> 20) % 12), (unsigned)(1 + (r2 >> 28) % 28));
        if ((r2 >> 36) % 16)
            len += (size_t)snprintf(out + len, sizeof(out) - len, "%u",
                                    (unsigned)((r2 >> 40) % 50000));
        len += (size_t)snprintf(out + len, sizeof(out) - len, ",%s,%s %u,%s%s%s\n",
                                categories[(r3 >> 8) % 12], words[(r3 >> 16) % 20],
                                (unsigned)((r3 >> 24) % 10000), quoted ? "\"" : "", remark,
                                quoted ? "\"" : "");
    }
    fwrite(out, 1, len, stdout);
    return 0;
}
