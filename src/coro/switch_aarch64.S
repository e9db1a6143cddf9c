/* switch_aarch64.S - the coroutine context switch for aarch64 (AAPCS64).
 *
 * void loom__coro_swap(loom__coro_regs *from, const loom__coro_regs *to)
 *   Saves x19-x29, the link register x30, sp and d8-d15 (the callee-saved
 *   state; layout in switch_layout.h) into *from, loads the same from *to and
 *   returns through the loaded x30, i.e. into the context saved in *to.
 *
 * loom__coro_trampoline
 *   Where a fresh coroutine starts: loom__coro_init stores its address as the
 *   first x30, with x19 = argument, x20 = entry function and x21 = the
 *   function to call if the entry function ever returns (a trap).
 */
#include "switch_layout.h"

        .text
        .globl  loom__coro_swap
        .type   loom__coro_swap, %function
        .p2align 4
loom__coro_swap:
        .cfi_startproc
        stp     x19, x20, [x0, #LOOM__A64_X19]
        stp     x21, x22, [x0, #LOOM__A64_X21]
        stp     x23, x24, [x0, #LOOM__A64_X23]
        stp     x25, x26, [x0, #LOOM__A64_X25]
        stp     x27, x28, [x0, #LOOM__A64_X27]
        stp     x29, x30, [x0, #LOOM__A64_X29]
        mov     x2, sp
        str     x2, [x0, #LOOM__A64_SP]
        stp     d8, d9, [x0, #LOOM__A64_D8]
        stp     d10, d11, [x0, #LOOM__A64_D10]
        stp     d12, d13, [x0, #LOOM__A64_D12]
        stp     d14, d15, [x0, #LOOM__A64_D14]

        ldp     x19, x20, [x1, #LOOM__A64_X19]
        ldp     x21, x22, [x1, #LOOM__A64_X21]
        ldp     x23, x24, [x1, #LOOM__A64_X23]
        ldp     x25, x26, [x1, #LOOM__A64_X25]
        ldp     x27, x28, [x1, #LOOM__A64_X27]
        ldp     x29, x30, [x1, #LOOM__A64_X29]
        ldr     x2, [x1, #LOOM__A64_SP]
        mov     sp, x2
        ldp     d8, d9, [x1, #LOOM__A64_D8]
        ldp     d10, d11, [x1, #LOOM__A64_D10]
        ldp     d12, d13, [x1, #LOOM__A64_D12]
        ldp     d14, d15, [x1, #LOOM__A64_D14]
        ret
        .cfi_endproc
        .size   loom__coro_swap, .-loom__coro_swap

        .globl  loom__coro_trampoline
        .type   loom__coro_trampoline, %function
        .p2align 4
loom__coro_trampoline:
        .cfi_startproc
        .cfi_undefined x30      /* the outermost frame: unwinders stop here */
        mov     x0, x19
        blr     x20             /* never returns when the engine is used right */
        mov     x0, x19
        blr     x21             /* reports "entry function returned" and aborts */
        brk     #0
        .cfi_endproc
        .size   loom__coro_trampoline, .-loom__coro_trampoline

        .section .note.GNU-stack,"",%progbits
