/* CPU locality (cpu_affinity = auto): each worker stays on one CPU, and a
 * new connection goes to a worker of the CPU that took in its first packet.
 * A client and the worker serving it then share a CPU (on loopback, or
 * with a NIC queue per CPU), so waking one for the other needs no
 * cross-CPU interrupt; with the kernel's own hash spreading connections,
 * those wake-ups cost certad about a fifth of its time per cached OCSP
 * answer. The choice is a classic BPF program on the SO_REUSEPORT group:
 * it maps the receiving CPU to its position among the CPUs certad may use
 * and adds a random multiple of their count, so with W = k * N workers
 * every worker of that CPU gets its share. A CPU outside the set (after a
 * change of affinity) yields an index past the group, and the kernel falls
 * back to its hash. */
#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include "certad.h"

/* Up to this many CPUs the position lookup fits the 8-bit jump offsets. */
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
    /* One CPU has nothing to steer; uneven shares would starve workers. */
    if (p->n < 2 || p->n > MAX_STEER_CPUS || workers % p->n != 0) {
        p->n = 0;
        return 0;
    }
    p->per_cpu = workers / p->n;
    p->active = 1;
    return 0;
}

int certad_cpu_steer(const struct certad_cpu_plan *p, int fd)
{
    if (!p->active)
        return 0;
    /* A = cpu; a jeq per usable CPU to its "A = position" pair; then
     * index = position + N * (random % per_cpu). */
    struct sock_filter code[4 + 3 * MAX_STEER_CPUS + 6];
    unsigned n = (unsigned)p->n, k = 0;
    code[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_CPU);
    for (unsigned i = 0; i < n; i++) {
        /* from jeq i to its pair: the jeqs after it, the ret, 2 per pair before */
        unsigned jump = (n - 1 - i) + 1 + 2 * i;
        code[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)p->cpus[i], jump, 0);
    }
    code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);   /* not ours: hash */
    for (unsigned i = 0; i < n; i++) {
        code[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, i);
        code[k++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 2 * (n - 1 - i));
    }
    code[k++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_RANDOM);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, (unsigned)p->per_cpu);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, n);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
    struct sock_fprog prog = { .len = (unsigned short)k, .filter = code };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0)
        return certa_error_set(CERTA_EIO, "cannot steer connections by CPU: %s", strerror(errno));
    return 0;
}

int certad_cpu_worker(const struct certad_cpu_plan *p, int id)
{
    if (!p->active)
        return -1;
    return p->cpus[id % p->n];
}

void certad_cpu_pin(const struct certad_cpu_plan *p, int id)
{
    int cpu = certad_cpu_worker(p, id);
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
