/* A small SQLite front end for the compatibility suite, linked -static with Debian's libsqlite3.a.
 *
 *   sqlitehost DATABASE SCRIPT.sql [JOURNAL_MODE]
 *                                     run every statement of SCRIPT (in that journal mode: delete,
 *                                     wal, ...), printing each row as col|col
 *   sqlitehost DATABASE --speedtest N  a speedtest1-style workload of N rows, printing checksums
 *
 * Exit status 1 (with the message on stderr) at the first error. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db;

static void fail(const char *what) {
    fprintf(stderr, "sqlitehost: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static int print_row(void *unused, int columns, char **values, char **names) {
    (void)unused;
    (void)names;
    for (int i = 0; i < columns; i++)
        printf("%s%s", i ? "|" : "", values[i] ? values[i] : "NULL");
    putchar('\n');
    return 0;
}

static void exec(const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, print_row, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "sqlitehost: %s\n", error);
        exit(1);
    }
}

static char *slurp(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) {
        perror(path);
        exit(1);
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    char *text = malloc(size + 1);
    if (fread(text, 1, size, file) != (size_t)size) {
        perror(path);
        exit(1);
    }
    text[size] = 0;
    fclose(file);
    return text;
}

/* Deterministic pseudo-random numbers (speedtest1 uses its own generator too). */
static unsigned rng = 1;
static unsigned next_random(void) {
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static void number_name(unsigned n, char *out, size_t size) {
    static const char *ones[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    out[0] = 0;
    char digits[16];
    snprintf(digits, sizeof digits, "%u", n);
    for (char *d = digits; *d; d++) {
        strncat(out, ones[*d - '0'], size - strlen(out) - 1);
        if (d[1])
            strncat(out, " ", size - strlen(out) - 1);
    }
}

static void speedtest(int rows) {
    sqlite3_stmt *insert, *lookup;
    char name[128];
    exec("PRAGMA journal_mode=DELETE; CREATE TABLE t1(a INTEGER, b INTEGER, c TEXT);"
         "CREATE TABLE t2(a INTEGER PRIMARY KEY, b INTEGER, c TEXT);");
    /* 100: inserts in one transaction */
    exec("BEGIN");
    if (sqlite3_prepare_v2(db, "INSERT INTO t1 VALUES(?1, ?2, ?3)", -1, &insert, NULL) != SQLITE_OK)
        fail("prepare");
    for (int i = 1; i <= rows; i++) {
        unsigned x = next_random() % 1000000;
        number_name(x, name, sizeof name);
        sqlite3_bind_int(insert, 1, i);
        sqlite3_bind_int(insert, 2, (int)x);
        sqlite3_bind_text(insert, 3, name, -1, SQLITE_STATIC);
        if (sqlite3_step(insert) != SQLITE_DONE)
            fail("insert");
        sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    exec("COMMIT");
    /* 110: ordered inserts into an indexed table */
    exec("BEGIN; INSERT INTO t2 SELECT a, b, c FROM t1 ORDER BY b; COMMIT");
    /* 120, 130: range queries and LIKE scans */
    exec("SELECT 'count', count(*), sum(b) % 1000003 FROM t1");
    exec("SELECT 'range', count(*), avg(b) FROM t1 WHERE b BETWEEN 100000 AND 300000");
    exec("SELECT 'like', count(*) FROM t1 WHERE c LIKE '%seven%'");
    /* 140: an index, then lookups through it */
    exec("CREATE INDEX t1b ON t1(b)");
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t1 WHERE b >= ?1 AND b < ?1 + 1000", -1, &lookup, NULL) != SQLITE_OK)
        fail("prepare");
    long found = 0;
    for (int i = 0; i < rows / 4; i++) {
        sqlite3_bind_int(lookup, 1, (int)(next_random() % 1000000));
        if (sqlite3_step(lookup) != SQLITE_ROW)
            fail("lookup");
        found += sqlite3_column_int(lookup, 0);
        sqlite3_reset(lookup);
    }
    sqlite3_finalize(lookup);
    printf("lookups|%ld\n", found);
    /* 150, 160: updates and deletes in transactions */
    exec("BEGIN; UPDATE t1 SET b = b * 2 WHERE a % 3 = 0; DELETE FROM t2 WHERE a % 5 = 0; COMMIT");
    exec("SELECT 'after', count(*), sum(b) % 1000003 FROM t1");
    exec("SELECT 'kept', count(*) FROM t2");
    /* 170: a join and a group by */
    exec("SELECT 'join', count(*) FROM t1 JOIN t2 ON t1.a = t2.a WHERE t1.b > t2.b");
    exec("SELECT length(c) % 4, count(*) FROM t2 GROUP BY 1 ORDER BY 1");
    exec("PRAGMA integrity_check");
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: sqlitehost DATABASE SCRIPT.sql [JOURNAL_MODE] | sqlitehost DATABASE --speedtest N\n");
        return 2;
    }
    if (sqlite3_open(argv[1], &db) != SQLITE_OK)
        fail(argv[1]);
    if (strcmp(argv[2], "--speedtest") == 0) {
        speedtest(argc == 4 ? atoi(argv[3]) : 1000);
    } else {
        if (argc == 4) {
            char pragma[64];
            snprintf(pragma, sizeof pragma, "PRAGMA journal_mode=%s", argv[3]);
            exec(pragma);
        }
        exec(slurp(argv[2]));
    }
    if (sqlite3_close(db) != SQLITE_OK)
        fail("close");
    return 0;
}
