/* CPU locality (cpu_affinity = on): with one worker per CPU, each worker
 * stays on its CPU, and a new connection goes to the worker of the CPU
 * that took in its first packet. A client and the worker serving it then
 * share a CPU (on loopback, or with a NIC queue per CPU), so waking one
 * for the other needs no cross-CPU interrupt; with the kernel's own hash
 * spreading connections, those wake-ups cost certad about a fifth of its
 * time per cached OCSP answer. The choice is a classic BPF program on the
 * SO_REUSEPORT group: it maps the receiving CPU to its position among the
 * CPUs certad may use. A CPU outside the set (after a change of affinity)
 * yields an index past the group, and the kernel falls back to its hash.
 *
 * With more workers than CPUs (SCEP's enrollments wait on a group commit,
 * docs/scep.md) nothing is pinned: a worker that waits leaves its CPU to
 * whichever thread has work, and pinned, the CPU whose clients happen to
 * have less work would idle while the other has a queue.
 *
 * It is off by default: behind a NIC with a single receive queue every
 * connection arrives on the CPU that takes its interrupts, and would go to
 * that CPU's worker alone. */
#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include "certad.h"

/* A jeq of the lookup jumps n instructions (offsets are 8 bits); a worker
 * each on more CPUs than this is past what certad was tried with. */
#define MAX_STEER_CPUS 64

int certad_cpu_plan(struct certad_cpu_plan *p, enum certad_cpu_affinity mode, int workers)
{
    memset(p, 0, sizeof(*p));
    if (mode == CERTAD_CPU_OFF)
        return 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && p->n < MAX_STEER_CPUS + 1; cpu++)
        if (CPU_ISSET(cpu, &set))
            p->cpus[p->n++] = cpu;
    /* One CPU has nothing to steer; see above for more workers than CPUs. */
    if (p->n < 2 || p->n > MAX_STEER_CPUS || workers != p->n) {
        p->n = 0;
        return 0;
    }
    p->active = 1;
    return 0;
}

int certad_cpu_steer(const struct certad_cpu_plan *p, int fd)
{
    if (!p->active)
        return 0;
    /* A = cpu; a jeq per usable CPU to its "return position". */
    struct sock_filter code[2 + 2 * MAX_STEER_CPUS];
    unsigned n = (unsigned)p->n, k = 0;
    code[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_CPU);
    for (unsigned i = 0; i < n; i++) {
        /* from jeq i to its return: the jeqs after it, the default, i returns */
        unsigned jump = (n - 1 - i) + 1 + i;
        code[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)p->cpus[i], (unsigned char)jump, 0);
    }
    code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);   /* not ours: hash */
    for (unsigned i = 0; i < n; i++)
        code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, i);
    struct sock_fprog prog = { .len = (unsigned short)k, .filter = code };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0)
        return certa_error_set(CERTA_EIO, "cannot steer connections by CPU: %s", strerror(errno));
    return 0;
}

/* The CPU worker id keeps to, or -1. */
static int worker_cpu(const struct certad_cpu_plan *p, int id)
{
    if (!p->active || id < 0 || id >= p->n)
        return -1;
    return p->cpus[id];
}

void certad_cpu_pin(const struct certad_cpu_plan *p, int id)
{
    int cpu = worker_cpu(p, id);
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    /* Best effort: a worker left unpinned still serves, only further away. */
    int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (e != 0)
        certad_log("warn", "worker %d: cannot keep to CPU %d: %s", id, cpu, strerror(e));
}
