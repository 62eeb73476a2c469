// SPDX-License-Identifier: GPL-2.0
/*
 * dropcap trace: report every capability check of the processes we follow.
 *
 * Hooks (see docs/trace.md for why these and not kprobes/fentry):
 *   tp_btf/cap_capable         every check, with its verdict
 *   tp_btf/sched_process_fork  follow children of followed processes
 *   tp_btf/sched_process_exit  forget processes that ended
 *
 * Filtering happens here, not in userspace, so untraced processes pay only a
 * map lookup or a compare. The userspace side lives in src/trace/bpf.rs and
 * must keep `struct event` byte-compatible (src/trace/event.rs).
 *
 * Rebuild: scripts/bpf-build.sh (CI runs it with --check).
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define MODE_ALL 0
#define MODE_PIDS 1
#define MODE_CGROUP 2 /* a cgroup v2 directory and everything below it */

#define STACK_DEPTH 5 /* enough to reach ns_capable_noaudit from the tracepoint */
#define NOAUDIT_MAX 16
#define COMM_LEN 16
/* Bytes of one user buffer (a path, a sockaddr, a gid list) copied per event. */
#define OBJ_MAX 256
/* Syscall numbers obj_spec covers (x86_64, Linux 6.18: 0..=469). */
#define NR_SYSCALLS 470

/* Set by userspace before load; frozen in .rodata so the verifier prunes dead branches. */
const volatile u32 target_mode = MODE_ALL;
const volatile u64 target_cgroup = 0;
/* Depth of target_cgroup below the cgroup v2 root: its descendants match too. */
const volatile u32 target_level = 0;
const volatile u32 self_tgid = 0;
/* Wake the reader each time this many more bytes wait (power of two): batched wakeups. */
const volatile u64 wakeup_bytes = 256 * 1024;
/*
 * [lo, hi) address ranges of the kernel functions that check capabilities without
 * auditing (ns_capable_noaudit & co., the vm_enough_memory chain), from /proc/kallsyms.
 * noaudit_n == 0 turns the heuristic off (addresses hidden by kptr_restrict).
 */
const volatile u32 noaudit_n = 0;
const volatile u64 noaudit_lo[NOAUDIT_MAX] = {};
const volatile u64 noaudit_hi[NOAUDIT_MAX] = {};
/*
 * What to copy from user memory, per syscall number (src/trace/object.rs builds it from its
 * table of syscall arguments, so this program knows no syscall by name): bits 0-3 COPY_*,
 * 4-7 the argument holding the pointer, 8-11 the argument holding the length.
 */
#define COPY_STR 1 /* a NUL-terminated string (a path) */
#define COPY_BYTES 2 /* length argument = bytes (a sockaddr) */
#define COPY_U32S 3 /* length argument = count of u32 (a gid list) */
#define COPY_EXEC_STR 4 /* a string in execve's arguments (see copy_object) */
/* obj_len when the pointer belongs to memory execve has already replaced. */
#define OBJ_GONE (-4096)
const volatile u16 obj_spec[NR_SYSCALLS] = {};

/*
 * The checked credentials are not the task's own: overlayfs (and others) check with the
 * mounter's credentials via override_creds(), and some checks test another task. Such a
 * check says nothing about what the task itself needs.
 */
#define EVENT_FOREIGN_CRED 1
/* The kernel stack passed through a noaudit function: a probe, not a need. */
#define EVENT_NOAUDIT 2
/* EVENT_NOAUDIT came from the per-path cache instead of a fresh stack walk. */
#define EVENT_PATH_CACHED 4
/* The string in obj did not fit: obj holds its first OBJ_MAX - 1 bytes. */
#define EVENT_OBJ_TRUNCATED 8

struct event {
	u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	u64 cgroup_id; /* cgroup v2 id of the checking task */
	u32 pid; /* tgid */
	u32 tid;
	u32 ppid; /* real parent's tgid */
	u32 uid; /* euid of the checked credentials */
	s32 syscall; /* -1 outside a syscall */
	s32 ret; /* 0 granted, -EPERM denied */
	u32 cap;
	u32 flags; /* EVENT_* */
	char comm[COMM_LEN];
	u64 args[6]; /* the syscall's arguments (0 outside a syscall) */
	s32 obj_len; /* bytes copied into obj (a string's count includes its NUL), or -errno */
	u32 obj_pad;
	u8 obj[OBJ_MAX];
};

/*
 * Walking the kernel stack costs ~0.8 us, most of a delivered event's cost, and a busy
 * process repeats the same check from the same code path again and again. A path is
 * identified by (cap, verdict, syscall, kernel stack depth in bytes): two different call
 * chains reaching cap_capable at exactly the same depth in the same syscall for the same
 * capability are very unlikely, and the audit flag of a path never changes. One stack walk
 * per path, then a hash lookup.
 */
struct path_key {
	u32 cap;
	s32 ret;
	s32 syscall;
	u32 depth;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct path_key);
	__type(value, u8);
} paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* tgids we follow in MODE_PIDS: the authority (exact, and what userspace counts). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u8);
} tgids SEC(".maps");

/*
 * The filter in front of `tgids`: one bit per tgid, bit (tgid & 63) of word (tgid >> 6). A
 * hash lookup is most of what a filtered-out check costs (bench/trace.sh); these are array
 * lookups, which the verifier inlines into a bounds check and a load. A clear bit in both
 * means "not followed"; a set bit sends the check on to `tgids`, so a stale bit (a tgid that
 * exited and was reused) costs a hash lookup, never a wrong event. Two maps so that each has
 * one writer: userspace sets `user_bits` for the processes it adds (read-modify-write of a
 * word, safe only without a second writer), this program sets `fork_bits` atomically for their
 * children. Userspace sizes both to pid_max (at most 2^22 tgids, 512 KiB each); a tgid beyond
 * them (pid_max raised after loading) finds no word and goes to `tgids` directly.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u64);
} user_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u64);
} fork_bits SEC(".maps");

#define COUNT_SEEN 0 /* checks that matched the target */
#define COUNT_LOST 1 /* of those, dropped because the ring buffer was full */
#define COUNT_SLOTS 2

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNT_SLOTS);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

static __always_inline void bump(u32 slot)
{
	u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline bool followed(u32 tgid)
{
	u32 word = tgid >> 6;
	u64 bit = 1ULL << (tgid & 63);
	u64 *mine = bpf_map_lookup_elem(&user_bits, &word);
	u64 *forked = bpf_map_lookup_elem(&fork_bits, &word);
	if (mine && forked && !((*mine | *forked) & bit))
		return false;
	return bpf_map_lookup_elem(&tgids, &tgid) != 0;
}

/* MODE_PIDS and MODE_ALL; MODE_CGROUP is decided before the pid is even read. */
static __always_inline bool wanted(u32 tgid)
{
	if (target_mode == MODE_PIDS)
		return followed(tgid);
	return tgid != self_tgid;
}

/* A pointer's value as a plain number (the verifier keeps pointer types otherwise). */
static __always_inline u64 addr_of(const void *p)
{
	u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

static __always_inline bool stack_is_noaudit(void *ctx)
{
	u64 frames[STACK_DEPTH] = {};
	long n = bpf_get_stack(ctx, frames, sizeof(frames), 0);
	if (n <= 0)
		return false;
	for (int i = 0; i < STACK_DEPTH; i++) {
		if (i * (int)sizeof(u64) >= n)
			break;
		for (int j = 0; j < NOAUDIT_MAX; j++) {
			if (j >= noaudit_n)
				break;
			if (frames[i] >= noaudit_lo[j] && frames[i] < noaudit_hi[j])
				return true;
		}
	}
	return false;
}

/*
 * Copies the user buffer obj_spec names for this syscall. A faulting pointer leaves a
 * negative obj_len (dropcap reports "unknown"); the event is sent either way.
 */
static __always_inline void copy_object(struct event *e, s32 syscall)
{
	e->obj_len = 0;
	/* Unsigned: a negative number (outside a syscall) is out of range too. */
	u32 nr = (u32)syscall;
	/* One register for the check and the index, or the verifier loses the bound. */
	asm volatile("" : "+r"(nr));
	if (nr >= NR_SYSCALLS)
		return;
	u16 spec = obj_spec[nr];
	u32 kind = spec & 0xf, ptr_arg = (spec >> 4) & 0xf, len_arg = (spec >> 8) & 0xf;
	if (kind == 0 || ptr_arg >= 6 || len_arg >= 6)
		return;
	const void *ptr = (const void *)e->args[ptr_arg];
	if (kind == COPY_EXEC_STR) {
		/*
		 * Past execve's point of no return the process runs in the new program's memory,
		 * where the pointer means nothing (or something else: a wrong path). A new memory
		 * map has mm->env_end == 0 until create_elf_tables writes argv and envp, which
		 * load_elf_binary does after every mmap and brk of the new program (the checks
		 * there are vm_enough_memory probes); setup_arg_pages already sets arg_start, so
		 * that one cannot tell. Every process that ran a program has env_end set.
		 */
		struct task_struct *task = bpf_get_current_task_btf();
		struct mm_struct *mm = task->mm;
		if (!mm || mm->env_end == 0) {
			e->obj_len = OBJ_GONE;
			return;
		}
		kind = COPY_STR;
	}
	if (kind == COPY_STR) {
		long n = bpf_probe_read_user_str(e->obj, OBJ_MAX, ptr);
		e->obj_len = n;
		if (n == OBJ_MAX) {
			/* Full buffer: truncated unless the byte after the copied ones ends it. */
			char next = 1;
			bpf_probe_read_user(&next, 1, (const char *)ptr + OBJ_MAX - 1);
			if (next != 0)
				e->flags |= EVENT_OBJ_TRUNCATED;
		}
		return;
	}
	u64 len = e->args[len_arg];
	if (kind == COPY_U32S)
		len = (len & 0xffffffff) * 4;
	else if (kind != COPY_BYTES)
		return;
	if (len > OBJ_MAX)
		len = OBJ_MAX;
	long r = bpf_probe_read_user(e->obj, len, ptr);
	e->obj_len = r < 0 ? r : (s32)len;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(on_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	/*
	 * Every check on the host runs this, so the filter comes first and does as little as
	 * the mode allows: one cgroup compare, or the pid and two array loads (wanted()).
	 * Nothing else happens before it says no (bench/trace.sh measures this path).
	 */
	if (target_mode == MODE_CGROUP &&
	    bpf_get_current_ancestor_cgroup_id(target_level) != target_cgroup)
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	if (target_mode != MODE_CGROUP && !wanted(tgid))
		return 0;
	bump(COUNT_SEEN);

	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		bump(COUNT_LOST);
		return 0;
	}

	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	u32 flags = cred != task->real_cred ? EVENT_FOREIGN_CRED : 0;
	s32 syscall = -1;
	if (!(task->flags & PF_KTHREAD))
		syscall = (s32)regs->orig_ax;

	if (noaudit_n > 0) {
		/*
		 * pt_regs sit at the top of the task's kernel stack; ctx (the tracepoint's
		 * argument array) lives in bpf_trace_run5's frame on that same stack, right
		 * below cap_capable's callers. Not the address of a local: since 6.13 tracing
		 * programs may run on a per-CPU private stack, which says nothing about depth.
		 */
		struct path_key key = {
			.cap = cap,
			.ret = ret,
			.syscall = syscall,
			.depth = (u32)(addr_of(regs) - addr_of(ctx)),
		};
		u8 *known = bpf_map_lookup_elem(&paths, &key);
		if (known) {
			flags |= *known | EVENT_PATH_CACHED;
		} else {
			u8 verdict = stack_is_noaudit(ctx) ? EVENT_NOAUDIT : 0;
			bpf_map_update_elem(&paths, &key, &verdict, BPF_ANY);
			flags |= verdict;
		}
	}

	e->time_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = tgid;
	e->tid = (u32)id;
	e->ppid = task->real_parent->tgid;
	e->uid = cred->euid.val;
	e->cap = cap;
	e->ret = ret;
	e->syscall = syscall;
	e->flags = flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (syscall >= 0) {
		e->args[0] = regs->di;
		e->args[1] = regs->si;
		e->args[2] = regs->dx;
		e->args[3] = regs->r10;
		e->args[4] = regs->r8;
		e->args[5] = regs->r9;
	} else {
		__builtin_memset(e->args, 0, sizeof(e->args));
	}
	e->obj_pad = 0;
	copy_object(e, syscall);

	/*
	 * Wake the reader only when the queued data crosses a multiple of wakeup_bytes (a power
	 * of two): a wakeup is an IPI, and waking on every event above the threshold while the
	 * reader is busy would cost more than the event itself. A reader that is already
	 * draining finds the rest when it polls again; quiet traces are picked up by its poll
	 * timeout.
	 */
	u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	u64 record = sizeof(*e) + 8; /* + ring buffer record header */
	u64 wake = avail >= wakeup_bytes && (avail & (wakeup_bytes - 1)) < record
			   ? BPF_RB_FORCE_WAKEUP
			   : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, wake);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 ptgid = parent->tgid;
	if (!bpf_map_lookup_elem(&tgids, &ptgid))
		return 0;
	u32 ctgid = child->tgid;
	u8 one = 1;
	bpf_map_update_elem(&tgids, &ctgid, &one, BPF_ANY);
	/* After the hash entry: a check that sees the bit must find the entry. */
	u32 word = ctgid >> 6;
	u64 *bits = bpf_map_lookup_elem(&fork_bits, &word);
	if (bits)
		__sync_fetch_and_or(bits, 1ULL << (ctgid & 63));
	return 0;
}

/* Only the group leader's exit ends a tgid; threads exiting before it change nothing. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	if (p->pid != p->tgid)
		return 0;
	u32 tgid = p->tgid;
	/* Only fork_bits is ours to clear; a stale user_bits bit just costs a hash lookup. */
	u32 word = tgid >> 6;
	u64 *bits = bpf_map_lookup_elem(&fork_bits, &word);
	if (bits)
		__sync_fetch_and_and(bits, ~(1ULL << (tgid & 63)));
	bpf_map_delete_elem(&tgids, &tgid);
	return 0;
}
