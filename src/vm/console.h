/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A VM's console log (<run_dir>/console.log, appended to by its VMM) read by
 * logical offset, and capped in size so a noisy guest cannot fill the disk.
 *
 * Capping is copy-and-truncate (the VMM keeps its O_APPEND fd): the newest
 * half is kept in console.log.1, console.log is truncated, and the bytes cut
 * are added to a base kept in console.base, so offsets stay monotonic: a
 * reader that follows with next_offset never sees a byte twice. Bytes the
 * guest writes between the copy and the truncation are lost (as with
 * logrotate's copytruncate).
 */

#include "util/util.h"

#define CONSOLE_READ_MAX (1u << 20)

typedef struct ConsoleChunk {
        char *data; /* malloc'ed, NUL-terminated, size bytes */
        size_t size;
        uint64_t offset; /* logical offset of data[0] */
        uint64_t next_offset; /* where to read next */
        bool skipped; /* the asked offset was rotated away; data starts later */
} ConsoleChunk;

/* Read up to max bytes from logical offset. Missing log: empty chunk. */
int console_read(const char *run_dir, uint64_t offset, size_t max, ConsoleChunk *ret);
void console_chunk_done(ConsoleChunk *c);

/* If console.log is over max_bytes, cap it as described above. 1 if it did. */
int console_cap(const char *run_dir, uint64_t max_bytes);
