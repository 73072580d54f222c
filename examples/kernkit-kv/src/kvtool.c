/* kvtool: use kernkit's #kv device (the kernkit-kv plugin) from a guest program.
 *
 *   kvtool set NAME VALUE   set a key (made if missing)
 *   kvtool new NAME VALUE   make a key that must not exist yet
 *   kvtool get NAME         print a key's value
 *   kvtool list             print every key and its size
 *   kvtool del NAME         delete a key
 *   kvtool clear            delete every key (writes "clear" to #kv/ctl)
 *   kvtool stat             print #kv/ctl: keys, bytes used, max_bytes
 *
 * Several commands may follow one another ("kvtool set a 1 get a"); the first that fails ends
 * the run with its error on stderr and exit status 1.  The keys are files in #kv: the program
 * uses nothing but open, read, write, getdents (opendir) and unlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEV "#kv"

static char path[4096];

static const char *key_path(const char *name)
{
	snprintf(path, sizeof path, DEV "/%s", name);
	return path;
}

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "kvtool: %s%s%s: %s\n", what, name ? " " : "", name ? name : "", strerror(errno));
	return 1;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put(const char *what, const char *name, const char *value, int flags)
{
	int fd = open(key_path(name), O_WRONLY | O_CREAT | flags, 0666);
	if (fd < 0)
		return fail(what, name);
	if (write_all(fd, value, strlen(value)) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return fail(what, name);
	}
	close(fd);
	return 0;
}

static int cat(const char *what, const char *file, const char *name)
{
	char buf[4096];
	ssize_t n;
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return fail(what, name);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	if (n < 0)
		return fail(what, name);
	return 0;
}

static int get(const char *name)
{
	if (cat("get", key_path(name), name))
		return 1;
	putchar('\n');
	return 0;
}

static int list(void)
{
	DIR *dir = opendir(DEV);
	struct dirent *entry;
	struct stat st;
	if (!dir)
		return fail("list", NULL);
	while ((entry = readdir(dir)) != NULL) {
		if (!strcmp(entry->d_name, "ctl") || entry->d_name[0] == '.')
			continue;
		if (stat(key_path(entry->d_name), &st) < 0)
			return fail("list", entry->d_name);
		printf("%s\t%lld\n", entry->d_name, (long long)st.st_size);
	}
	closedir(dir);
	return 0;
}

static int clear(void)
{
	int fd = open(DEV "/ctl", O_WRONLY);
	if (fd < 0 || write_all(fd, "clear", 5) < 0)
		return fail("clear", NULL);
	close(fd);
	return 0;
}

static int usage(void)
{
	fputs("usage: kvtool set NAME VALUE | new NAME VALUE | get NAME | list | del NAME | clear | stat ...\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	int i = 1;
	if (argc < 2)
		return usage();
	while (i < argc) {
		const char *cmd = argv[i];
		int rc, used;
		if ((!strcmp(cmd, "set") || !strcmp(cmd, "new")) && i + 2 < argc) {
			rc = put(cmd, argv[i + 1], argv[i + 2], cmd[0] == 's' ? O_TRUNC : O_EXCL);
			used = 3;
		} else if (!strcmp(cmd, "get") && i + 1 < argc) {
			rc = get(argv[i + 1]);
			used = 2;
		} else if (!strcmp(cmd, "del") && i + 1 < argc) {
			rc = unlink(key_path(argv[i + 1])) < 0 ? fail("del", argv[i + 1]) : 0;
			used = 2;
		} else if (!strcmp(cmd, "list")) {
			rc = list();
			used = 1;
		} else if (!strcmp(cmd, "clear")) {
			rc = clear();
			used = 1;
		} else if (!strcmp(cmd, "stat")) {
			rc = cat("stat", DEV "/ctl", NULL);
			used = 1;
		} else {
			return usage();
		}
		fflush(stdout);
		if (rc)
			return rc;
		i += used;
	}
	return 0;
}
