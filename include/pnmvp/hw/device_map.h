/*
 * pnmvp/hw/device_map.h: the controller core's view of the device bus:
 * address map, per-block register offsets, interrupt lines and the device
 * counter block. This project's own design (no external specification);
 * the CXL mailbox window follows CXL 2.0 section 8.2.8.4.
 *
 * This is the ONLY place where device register addresses live. It is plain
 * preprocessor (no C declarations) so that three consumers read the same
 * numbers:
 *   - the firmware (C, RV32),
 *   - the linker script (preprocessed with PNM_LINKER_SCRIPT defined),
 *   - the C++ models (models/cpu and the SystemC bus/adapters) and tools.
 * Sizes are in bytes (suffix _BYTES), register offsets are from the block
 * base (suffix _OFF). All registers are 32 bits wide, little-endian, and
 * must be accessed with naturally aligned 32-bit loads/stores unless a
 * block says otherwise (misaligned bus accesses take an access fault).
 * docs/CPU.md has the same map as a table.
 */
#ifndef PNMVP_HW_DEVICE_MAP_H
#define PNMVP_HW_DEVICE_MAP_H

/* Unsigned constant that the linker script can also parse (ld has no U). */
#if defined(PNM_LINKER_SCRIPT) || defined(__ASSEMBLER__)
#define PNM_U(x) x
#else
#define PNM_U(x) x##U
#endif

/* ------------------------------------------------------------------------
 * Tightly coupled memories (inside the core; never reach the bus).
 * ITCM holds the boot image (code, read-only data and the load image of
 * .data); it is read+execute for the firmware. DTCM holds data, heap and
 * stack; it is read+write, not executable.
 * ---------------------------------------------------------------------- */
#define PNM_ITCM_BASE PNM_U(0x00000000)
#define PNM_ITCM_SIZE_BYTES PNM_U(0x00020000) /* 128 KiB */
#define PNM_DTCM_BASE PNM_U(0x00100000)
#define PNM_DTCM_SIZE_BYTES PNM_U(0x00020000) /* 128 KiB */
#define PNM_RESET_PC PNM_ITCM_BASE /* ELF entry overrides it */

/* ------------------------------------------------------------------------
 * Peripheral space. 0x1000_0000 .. 0x1FFF_FFFF.
 * The first four 4 KiB blocks belong to the core complex (modelled inside
 * pnm::cpu::RiscvCore, zero bus latency); everything else is a TLM target
 * reached through the core's bus port.
 * ---------------------------------------------------------------------- */
#define PNM_PERIPH_BASE PNM_U(0x10000000)
#define PNM_PERIPH_SIZE_BYTES PNM_U(0x10000000)
#define PNM_BLOCK_SIZE_BYTES PNM_U(0x1000) /* core-complex block size */

/* Interrupt controller (core complex). 32 edge-triggered, latched lines
 * feeding the machine external interrupt (mcause 0x8000000B). A device
 * event sets PENDING[line]; the line interrupts when ENABLE[line] is set. */
#define PNM_INTC_BASE PNM_U(0x10000000)
#define PNM_INTC_PENDING_OFF PNM_U(0x00)     /* R: latched pending lines */
#define PNM_INTC_ENABLE_OFF PNM_U(0x04)      /* RW: line enables */
#define PNM_INTC_CLAIM_OFF PNM_U(0x08)       /* R: lowest pending&enabled line, clears it */
#define PNM_INTC_SET_PENDING_OFF PNM_U(0x0C) /* W1S: software-raise lines */
#define PNM_INTC_CLR_PENDING_OFF PNM_U(0x10) /* W1C: drop pending lines */
#define PNM_INTC_CLAIM_NONE PNM_U(0xFFFFFFFF) /* CLAIM value when nothing is pending */
#define PNM_INTC_LINE_COUNT 32

/* Machine timer (core complex), CLINT-like. MTIME counts simulated time at
 * FREQ_HZ; the timer interrupt (mcause 0x80000007) is pending while
 * MTIME >= MTIMECMP. MTIMECMP resets to all-ones (never). */
#define PNM_TIMER_BASE PNM_U(0x10001000)
#define PNM_TIMER_MTIME_LO_OFF PNM_U(0x00)    /* R */
#define PNM_TIMER_MTIME_HI_OFF PNM_U(0x04)    /* R */
#define PNM_TIMER_MTIMECMP_LO_OFF PNM_U(0x08) /* RW */
#define PNM_TIMER_MTIMECMP_HI_OFF PNM_U(0x0C) /* RW */
#define PNM_TIMER_FREQ_HZ_OFF PNM_U(0x10)     /* R: MTIME ticks per second */

/* Debug console (core complex): a write-only UART-like byte sink. */
#define PNM_CONSOLE_BASE PNM_U(0x10002000)
#define PNM_CONSOLE_TX_OFF PNM_U(0x00)     /* W: low byte is printed */
#define PNM_CONSOLE_STATUS_OFF PNM_U(0x04) /* R: bit 0 = TX ready (always 1) */
#define PNM_CONSOLE_STATUS_TX_READY PNM_U(0x1)

/* Simulation control (core complex). Writing EXIT ends the simulation with
 * that exit code; MARK emits a trace marker (firmware event) with a value. */
#define PNM_SIMCTRL_BASE PNM_U(0x10003000)
#define PNM_SIMCTRL_EXIT_OFF PNM_U(0x00) /* W: exit code */
#define PNM_SIMCTRL_MARK_OFF PNM_U(0x04) /* W: trace marker value */

/* Everything below is on the device bus (BusPort / TLM). */

/* DRAM window control. Device DRAM (up to hundreds of GiB) is seen through
 * a 1 GiB window at PNM_DRAM_WINDOW_BASE: controller address
 * PNM_DRAM_WINDOW_BASE + off maps to device physical address
 * (BASE_HI:BASE_LO) + off. BASE must be a multiple of
 * PNM_DRAM_WINDOW_ALIGN_BYTES; the bus answers with an error for accesses
 * beyond the installed DRAM. */
#define PNM_DRAMWIN_CTRL_BASE PNM_U(0x10010000)
#define PNM_DRAMWIN_BASE_LO_OFF PNM_U(0x00) /* RW: device address bits 31:0 */
#define PNM_DRAMWIN_BASE_HI_OFF PNM_U(0x04) /* RW: device address bits 63:32 */
#define PNM_DRAMWIN_SIZE_OFF PNM_U(0x08)    /* R: window size in bytes */
#define PNM_DRAM_WINDOW_ALIGN_BYTES PNM_U(0x1000)

/* Attention/top-k engine registers (offsets: pnmvp/hw/engine_regs.h). */
#define PNM_ENGINE_BASE PNM_U(0x10100000)
#define PNM_ENGINE_SIZE_BYTES PNM_U(0x00100000) /* 1 MiB */

/* CXL mailbox window: the device side of the host's primary mailbox
 * (capabilities, control, command, status, background status, payload at
 * the CXL 2.0 section 8.2.8.4 offsets: payload from 0x20). 2 MiB leaves
 * room for the largest (1 MiB) payload. */
#define PNM_MBOX_BASE PNM_U(0x10200000)
#define PNM_MBOX_SIZE_BYTES PNM_U(0x00200000) /* 2 MiB */
/* Firmware side of the CXL primary mailbox, inside the window above. The
 * host rings the doorbell (PNM_IRQ_MBOX_DOORBELL); firmware reads the
 * command, writes the output payload and its length, then writes the return
 * code to RESULT, which posts status, length and payload to the host's
 * mailbox registers and clears the doorbell (CXL 2.0 8.2.8.4 sequence). */
#define PNM_MBOXFW_STATUS_OFF PNM_U(0x00)       /* R: bit 0 = a command waits */
#define PNM_MBOXFW_OPCODE_OFF PNM_U(0x04)       /* R: its opcode */
#define PNM_MBOXFW_IN_LEN_OFF PNM_U(0x08)       /* R: input payload bytes */
#define PNM_MBOXFW_OUT_LEN_OFF PNM_U(0x0C)      /* RW: output payload bytes */
#define PNM_MBOXFW_RESULT_OFF PNM_U(0x10)       /* W: return code; posts the result */
#define PNM_MBOXFW_CAPACITY_LO_OFF PNM_U(0x20)  /* R: device capacity, bytes */
#define PNM_MBOXFW_CAPACITY_HI_OFF PNM_U(0x24)
#define PNM_MBOXFW_PAYLOAD_BYTES_OFF PNM_U(0x28) /* R: payload area size */
#define PNM_MBOXFW_READY_OFF PNM_U(0x2C)         /* RW: bit 0 = the firmware serves the mailbox
                                                    (the host sees Mailbox Interface Ready, CXL 2.0
                                                    8.2.8.5.1.1 bit 4) */
#define PNM_MBOXFW_IN_PAYLOAD_OFF PNM_U(0x1000)   /* R: the host's input payload */
#define PNM_MBOXFW_OUT_PAYLOAD_OFF PNM_U(0x100000) /* RW: output payload staging */

/* Firmware side of the PNM queue doorbells. The host writes SQ-tail and
 * CQ-head doorbells in its BAR2 (the vendor device capability in
 * pnmvp/hw/doorbells.h); either write sets the queue's PENDING bit
 * and raises PNM_IRQ_SQ_DOORBELL. Firmware reads PENDING, acknowledges the
 * bits it will serve (W1C), reads the doorbell values, and raises the host
 * interrupt (MSI) after posting completions. */
#define PNM_QDB_BASE PNM_U(0x10400000)
#define PNM_QDB_SIZE_BYTES PNM_U(0x00001000)
#define PNM_QDB_PENDING_LO_OFF PNM_U(0x00) /* R: queues 0..31 whose doorbells were written */
#define PNM_QDB_PENDING_HI_OFF PNM_U(0x04) /* R: queues 32..63 */
#define PNM_QDB_ACK_LO_OFF PNM_U(0x08)     /* W1C: clears PENDING bits 0..31 */
#define PNM_QDB_ACK_HI_OFF PNM_U(0x0C)     /* W1C: clears PENDING bits 32..63 */
#define PNM_QDB_HOST_IRQ_OFF PNM_U(0x10)   /* W: any value sends the host an interrupt */
#define PNM_QDB_QUEUES_OFF PNM_U(0x14)     /* R: doorbell pairs the host side has */
#define PNM_QDB_DOORBELL_OFF PNM_U(0x100)  /* R: queue q's pair, as in BAR2 (PNM_DOORBELL_*) */

/* Device counters the firmware reports (Get Performance Counters): 64-bit,
 * read LO then HI (reading LO latches HI). Energies in pJ since reset, as
 * the platform's models count them. */
#define PNM_DEVCTR_BASE PNM_U(0x10500000)
#define PNM_DEVCTR_SIZE_BYTES PNM_U(0x00001000)
#define PNM_DEVCTR_INSTRUCTIONS_OFF PNM_U(0x00)  /* controller instructions retired */
#define PNM_DEVCTR_LINK_RX_BYTES_OFF PNM_U(0x08) /* CXL.mem data host -> device */
#define PNM_DEVCTR_LINK_TX_BYTES_OFF PNM_U(0x10) /* CXL.mem data device -> host */
#define PNM_DEVCTR_ENERGY_DRAM_OFF PNM_U(0x18)
#define PNM_DEVCTR_ENERGY_LINK_OFF PNM_U(0x20)
#define PNM_DEVCTR_ENERGY_DATAPATH_OFF PNM_U(0x28)
#define PNM_DEVCTR_ENERGY_SRAM_OFF PNM_U(0x30)
#define PNM_DEVCTR_ENERGY_CORE_OFF PNM_U(0x38)
#define PNM_DEVCTR_COUNT 8

/* Device DRAM window. */
#define PNM_DRAM_WINDOW_BASE PNM_U(0x80000000)
#define PNM_DRAM_WINDOW_SIZE_BYTES PNM_U(0x40000000) /* 1 GiB */

/* The top PNM_FW_RESERVED_BYTES of device memory belong to the firmware
 * (never to a tenant): it stages the validated copy of each job descriptor
 * there, so the engine runs exactly what was checked. */
#define PNM_FW_RESERVED_BYTES PNM_U(0x00200000) /* 2 MiB, one tenant granule */

/* ------------------------------------------------------------------------
 * Interrupt lines into the interrupt controller.
 * ---------------------------------------------------------------------- */
#define PNM_IRQ_MBOX_DOORBELL 0 /* host set the mailbox doorbell */
#define PNM_IRQ_SQ_DOORBELL 1   /* host rang a submission-queue doorbell */
#define PNM_IRQ_ENGINE_DONE 2   /* engine finished a job */
#define PNM_IRQ_ENGINE_ERROR 3  /* engine stopped on an error */
#define PNM_IRQ_DRAM_EVENT 4    /* DRAM/RAS event (poison, ECC) */
#define PNM_IRQ_SOFTWARE 31     /* raised by firmware or tests via SET_PENDING */

/* ------------------------------------------------------------------------
 * Exit codes the start-up code and runtime use (tests may use any other).
 * ---------------------------------------------------------------------- */
#define PNM_EXIT_TRAP_BASE PNM_U(0x100) /* unhandled exception: base + mcause */

#endif /* PNMVP_HW_DEVICE_MAP_H */
