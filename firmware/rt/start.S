/*
 * start.S: reset entry and trap vector of the controller firmware.
 * Linked with -nostartfiles instead of picolibc's crt0 because we also
 * install the trap vector and need our own memory layout (rt/pnm_tcm.ld.in).
 */
    .section .text.init.enter, "ax"
    .globl _start
    .type _start, @function
_start:
    /* gp is the anchor of linker relaxation: set it without relaxing */
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack

    /* direct-mode trap vector: every trap enters _pnm_trap_entry */
    la t0, _pnm_trap_entry
    csrw mtvec, t0

    /* .data + .tdata: ITCM load image -> DTCM */
    la a0, __data_start
    la a1, __data_source
    la a2, __data_size
    call memcpy
    /* .tbss + .bss */
    la a0, __bss_start
    li a1, 0
    la a2, __bss_size
    call memset

    /* one thread: the DTCM copy of the TLS template is the TLS block */
    la tp, __tls_base

    call __libc_init_array
    li a0, 0
    li a1, 0
    call main
    call exit
1:  j 1b
    .size _start, . - _start

/*
 * Trap entry: save the caller-saved registers (the C handler preserves the
 * rest), call pnm_trap_dispatch(mcause, mepc, mtval), which returns the PC
 * to resume at, then mret. Traps do not nest: the hardware clears
 * mstatus.MIE on entry and the handlers do not set it again.
 */
    .section .text.trap, "ax"
    .balign 4
    .globl _pnm_trap_entry
    .type _pnm_trap_entry, @function
_pnm_trap_entry:
    addi sp, sp, -64
    sw ra, 0(sp)
    sw t0, 4(sp)
    sw t1, 8(sp)
    sw t2, 12(sp)
    sw a0, 16(sp)
    sw a1, 20(sp)
    sw a2, 24(sp)
    sw a3, 28(sp)
    sw a4, 32(sp)
    sw a5, 36(sp)
    sw a6, 40(sp)
    sw a7, 44(sp)
    sw t3, 48(sp)
    sw t4, 52(sp)
    sw t5, 56(sp)
    sw t6, 60(sp)

    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call pnm_trap_dispatch
    csrw mepc, a0

    lw ra, 0(sp)
    lw t0, 4(sp)
    lw t1, 8(sp)
    lw t2, 12(sp)
    lw a0, 16(sp)
    lw a1, 20(sp)
    lw a2, 24(sp)
    lw a3, 28(sp)
    lw a4, 32(sp)
    lw a5, 36(sp)
    lw a6, 40(sp)
    lw a7, 44(sp)
    lw t3, 48(sp)
    lw t4, 52(sp)
    lw t5, 56(sp)
    lw t6, 60(sp)
    addi sp, sp, 64
    mret
    .size _pnm_trap_entry, . - _pnm_trap_entry
