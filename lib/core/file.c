/* Bounded reads and atomic writes: state files are written to a temporary
 * name, fsynced, then renamed, so a crash leaves the old or the new file,
 * never half of one. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "certa/util.h"

static int read_fd(int fd, const char *path, size_t max_len, certa_buf *out)
{
    unsigned char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return certa_error_set(CERTA_EIO, "cannot read %s: %s", path, strerror(errno));
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max_len)
            return certa_error_set(CERTA_ETOOBIG, "%s is larger than %zu bytes", path, max_len);
        int rc = certa_buf_append(out, chunk, (size_t)n);
        if (rc < 0)
            return rc;
    }
    /* Callers may treat the content as a string. */
    return certa_buf_reserve(out, 0);
}

int certa_file_read(const char *path, size_t max_len, certa_buf *out)
{
    if (strcmp(path, "-") == 0)
        return read_fd(STDIN_FILENO, "standard input", max_len, out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return certa_error_set(errno == ENOENT ? CERTA_ENOTFOUND : CERTA_EIO,
                               "cannot open %s: %s", path, strerror(errno));
    int rc = read_fd(fd, path, max_len, out);
    close(fd);
    if (rc == 0 && out->data == NULL)
        rc = certa_buf_reserve(out, 0);
    return rc;
}

int certa_file_read_first_line(const char *path, size_t max_len, char **out, size_t *len)
{
    certa_buf b = { 0 };
    *out = NULL;
    *len = 0;
    int rc = certa_file_read(path, max_len, &b);
    if (rc < 0)
        return rc;
    size_t n = strcspn((char *)b.data, "\r\n");
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, b.data, n);
        p[n] = '\0';
    }
    certa_buf_free_secure(&b);
    if (p == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    *out = p;
    *len = n;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int certa_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    if (strcmp(path, "-") == 0) {
        if (write_all(STDOUT_FILENO, data, len) < 0)
            return certa_error_set(CERTA_EIO, "cannot write to standard output: %s", strerror(errno));
        return 0;
    }
    /* A device or FIFO (/dev/null, /dev/stdout, a pipe) is written in
     * place: renaming a temporary file over it would replace the device
     * node with a regular file. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        int dfd = open(path, O_WRONLY | O_CLOEXEC);
        if (dfd < 0)
            return certa_error_set(CERTA_EIO, "cannot open %s: %s", path, strerror(errno));
        int wrc = write_all(dfd, data, len);
        close(dfd);
        if (wrc < 0)
            return certa_error_set(CERTA_EIO, "cannot write %s: %s", path, strerror(errno));
        return 0;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (tmp == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int rc = 0;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = certa_error_set(CERTA_EIO, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        rc = certa_error_set(CERTA_EIO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        rc = certa_error_set(CERTA_EIO, "cannot rename into %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    fsync_dir(path);
out:
    free(tmp);
    return rc;
}

int certa_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (strlen(path) >= sizeof(buf))
        return certa_error_set(CERTA_EINVAL, "path too long: %s", path);
    strcpy(buf, path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return certa_error_set(CERTA_EIO, "cannot create directory %s: %s", buf, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}
