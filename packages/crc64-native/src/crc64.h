/* CRC-64/XZ (OSS's x-oss-hash-crc64ecma) kernels. `crc` is the internal register: the caller
 * starts from all ones and inverts at the end, as the JS Crc64 class does. */
#ifndef VOD_INGEST_CRC64_H
#define VOD_INGEST_CRC64_H
#include <stddef.h>
#include <stdint.h>

/* Builds the tables and picks the kernel for this CPU; idempotent, safe from several threads. */
void crc64_init(void);
/* The fastest kernel this CPU has (carry-less multiply where present, else crc64_update_table). */
uint64_t crc64_update(uint64_t crc, const uint8_t *p, size_t n);
/* Portable C: slicing-by-8 tables, any CPU and byte order. */
uint64_t crc64_update_table(uint64_t crc, const uint8_t *p, size_t n);
/* "pclmul", "pmull" or "table": what crc64_update runs. */
const char *crc64_kernel(void);

#endif
