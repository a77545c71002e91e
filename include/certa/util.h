/* Small helpers shared by every module: bounded file I/O with atomic writes,
 * a growable byte buffer, hex and serial-number text. */
#ifndef CERTA_UTIL_H
#define CERTA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "certa/error.h"

/* Growable byte buffer. Zero-initialise, then append; certa_buf_free
 * releases the memory (and overwrites it first when the buffer held
 * secrets: see certa_buf_free_secure). */
typedef struct certa_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} certa_buf;

CERTA_API int certa_buf_reserve(certa_buf *b, size_t extra);
CERTA_API int certa_buf_append(certa_buf *b, const void *data, size_t len);
CERTA_API int certa_buf_appendf(certa_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
CERTA_API void certa_buf_free(certa_buf *b);
CERTA_API void certa_buf_free_secure(certa_buf *b);

/* Reads a whole file into out (NUL-terminated beyond len for text use).
 * Files larger than max_len fail with CERTA_ETOOBIG; "-" reads stdin. */
CERTA_API int certa_file_read(const char *path, size_t max_len, certa_buf *out);
/* The first line of a small file (at most max_len bytes read), without
 * its line end, as a new NUL-terminated string in *out (NULL on failure)
 * and its length in *len; the file's bytes are wiped after the copy. For
 * passphrase files: the caller checks the length and wipes the string. */
CERTA_API int certa_file_read_first_line(const char *path, size_t max_len, char **out,
                                         size_t *len);
/* Writes data atomically: temporary file in the same directory, fsync,
 * rename, fsync of the directory. mode is applied before any byte is
 * written (0600 for keys). "-" writes to stdout. */
CERTA_API int certa_file_write_atomic(const char *path, const void *data,
                                      size_t len, mode_t mode);
/* Creates a directory (and parents) with the given mode if missing. */
CERTA_API int certa_mkdir_p(const char *path, mode_t mode);

/* Decimal digits of v and a NUL into out; returns the number of digits. */
#define CERTA_U64_DECIMAL_MAX 21
CERTA_API size_t certa_u64_decimal(uint64_t v, char out[CERTA_U64_DECIMAL_MAX]);
/* Lowercase hex of bytes into out (2*len+1 bytes). */
CERTA_API void certa_hex_encode(const unsigned char *in, size_t len, char *out);
/* Colon-separated uppercase hex ("AB:CD:..."), as fingerprints are shown.
 * out needs 3*len bytes. */
CERTA_API void certa_hex_colons(const unsigned char *in, size_t len, char *out);
/* Normalises a serial number as users type it (openssl x509 -serial form,
 * any case, optional "serial=" prefix, colons or spaces) to lowercase hex
 * without leading zeros. out needs strlen(in)+1 bytes, at most 130. */
CERTA_API int certa_serial_normalize(const char *in, char *out, size_t out_len);

/* Overwrites memory in a way the compiler cannot drop. */
CERTA_API void certa_memzero(void *p, size_t len);
/* Constant-time comparison of equal-length buffers: 1 when equal. */
CERTA_API int certa_memeq_ct(const void *a, const void *b, size_t len);

#endif
