/*
 * bench_loop.c: ISS speed workload (bench_iss). A mix that looks like
 * firmware: table-driven CRC32 (loads, ALU, branches) and a struct copy
 * (loads + stores) over a DTCM buffer. Exits with the low byte of the CRC.
 */
#include <stdint.h>
#include <string.h>

#define BENCH_BUF_BYTES 1024u

volatile uint32_t bench_iterations = 2000; /* volatile: not folded by -O2 */
static uint8_t buf[BENCH_BUF_BYTES];
static uint8_t copy[BENCH_BUF_BYTES];
static uint32_t crc_table[256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) {
      c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    crc_table[i] = c;
  }
}

static uint32_t crc32(const uint8_t* p, uint32_t n, uint32_t crc) {
  crc = ~crc;
  for (uint32_t i = 0; i < n; i++) {
    crc = crc_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  }
  return ~crc;
}

int main(void) {
  crc_init();
  for (uint32_t i = 0; i < BENCH_BUF_BYTES; i++) {
    buf[i] = (uint8_t)(i * 7u + 3u);
  }
  uint32_t crc = 0;
  uint32_t n = bench_iterations;
  for (uint32_t it = 0; it < n; it++) {
    crc = crc32(buf, BENCH_BUF_BYTES, crc);
    memcpy(copy, buf, BENCH_BUF_BYTES);
    buf[it % BENCH_BUF_BYTES] ^= copy[(it * 13u) % BENCH_BUF_BYTES];
  }
  return (int)(crc & 0xFFu);
}
