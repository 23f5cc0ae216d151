/*
 * sandbox-exec: runs a command under the kernel restrictions the unit's MemoryDenyWriteExecute=,
 * RestrictAddressFamilies= and SystemCallArchitectures= put on the daemon, without systemd as PID 1
 * (the package tests' machine has none). Compiled and used by tests/.../Packaging/SandboxTests.cs.
 *
 *   sandbox-exec seccomp -- <command> [args]
 *       The seccomp filter systemd 252 (Debian 12, RHEL 9) installs for MemoryDenyWriteExecute=yes
 *       (src/shared/seccomp-util.c, seccomp_memory_deny_write_execute), made stricter: where systemd
 *       answers EPERM, this kills the process (SIGSYS), so a run that survives never even tried:
 *         mmap with PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect adding PROT_EXEC, shmat SHM_EXEC.
 *       Plus RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX as systemd does it (socket() with any
 *       other family fails with EAFNOSUPPORT) and SystemCallArchitectures=native (x86-64 only, no
 *       x32, else EPERM), after PR_SET_NO_NEW_PRIVS (NoNewPrivileges=yes).
 *   sandbox-exec prctl -- <command> [args]
 *       PR_SET_MDWE with PR_MDWE_REFUSE_EXEC_GAIN (Linux 6.3+), the kernel's own W^X switch that
 *       newer systemd uses for MemoryDenyWriteExecute= when the kernel has it: inherited across
 *       execve, it refuses any W+X mapping and any mprotect() making a mapping executable.
 *       Exits 77 when the kernel does not know it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif
#define X32_SYSCALL_BIT 0x40000000U

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define ARG_LOW(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

static int seccomp_sandbox(void)
{
    struct sock_filter f[] = {
        /* SystemCallArchitectures=native */
        LOAD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        RET(SECCOMP_RET_ERRNO | EPERM),
        LOAD(nr),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
        RET(SECCOMP_RET_ERRNO | EPERM),

        /* mmap: PROT_WRITE and PROT_EXEC together */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 5),
        ARG_LOW(2),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
        RET(SECCOMP_RET_KILL_PROCESS),
        RET(SECCOMP_RET_ALLOW),

        /* mprotect, pkey_mprotect: PROT_EXEC at all */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 0, 4),
        ARG_LOW(2),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
        RET(SECCOMP_RET_KILL_PROCESS),
        RET(SECCOMP_RET_ALLOW),

        /* shmat: SHM_EXEC */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shmat, 0, 4),
        ARG_LOW(2),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SHM_EXEC, 0, 1),
        RET(SECCOMP_RET_KILL_PROCESS),
        RET(SECCOMP_RET_ALLOW),

        /* socket: AF_UNIX, AF_INET, AF_INET6 only */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 6),
        ARG_LOW(0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 1, 0),
        RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT),
        RET(SECCOMP_RET_ALLOW),

        RET(SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("sandbox-exec: PR_SET_NO_NEW_PRIVS"); return -1; }
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) { perror("sandbox-exec: seccomp"); return -1; }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: sandbox-exec seccomp|prctl -- <command> [args]\n");
        return 2;
    }
    if (strcmp(argv[1], "seccomp") == 0) {
        if (seccomp_sandbox() != 0) return 1;
    } else if (strcmp(argv[1], "prctl") == 0) {
        if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0) {
            if (errno == EINVAL) { fprintf(stderr, "sandbox-exec: this kernel has no PR_SET_MDWE\n"); return 77; }
            perror("sandbox-exec: PR_SET_MDWE");
            return 1;
        }
    } else {
        fprintf(stderr, "sandbox-exec: unknown mode %s\n", argv[1]);
        return 2;
    }
    execvp(argv[3], argv + 3);
    perror("sandbox-exec: exec");
    return 127;
}
