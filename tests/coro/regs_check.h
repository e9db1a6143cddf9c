/* regs_check.h - regs_survive(): does a call preserve every callee-saved
 * register?  Shared by test_coro.c and the aarch64 cross check. */
#ifndef LOOM_TESTS_CORO_REGS_CHECK_H
#define LOOM_TESTS_CORO_REGS_CHECK_H

#include <stdint.h>

/* Load every callee-saved register with seed+k, call fn(), and return a
 * non-zero value if any of them changed.  One asm statement, so the compiler
 * cannot keep anything of its own in those registers across the call. */
static uint64_t regs_survive(void (*fn)(void), uint64_t seed) {
  uint64_t bad;
#if defined(__x86_64__)
  __asm__ volatile(
      "sub $128, %%rsp\n\t" /* step over the red zone */
      "mov %%rsp, %%rax\n\t"
      "and $-16, %%rsp\n\t"
      "push %%rax\n\t"
      "push %%rbx\n\tpush %%rbp\n\tpush %%r12\n\tpush %%r13\n\tpush %%r14\n\tpush %%r15\n\t"
      "push %%rsi\n\t" /* the seed; 8 pushes keep rsp 16-aligned */
      "lea 1(%%rsi), %%rbx\n\tlea 2(%%rsi), %%rbp\n\tlea 3(%%rsi), %%r12\n\t"
      "lea 4(%%rsi), %%r13\n\tlea 5(%%rsi), %%r14\n\tlea 6(%%rsi), %%r15\n\t"
      "call *%%rdi\n\t"
      "mov (%%rsp), %%rsi\n\t"
      "xor %%rax, %%rax\n\t"
      "lea 1(%%rsi), %%rcx\n\txor %%rbx, %%rcx\n\tor %%rcx, %%rax\n\t"
      "lea 2(%%rsi), %%rcx\n\txor %%rbp, %%rcx\n\tor %%rcx, %%rax\n\t"
      "lea 3(%%rsi), %%rcx\n\txor %%r12, %%rcx\n\tor %%rcx, %%rax\n\t"
      "lea 4(%%rsi), %%rcx\n\txor %%r13, %%rcx\n\tor %%rcx, %%rax\n\t"
      "lea 5(%%rsi), %%rcx\n\txor %%r14, %%rcx\n\tor %%rcx, %%rax\n\t"
      "lea 6(%%rsi), %%rcx\n\txor %%r15, %%rcx\n\tor %%rcx, %%rax\n\t"
      "pop %%rsi\n\t"
      "pop %%r15\n\tpop %%r14\n\tpop %%r13\n\tpop %%r12\n\tpop %%rbp\n\tpop %%rbx\n\t"
      "pop %%rsp\n\t"
      "add $128, %%rsp\n\t"
      : "=a"(bad), "+D"(fn), "+S"(seed)
      :
      : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2",
        "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15");
#elif defined(__aarch64__)
  __asm__ volatile(
      "mov x9, %[fn]\n\t"
      "mov x10, %[seed]\n\t"
      "sub sp, sp, #176\n\t"
      "stp x19, x20, [sp, #0]\n\tstp x21, x22, [sp, #16]\n\tstp x23, x24, [sp, #32]\n\t"
      "stp x25, x26, [sp, #48]\n\tstp x27, x28, [sp, #64]\n\tstp x29, x30, [sp, #80]\n\t"
      "stp d8, d9, [sp, #96]\n\tstp d10, d11, [sp, #112]\n\t"
      "stp d12, d13, [sp, #128]\n\tstp d14, d15, [sp, #144]\n\t"
      "str x10, [sp, #160]\n\t"
      "add x19, x10, #1\n\tadd x20, x10, #2\n\tadd x21, x10, #3\n\tadd x22, x10, #4\n\t"
      "add x23, x10, #5\n\tadd x24, x10, #6\n\tadd x25, x10, #7\n\tadd x26, x10, #8\n\t"
      "add x27, x10, #9\n\tadd x28, x10, #10\n\t"
      "fmov d8, x19\n\tfmov d9, x20\n\tfmov d10, x21\n\tfmov d11, x22\n\t"
      "fmov d12, x23\n\tfmov d13, x24\n\tfmov d14, x25\n\tfmov d15, x26\n\t"
      "blr x9\n\t"
      "ldr x10, [sp, #160]\n\tmov x9, #0\n\t"
      "add x11, x10, #1\n\teor x11, x11, x19\n\torr x9, x9, x11\n\t"
      "add x11, x10, #2\n\teor x11, x11, x20\n\torr x9, x9, x11\n\t"
      "add x11, x10, #3\n\teor x11, x11, x21\n\torr x9, x9, x11\n\t"
      "add x11, x10, #4\n\teor x11, x11, x22\n\torr x9, x9, x11\n\t"
      "add x11, x10, #5\n\teor x11, x11, x23\n\torr x9, x9, x11\n\t"
      "add x11, x10, #6\n\teor x11, x11, x24\n\torr x9, x9, x11\n\t"
      "add x11, x10, #7\n\teor x11, x11, x25\n\torr x9, x9, x11\n\t"
      "add x11, x10, #8\n\teor x11, x11, x26\n\torr x9, x9, x11\n\t"
      "add x11, x10, #9\n\teor x11, x11, x27\n\torr x9, x9, x11\n\t"
      "add x11, x10, #10\n\teor x11, x11, x28\n\torr x9, x9, x11\n\t"
      "fmov x12, d8\n\teor x12, x12, x19\n\torr x9, x9, x12\n\t"
      "fmov x12, d9\n\teor x12, x12, x20\n\torr x9, x9, x12\n\t"
      "fmov x12, d10\n\teor x12, x12, x21\n\torr x9, x9, x12\n\t"
      "fmov x12, d11\n\teor x12, x12, x22\n\torr x9, x9, x12\n\t"
      "fmov x12, d12\n\teor x12, x12, x23\n\torr x9, x9, x12\n\t"
      "fmov x12, d13\n\teor x12, x12, x24\n\torr x9, x9, x12\n\t"
      "fmov x12, d14\n\teor x12, x12, x25\n\torr x9, x9, x12\n\t"
      "fmov x12, d15\n\teor x12, x12, x26\n\torr x9, x9, x12\n\t"
      "ldp x19, x20, [sp, #0]\n\tldp x21, x22, [sp, #16]\n\tldp x23, x24, [sp, #32]\n\t"
      "ldp x25, x26, [sp, #48]\n\tldp x27, x28, [sp, #64]\n\tldp x29, x30, [sp, #80]\n\t"
      "ldp d8, d9, [sp, #96]\n\tldp d10, d11, [sp, #112]\n\t"
      "ldp d12, d13, [sp, #128]\n\tldp d14, d15, [sp, #144]\n\t"
      "add sp, sp, #176\n\t"
      "mov %[bad], x9\n\t"
      : [bad] "=r"(bad)
      : [fn] "r"(fn), [seed] "r"(seed)
      : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12",
        "x13", "x14", "x15", "x16", "x17", "x30", "memory", "cc", "v0", "v1", "v2", "v3",
        "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
        "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
#endif
  return bad;
}

#endif
