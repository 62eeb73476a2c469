/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few kernel types capable.bpf.c reads, declared by hand with CO-RE
 * (preserve_access_index): field offsets are relocated at load time against
 * the running kernel's BTF (/sys/kernel/btf/vmlinux), so only the field
 * NAMES must match the kernel, never the layout.
 *
 * Why hand-written instead of `bpftool btf dump file /sys/kernel/btf/vmlinux
 * format c`: the generated header is ~3 MB, differs on every kernel, and would
 * make the committed object depend on the machine that built it. This header
 * is small enough to review, is identical everywhere, and lets
 * `scripts/bpf-build.sh --check` rebuild a byte-identical object on any
 * machine with the same clang. Adding a field here is all it takes to read one
 * more kernel field.
 */
#ifndef DROPCAP_VMLINUX_MIN_H
#define DROPCAP_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef short int __s16;
typedef short unsigned int __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long int __s64;
typedef long long unsigned int __u64;
typedef __u8 u8;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
typedef int pid_t;
enum { false = 0, true = 1 };

/* BPF map type and flag numbers from the stable UAPI (include/uapi/linux/bpf.h). */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_ANY = 0,
	BPF_F_USER_STACK = 256,
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
	BPF_RB_AVAIL_DATA = 0,
};

/* include/linux/sched.h: a kernel thread runs no syscall, so its pt_regs mean nothing. */
#define PF_KTHREAD 0x00200000

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs {
	unsigned long orig_ax; /* syscall number inside a syscall, -1 otherwise (x86_64) */
	/* The six syscall arguments, in order (x86_64 syscall ABI: rdi rsi rdx r10 r8 r9). */
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long r10;
	unsigned long r8;
	unsigned long r9;
};

typedef struct {
	unsigned int val;
} kuid_t;

struct cred {
	kuid_t euid;
};

struct user_namespace;

struct mm_struct {
	unsigned long env_end; /* 0 in a new program's memory until its stack tables are written */
};

struct task_struct {
	unsigned int flags;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct mm_struct *mm;
	const struct cred *real_cred; /* the task's own (objective) credentials */
};

#pragma clang attribute pop

#endif
