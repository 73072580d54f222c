/* run: run commands one after another, each given as one argument, there being no shell.
 *   run "mkdir /tmp/a" "echo hi > /tmp/a/f" "ls -l /tmp/a" "cat /tmp/a/f | cat"
 * Words are split at spaces; a command is looked for in /bin unless it has a '/'; "A | B"
 * connects A's standard output to B's standard input through a pipe. run stops at the first
 * command that fails and exits with its status. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORDS 64
#define MAX_STAGES 8

static void exec_words(char **words)
{
    char path[512];
    if (strchr(words[0], '/'))
        snprintf(path, sizeof path, "%s", words[0]);
    else
        snprintf(path, sizeof path, "/bin/%s", words[0]);
    execv(path, words);
    fprintf(stderr, "run: %s: %s\n", path, strerror(errno));
    _exit(127);
}

static int run_line(char *line)
{
    char *stages[MAX_STAGES][MAX_WORDS + 1];
    int count = 0, words = 0;
    stages[0][0] = NULL;
    for (char *word = strtok(line, " "); word; word = strtok(NULL, " ")) {
        if (!strcmp(word, "|")) {
            if (words == 0 || count + 1 >= MAX_STAGES)
                return 2;
            stages[count++][words] = NULL;
            words = 0;
            continue;
        }
        if (words < MAX_WORDS)
            stages[count][words++] = word;
    }
    if (words == 0)
        return 2;
    stages[count++][words] = NULL;
    pid_t pids[MAX_STAGES];
    int input = -1;
    for (int i = 0; i < count; i++) {
        int fds[2] = {-1, -1};
        if (i + 1 < count && pipe2(fds, O_CLOEXEC) < 0) {
            perror("run: pipe2");
            return 1;
        }
        pids[i] = fork();
        if (pids[i] == 0) {
            if (input >= 0)
                dup2(input, 0);
            if (fds[1] >= 0)
                dup2(fds[1], 1);
            exec_words(stages[i]);
        }
        if (input >= 0)
            close(input);
        if (fds[1] >= 0)
            close(fds[1]);
        input = fds[0];
    }
    int status = 0;
    for (int i = 0; i < count; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return status;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *line = strdup(argv[i]);
        int status = run_line(line);
        free(line);
        if (status != 0)
            return status;
    }
    return 0;
}
