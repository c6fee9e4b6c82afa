/*
 * Sets sysctls of a network namespace from inside it, in one small static process:
 *
 *   sandcastle-netns-sysctl <netns path> <key> <value> [<key> <value> ...]
 *
 * A network namespace's net.* sysctls are those of the namespace of whoever opens their /proc/sys
 * files. `nsenter --net=… sysctl -w …` is two programs started (~10 ms of CPU a sandbox here);
 * this is one, which joins the namespace and writes the files. Keys are dotted (net.ipv4.x).
 * Built static by `npm run build` (scripts/build-host-helpers.mjs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const char *about) {
    fprintf(stderr, "sandcastle-netns-sysctl: %s %s: %s\n", what, about, strerror(errno));
    return 1;
}

static int set_sysctl(const char *key, const char *value) {
    char file[256];
    int n = snprintf(file, sizeof file, "/proc/sys/%s", key);
    if (n < 0 || (size_t)n >= sizeof file || strstr(key, "..") || key[0] == '/') {
        errno = EINVAL;
        return fail("refusing the key", key);
    }
    for (char *c = file + strlen("/proc/sys/"); *c; c++) if (*c == '.') *c = '/';
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail("opening", file);
    size_t len = strlen(value);
    ssize_t written = write(fd, value, len);
    int saved = errno;
    close(fd);
    errno = saved;
    if (written != (ssize_t)len) return fail("writing", file);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc % 2 != 0) {
        fprintf(stderr, "usage: sandcastle-netns-sysctl <netns path> <key> <value> [<key> <value> ...]\n");
        return 2;
    }
    int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (ns < 0) return fail("opening the network namespace", argv[1]);
    if (setns(ns, CLONE_NEWNET) != 0) return fail("joining the network namespace", argv[1]);
    close(ns);
    for (int i = 2; i < argc; i += 2) {
        if (set_sysctl(argv[i], argv[i + 1]) != 0) return 1;
    }
    return 0;
}
