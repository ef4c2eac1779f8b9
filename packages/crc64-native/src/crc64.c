/* CRC-64/XZ: ECMA-182 polynomial, reflected, init and xor-out all ones.
 *
 * Long buffers are folded 128 bytes at a time with carry-less multiplication (Intel's "Fast CRC
 * Computation for Generic Polynomials Using PCLMULQDQ"): eight 128-bit accumulators, each
 * multiplied forward by x^1024 mod P per round, then folded into one. The last 16-byte
 * accumulator and the tail go through the table code, which avoids a Barrett reduction step. */
#include "crc64.h"

#include <pthread.h>
#include <string.h>

#define POLY_REFLECTED 0xc96c5795d7870f42ULL

static uint64_t table[8][256];

static uint64_t load_le64(const uint8_t *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
         (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint64_t crc64_update_table(uint64_t crc, const uint8_t *p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t x = crc ^ load_le64(p);
    crc = table[7][x & 0xff] ^ table[6][(x >> 8) & 0xff] ^ table[5][(x >> 16) & 0xff] ^
          table[4][(x >> 24) & 0xff] ^ table[3][(x >> 32) & 0xff] ^ table[2][(x >> 40) & 0xff] ^
          table[1][(x >> 48) & 0xff] ^ table[0][x >> 56];
  }
  for (; n > 0; p++, n--) crc = (crc >> 8) ^ table[0][(crc ^ *p) & 0xff];
  return crc;
}

/* x^e mod P, bit-reflected (bit 63 is x^0), as the folding constants need it. */
static uint64_t xpow_mod(unsigned e) {
  uint64_t v = 1ULL << 63;
  while (e--) v = (v >> 1) ^ ((v & 1) ? POLY_REFLECTED : 0);
  return v;
}

/* Folding a 128-bit accumulator forward by `bits`: its high-degree half (the low 64 bits in
 * reflected order) is multiplied by x^(bits+63), the other by x^(bits-1); the extra -1 makes up
 * for the one-bit shift that a carry-less multiply of reflected operands introduces. */
typedef struct { uint64_t hi_half, lo_half; } fold_k;
static fold_k fold_by[9]; /* fold_by[j]: forward by 128*j bits, j = 1..8 */

static uint64_t (*kernel)(uint64_t, const uint8_t *, size_t) = crc64_update_table;
static const char *kernel_name = "table";

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_CLMUL_KERNEL 1

__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i acc, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) static uint64_t crc64_update_pclmul(uint64_t crc, const uint8_t *p, size_t n) {
  if (n < 256) return crc64_update_table(crc, p, n);
  __m128i x[8];
  for (int i = 0; i < 8; i++) x[i] = _mm_loadu_si128((const __m128i *)(p + 16 * i));
  x[0] = _mm_xor_si128(x[0], _mm_cvtsi64_si128((long long)crc));
  p += 128, n -= 128;
  const __m128i k8 = _mm_set_epi64x((long long)fold_by[8].lo_half, (long long)fold_by[8].hi_half);
  for (; n >= 128; p += 128, n -= 128) {
    for (int i = 0; i < 8; i++)
      x[i] = _mm_xor_si128(fold(x[i], k8), _mm_loadu_si128((const __m128i *)(p + 16 * i)));
  }
  __m128i acc = x[7];
  for (int i = 0; i < 7; i++) {
    const fold_k *k = &fold_by[7 - i];
    acc = _mm_xor_si128(acc, fold(x[i], _mm_set_epi64x((long long)k->lo_half, (long long)k->hi_half)));
  }
  const __m128i k1 = _mm_set_epi64x((long long)fold_by[1].lo_half, (long long)fold_by[1].hi_half);
  for (; n >= 16; p += 16, n -= 16) acc = _mm_xor_si128(fold(acc, k1), _mm_loadu_si128((const __m128i *)p));
  uint8_t last[16];
  _mm_storeu_si128((__m128i *)last, acc);
  return crc64_update_table(crc64_update_table(0, last, 16), p, n);
}

static void pick_kernel(void) {
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_PCLMUL) && (c & bit_SSE4_1)) {
    kernel = crc64_update_pclmul;
    kernel_name = "pclmul";
  }
}

#elif defined(__aarch64__) && defined(__linux__)
#include <arm_neon.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#define HAVE_CLMUL_KERNEL 1

/* The same folding with PMULL: vmull_p64 multiplies the low lanes, vmull_high_p64 the high. */
__attribute__((target("+crypto"))) static inline uint64x2_t fold(uint64x2_t acc, poly64x2_t k) {
  poly64x2_t a = vreinterpretq_p64_u64(acc);
  uint64x2_t lo = vreinterpretq_u64_p128(vmull_p64(vgetq_lane_p64(a, 0), vgetq_lane_p64(k, 0)));
  uint64x2_t hi = vreinterpretq_u64_p128(vmull_high_p64(a, k));
  return veorq_u64(lo, hi);
}

static poly64x2_t fold_const(const fold_k *k) {
  return vcombine_p64(vcreate_p64(k->hi_half), vcreate_p64(k->lo_half));
}

__attribute__((target("+crypto"))) static uint64_t crc64_update_pmull(uint64_t crc, const uint8_t *p, size_t n) {
  if (n < 256) return crc64_update_table(crc, p, n);
  uint64x2_t x[8];
  for (int i = 0; i < 8; i++) x[i] = vreinterpretq_u64_u8(vld1q_u8(p + 16 * i));
  x[0] = veorq_u64(x[0], vcombine_u64(vcreate_u64(crc), vcreate_u64(0)));
  p += 128, n -= 128;
  const poly64x2_t k8 = fold_const(&fold_by[8]);
  for (; n >= 128; p += 128, n -= 128) {
    for (int i = 0; i < 8; i++) x[i] = veorq_u64(fold(x[i], k8), vreinterpretq_u64_u8(vld1q_u8(p + 16 * i)));
  }
  uint64x2_t acc = x[7];
  for (int i = 0; i < 7; i++) acc = veorq_u64(acc, fold(x[i], fold_const(&fold_by[7 - i])));
  const poly64x2_t k1 = fold_const(&fold_by[1]);
  for (; n >= 16; p += 16, n -= 16) acc = veorq_u64(fold(acc, k1), vreinterpretq_u64_u8(vld1q_u8(p)));
  uint8_t last[16];
  vst1q_u8(last, vreinterpretq_u8_u64(acc));
  return crc64_update_table(crc64_update_table(0, last, 16), p, n);
}

static void pick_kernel(void) {
  if (getauxval(AT_HWCAP) & HWCAP_PMULL) {
    kernel = crc64_update_pmull;
    kernel_name = "pmull";
  }
}

#else
static void pick_kernel(void) {}
#endif

static void init_once(void) {
  for (unsigned n = 0; n < 256; n++) {
    uint64_t c = n;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? POLY_REFLECTED : 0);
    table[0][n] = c;
  }
  for (unsigned n = 0; n < 256; n++)
    for (int t = 1; t < 8; t++) table[t][n] = (table[t - 1][n] >> 8) ^ table[0][table[t - 1][n] & 0xff];
  for (unsigned j = 1; j <= 8; j++) {
    fold_by[j].hi_half = xpow_mod(128 * j + 63);
    fold_by[j].lo_half = xpow_mod(128 * j - 1);
  }
  pick_kernel();
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void crc64_init(void) { pthread_once(&once, init_once); }

uint64_t crc64_update(uint64_t crc, const uint8_t *p, size_t n) { return kernel(crc, p, n); }

const char *crc64_kernel(void) { return kernel_name; }
