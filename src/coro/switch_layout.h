/* switch_layout.h - byte offsets of the saved-register block, shared by the
 * assembly (switch_*.S, which cannot see C structs) and coro.h, which ties
 * every offset to the C struct with _Static_assert(offsetof(...)).  Only
 * preprocessor definitions: this file is included from assembly.
 *
 * x86-64 (System V): the callee-saved registers, the stack pointer and the
 * two floating-point control words the ABI says a callee must preserve.
 *
 *      0        8        16       24       32       40       48       56   60   64
 *      +--------+--------+--------+--------+--------+--------+--------+----+----+
 *      |  rsp   |  rbp   |  rbx   |  r12   |  r13   |  r14   |  r15   |mxcs|x87c|
 *      +--------+--------+--------+--------+--------+--------+--------+----+----+
 *  The return address is not stored: it is on the saved stack at [rsp].
 *
 * aarch64 (AAPCS64): x19-x28, the frame pointer x29, the link register x30,
 * sp, and the low halves d8-d15 of v8-v15.
 *
 *      0         16        32        48        64        80        96   104
 *      +----+----+----+----+----+----+----+----+----+----+----+----+----+
 *      |x19 |x20 |x21 |x22 |x23 |x24 |x25 |x26 |x27 |x28 |x29 |x30 | sp |
 *      +----+----+----+----+----+----+----+----+----+----+----+----+----+
 *      104       120       136       152       168
 *      +----+----+----+----+----+----+----+----+
 *      | d8 | d9 |d10 |d11 |d12 |d13 |d14 |d15 |
 *      +----+----+----+----+----+----+----+----+
 */
#ifndef LOOM_CORO_SWITCH_LAYOUT_H
#define LOOM_CORO_SWITCH_LAYOUT_H

#define LOOM__X64_RSP 0
#define LOOM__X64_RBP 8
#define LOOM__X64_RBX 16
#define LOOM__X64_R12 24
#define LOOM__X64_R13 32
#define LOOM__X64_R14 40
#define LOOM__X64_R15 48
#define LOOM__X64_MXCSR 56
#define LOOM__X64_X87CW 60
#define LOOM__X64_SIZE 64

#define LOOM__A64_X19 0
#define LOOM__A64_X21 16
#define LOOM__A64_X23 32
#define LOOM__A64_X25 48
#define LOOM__A64_X27 64
#define LOOM__A64_X29 80 /* x29 (fp) then x30 (lr) */
#define LOOM__A64_SP 96
#define LOOM__A64_D8 104
#define LOOM__A64_D10 120
#define LOOM__A64_D12 136
#define LOOM__A64_D14 152
#define LOOM__A64_SIZE 168

#endif
