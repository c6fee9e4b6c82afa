/*
 * Starts the processes envd runs. envd is a Node process of ~35 MB: each of its own spawns forks
 * it, page tables and all, which costs ~5 ms on a small VM and stops its event loop meanwhile.
 * This helper is small, so its forks are cheap, and it reaps what it started. Built static so it runs in
 * any image of this architecture, glibc or not. The protocol is spawner.ts's:
 *
 *   spawner SOCKET      SOCKET: the abstract unix socket envd listens on for the processes' stdio
 *
 * stdin, messages of a 4-byte little-endian length and NUL-terminated strings:
 *   k KEY
 *       (first) the key each stdio connection starts with, so envd knows them from strangers'
 *   s ID UID GID GROUPS CWD STDIN FILE ARGC ARG... ENVC ENV...
 *       start FILE (searched in the ENV's PATH when it has no slash) in a new session, as UID/GID
 *       with the comma-separated supplementary GROUPS ("-" keeps the helper's own ids); its
 *       stdout, stderr and, when STDIN is "1", stdin (else /dev/null) are connections to SOCKET,
 *       each opened with the line "KEY ID N\n" (N: 0 stdin, 1 stdout, 2 stderr)
 * stdout, lines:
 *   s ID PID               started
 *   f ID ERRNO             could not start
 *   x PID CODE SIGNAL      a started process ended (-1 where not applicable)
 * End of stdin ends the helper; what it started keeps running.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_MESSAGE (64u << 20)
#define MAX_GROUPS 256

static int dev_null;
static char key[128];
static struct sockaddr_un envd_addr;
static socklen_t envd_addr_len;
static sigset_t blocked;

static void say(const char *line) {
    size_t len = strlen(line), done = 0;
    while (done < len) {
        ssize_t n = write(1, line + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) exit(1); /* envd is gone */
        done += (size_t)n;
    }
}

/* A connection to envd's stdio socket, announced as stream N of start ID. */
static int stdio_connection(const char *id, int n) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    char line[256];
    int len = snprintf(line, sizeof line, "%s %s %d\n", key, id, n);
    if (connect(fd, (struct sockaddr *)&envd_addr, envd_addr_len) != 0 || write(fd, line, (size_t)len) != len) {
        int e = errno;
        close(fd);
        errno = e ? e : EIO;
        return -1;
    }
    return fd;
}

/* Looks FILE up in the PATH of ENV as execvp would, with that environment. Not execvp itself:
 * glibc's retries a file without #! through /bin/sh (ENOEXEC), which Node's spawn, and so envd
 * until now, does not. */
static int exec_searching(const char *file, char **argv, char **env) {
    if (strchr(file, '/')) {
        execve(file, argv, env);
        return errno;
    }
    const char *search = "/usr/local/bin:/usr/bin:/bin";
    for (char **e = env; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) search = *e + 5;
    int err = ENOENT, denied = 0;
    size_t flen = strlen(file);
    for (const char *p = search;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dlen = (size_t)(end - p);
        char path[4096];
        if (dlen + flen + 2 <= sizeof path) {
            memcpy(path, p, dlen);
            size_t at = dlen;
            if (dlen > 0) path[at++] = '/';
            memcpy(path + at, file, flen + 1);
            execve(path, argv, env);
            if (errno == EACCES) denied = 1;
            else if (errno != ENOENT && errno != ENOTDIR) err = errno;
        }
        if (*end == 0) break;
        p = end;
    }
    return denied ? EACCES : err;
}

static void start(char **field, size_t count) {
    /* s ID UID GID GROUPS CWD STDIN FILE ARGC ... */
    const char *id = field[1];
    char line[128];
    if (count < 10) {
        snprintf(line, sizeof line, "f %s %d\n", id, EINVAL);
        return say(line);
    }
    size_t argc = strtoul(field[8], NULL, 10);
    if (argc == 0 || 9 + argc >= count) {
        snprintf(line, sizeof line, "f %s %d\n", id, EINVAL);
        return say(line);
    }
    size_t envc = strtoul(field[9 + argc], NULL, 10);
    if (10 + argc + envc != count) {
        snprintf(line, sizeof line, "f %s %d\n", id, EINVAL);
        return say(line);
    }
    char **argv = calloc(argc + 1, sizeof *argv), **env = calloc(envc + 1, sizeof *env);
    if (!argv || !env) exit(1);
    memcpy(argv, field + 9, argc * sizeof *argv);
    memcpy(env, field + 10 + argc, envc * sizeof *env);

    int change_ids = strcmp(field[2], "-") != 0;
    uid_t uid = (uid_t)strtoul(field[2], NULL, 10);
    gid_t gid = (gid_t)strtoul(field[3], NULL, 10);
    gid_t groups[MAX_GROUPS];
    int ngroups = 0;
    for (char *g = field[4]; *g && ngroups < MAX_GROUPS;) {
        groups[ngroups++] = (gid_t)strtoul(g, &g, 10);
        if (*g == ',') g++;
    }
    const char *cwd = field[5], *file = field[7];
    int with_stdin = strcmp(field[6], "1") == 0;

    int in = -1, out = -1, err = -1;
    int failed = 0;
    if ((with_stdin && (in = stdio_connection(id, 0)) < 0) || (out = stdio_connection(id, 1)) < 0 || (err = stdio_connection(id, 2)) < 0) failed = errno;

    /* The child reports a failure before exec on this pipe; its end closes at exec. Plain fork:
     * the helper is small, so copying it is cheap, and the child shares nothing with us. */
    int report[2] = {-1, -1};
    if (!failed && pipe2(report, O_CLOEXEC) != 0) failed = errno;
    pid_t pid = -1;
    if (!failed) {
        pid = fork();
        if (pid == 0) {
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            int e = 0;
            if (setsid() < 0) e = errno;
            if (!e && dup2(with_stdin ? in : dev_null, 0) < 0) e = errno;
            if (!e && dup2(out, 1) < 0) e = errno;
            if (!e && dup2(err, 2) < 0) e = errno;
            if (!e && change_ids && (setgroups((size_t)ngroups, groups) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) e = errno;
            if (!e && chdir(cwd) != 0) e = errno;
            if (!e) e = exec_searching(file, argv, env);
            while (write(report[1], &e, sizeof e) < 0 && errno == EINTR) {}
            _exit(127);
        }
        if (pid < 0) failed = errno;
        close(report[1]);
        if (pid > 0) {
            int e = 0;
            ssize_t n;
            while ((n = read(report[0], &e, sizeof e)) < 0 && errno == EINTR) {}
            if (n == sizeof e) {
                failed = e;
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
            }
        }
        close(report[0]);
    }
    free(argv);
    free(env);
    /* The child has its own copies; envd sees the end of output once the child's are closed. */
    int ours[3] = {in, out, err};
    for (int k = 0; k < 3; k++)
        if (ours[k] >= 0) close(ours[k]);
    if (failed) snprintf(line, sizeof line, "f %s %d\n", id, failed);
    else snprintf(line, sizeof line, "s %s %d\n", id, (int)pid);
    say(line);
}

static void reap(void) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        char line[64];
        if (WIFEXITED(status)) snprintf(line, sizeof line, "x %d %d -1\n", (int)pid, WEXITSTATUS(status));
        else snprintf(line, sizeof line, "x %d -1 %d\n", (int)pid, WTERMSIG(status));
        say(line);
    }
}

/* Splits a message into its NUL-terminated strings (the last one must be terminated too). */
static void handle(char *msg, uint32_t len) {
    if (len == 0 || msg[len - 1] != 0) return;
    size_t count = 0;
    for (uint32_t i = 0; i < len; i++) count += msg[i] == 0;
    char **field = calloc(count, sizeof *field);
    if (!field) exit(1);
    char *p = msg;
    for (size_t i = 0; i < count; i++) {
        field[i] = p;
        p += strlen(p) + 1;
    }
    if (strcmp(field[0], "s") == 0 && count >= 2) start(field, count);
    else if (strcmp(field[0], "k") == 0 && count == 2) snprintf(key, sizeof key, "%s", field[1]);
    free(field);
}

int main(int argc, char **argv) {
    if (argc != 2 || strlen(argv[1]) >= sizeof envd_addr.sun_path) {
        fprintf(stderr, "usage: spawner SOCKET (an abstract socket name, without its leading NUL)\n");
        return 2;
    }
    envd_addr.sun_family = AF_UNIX;
    memcpy(envd_addr.sun_path + 1, argv[1], strlen(argv[1]));
    /* Node binds an abstract name padded with NULs to the whole sun_path: so must we. */
    envd_addr_len = (socklen_t)sizeof envd_addr;
    dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    int sfd = signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
    if (dev_null < 0 || sfd < 0) {
        perror("spawner");
        return 1;
    }
    fcntl(0, F_SETFD, FD_CLOEXEC);
    fcntl(1, F_SETFD, FD_CLOEXEC);

    char *buf = NULL;
    size_t have = 0, cap = 0;
    for (;;) {
        struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            while (read(sfd, &info, sizeof info) == sizeof info) {}
            reap();
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
        if (cap - have < 65536) {
            cap = cap ? cap * 2 : 131072;
            buf = realloc(buf, cap);
            if (!buf) return 1;
        }
        ssize_t n = read(0, buf + have, cap - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0; /* envd closed its end */
        have += (size_t)n;
        size_t at = 0;
        while (have - at >= 4) {
            uint32_t len;
            memcpy(&len, buf + at, 4);
            if (len > MAX_MESSAGE) return 1;
            if (have - at - 4 < len) {
                if (len + 4 > cap) {
                    cap = len + 4 + 65536;
                    buf = realloc(buf, cap);
                    if (!buf) return 1;
                }
                break;
            }
            handle(buf + at + 4, len);
            at += 4 + len;
        }
        memmove(buf, buf + at, have - at);
        have -= at;
    }
}
