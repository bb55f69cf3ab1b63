/*
 * bus_test.c: device-bus accesses from firmware. Reads the mailbox window,
 * writes an engine register, goes through the DRAM window, and takes one
 * load and one store access fault (recovered by skipping the instruction).
 * Exit code 0 means every check passed; otherwise the number of the check
 * that failed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pnm_hal.h"

/* Shared with tests/cpu/test_riscv_core.cpp (the fake bus). */
#define BUS_TEST_MBOX_CAPS 0x0000000Bu       /* value the fake bus returns */
#define BUS_TEST_ENGINE_REG_OFF 0x10u
#define BUS_TEST_ENGINE_VALUE 0xCAFEF00Du
#define BUS_TEST_DRAM_ADDR 0x1234567010ull   /* device DRAM address, > 4 GiB */
#define BUS_TEST_DRAM_VALUE 0x55AA1234u
#define BUS_TEST_BAD_ADDR 0x1F000000u       /* nothing decodes here */

static volatile uint32_t faults;
static volatile uint32_t fault_cause[2];
static volatile uint32_t fault_addr[2];

uint32_t pnm_exception_handler(uint32_t mcause, uint32_t mepc, uint32_t mtval) {
  if (mcause == PNM_MCAUSE_LOAD_ACCESS_FAULT || mcause == PNM_MCAUSE_STORE_ACCESS_FAULT) {
    if (faults < 2) {
      fault_cause[faults] = mcause;
      fault_addr[faults] = mtval;
    }
    faults++;
    return mepc + pnm_insn_length(mepc);
  }
  printf("bus_test: unexpected exception %lu\n", (unsigned long)mcause);
  exit((int)(PNM_EXIT_TRAP_BASE + mcause));
}

int main(void) {
  if (pnm_read32(PNM_MBOX_BASE) != BUS_TEST_MBOX_CAPS) {
    return 1;
  }
  pnm_write32(PNM_ENGINE_BASE + BUS_TEST_ENGINE_REG_OFF, BUS_TEST_ENGINE_VALUE);

  uintptr_t p = pnm_dram_map(BUS_TEST_DRAM_ADDR);
  pnm_write32(p, BUS_TEST_DRAM_VALUE);
  if (pnm_read32(p) != BUS_TEST_DRAM_VALUE) {
    return 2;
  }

  (void)pnm_read32(BUS_TEST_BAD_ADDR);
  pnm_write32(BUS_TEST_BAD_ADDR + 4u, 1u);
  printf("bus_test: %lu faults\n", (unsigned long)faults);
  if (faults != 2) {
    return 3;
  }
  if (fault_cause[0] != PNM_MCAUSE_LOAD_ACCESS_FAULT || fault_addr[0] != BUS_TEST_BAD_ADDR) {
    return 4;
  }
  if (fault_cause[1] != PNM_MCAUSE_STORE_ACCESS_FAULT || fault_addr[1] != BUS_TEST_BAD_ADDR + 4u) {
    return 5;
  }
  return 0;
}
