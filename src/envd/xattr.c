/*
 * The `user.e2b.*` extended attributes of files, for envd (Node has no xattr calls). Built static
 * so it runs in any image of this architecture, glibc or not.
 *
 *   xattr get FILE...            for every attribute `user.e2b.KEY` of FILE number I (from 0),
 *                                writes "I\0KEY\0VALUE\0"; files that cannot be read are skipped
 *   xattr set FILE KEY VALUE...  sets `user.e2b.KEY` to VALUE on FILE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static const char prefix[] = "user.e2b.";

static int get(int count, char **files) {
    static char names[65536];
    static char value[65536];
    for (int i = 0; i < count; i++) {
        ssize_t len = listxattr(files[i], names, sizeof names);
        for (ssize_t at = 0; at < len; at += strlen(names + at) + 1) {
            const char *name = names + at;
            if (strncmp(name, prefix, sizeof prefix - 1) != 0) continue;
            ssize_t n = getxattr(files[i], name, value, sizeof value);
            if (n < 0) continue;
            printf("%d%c%s%c", i, 0, name + sizeof prefix - 1, 0);
            fwrite(value, 1, (size_t)n, stdout);
            putchar(0);
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

static int set(const char *file, int count, char **pairs) {
    static char name[4096];
    for (int i = 0; i + 1 < count; i += 2) {
        if (snprintf(name, sizeof name, "%s%s", prefix, pairs[i]) >= (int)sizeof name) {
            fprintf(stderr, "metadata key too long: %s\n", pairs[i]);
            return 1;
        }
        if (setxattr(file, name, pairs[i + 1], strlen(pairs[i + 1]), 0) != 0) {
            fprintf(stderr, "setting %s on %s: %s\n", name, file, strerror(errno));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "get") == 0) return get(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "set") == 0 && (argc - 3) % 2 == 0) return set(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: xattr get FILE... | xattr set FILE KEY VALUE...\n");
    return 2;
}
