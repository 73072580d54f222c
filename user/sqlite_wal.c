/* sqlite_wal: two processes insert into one SQLite database in WAL mode, then it is checked.
 *
 *   sqlite_wal DB [ROWS [BATCH]]
 *
 * The parent creates DB (journal_mode=WAL, which maps DB-shm shared between the processes),
 * forks two writers that each insert ROWS/2 rows (default 10000 in all) in transactions of
 * BATCH rows (default 100), waits for both, and prints what a reader sees: the journal mode,
 * the rows per writer, and PRAGMA integrity_check.  Linked with a system's libsqlite3.a;
 * the binary embeds SQLite, so it is built where it is used and not kept.
 *
 * SQLite keeps two writers apart with fcntl record locks.  The program first checks that a
 * lock one process holds stops another; where it does not, it says so and exits 3 before
 * writing anything (two writers would corrupt the database). */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite_wal: %s: %s\n", what, db ? sqlite3_errmsg(db) : "cannot open");
    exit(1);
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        fail(db, "open");
    sqlite3_busy_timeout(db, 600000);
    return db;
}

static void run(sqlite3 *db, const char *sql)
{
    char *message = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK) {
        fprintf(stderr, "sqlite_wal: %s: %s\n", sql, message);
        exit(1);
    }
}

static void writer(const char *path, int id, int rows, int batch)
{
    sqlite3 *db = open_db(path);
    sqlite3_stmt *insert;
    if (sqlite3_prepare_v2(db, "INSERT INTO t(writer, n, payload) VALUES (?, ?, ?)", -1, &insert, NULL) != SQLITE_OK)
        fail(db, "prepare");
    char payload[64];
    for (int done = 0; done < rows;) {
        run(db, "BEGIN IMMEDIATE");
        for (int i = 0; i < batch && done < rows; i++, done++) {
            snprintf(payload, sizeof payload, "writer %d row %d", id, done);
            sqlite3_bind_int(insert, 1, id);
            sqlite3_bind_int(insert, 2, done);
            sqlite3_bind_text(insert, 3, payload, -1, SQLITE_STATIC);
            if (sqlite3_step(insert) != SQLITE_DONE)
                fail(db, "insert");
            sqlite3_reset(insert);
        }
        run(db, "COMMIT");
    }
    sqlite3_finalize(insert);
    sqlite3_close(db);
}

static int print_row(void *label, int columns, char **values, char **names)
{
    (void)names;
    printf("%s:", (const char *)label);
    for (int i = 0; i < columns; i++)
        printf(" %s", values[i] ? values[i] : "NULL");
    printf("\n");
    return 0;
}

/* Whether a write lock this process holds on PATH stops another process taking it. */
static int record_locks_work(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_len = 1;
    if (fd < 0 || fcntl(fd, F_SETLK, &lock) != 0)
        return 0;
    pid_t child = fork();
    if (child == 0) {
        int other = open(path, O_RDWR);
        _exit(fcntl(other, F_SETLK, &lock) == 0 ? 1 : 0);
    }
    int status;
    waitpid(child, &status, 0);
    close(fd);
    unlink(path);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sqlite_wal DB [ROWS [BATCH]]\n");
        return 2;
    }
    const char *path = argv[1];
    int rows = argc > 2 ? atoi(argv[2]) : 10000;
    int batch = argc > 3 ? atoi(argv[3]) : 100;
    char probe[4096];
    snprintf(probe, sizeof probe, "%s-lockprobe", path);
    if (!record_locks_work(probe)) {
        printf("record locks: not enforced\n");
        return 3;
    }
    sqlite3 *db = open_db(path);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", print_row, "journal_mode", NULL);
    run(db, "CREATE TABLE t(writer INTEGER, n INTEGER, payload TEXT)");
    fflush(stdout);
    pid_t writers[2];
    for (int id = 0; id < 2; id++) {
        writers[id] = fork();
        if (writers[id] == 0) {
            writer(path, id, rows / 2, batch);
            _exit(0);
        }
    }
    int failed = 0;
    for (int id = 0; id < 2; id++) {
        int status;
        waitpid(writers[id], &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    printf("writers: %s\n", failed ? "failed" : "done");
    sqlite3_exec(db, "SELECT writer, count(*), sum(n) FROM t GROUP BY writer ORDER BY writer", print_row, "rows", NULL);
    sqlite3_exec(db, "PRAGMA integrity_check", print_row, "integrity_check", NULL);
    sqlite3_close(db);
    return failed;
}
