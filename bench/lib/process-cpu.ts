// CPU time spent by the processes a benchmark runs, read from /proc (Linux):
// the service, every PostgreSQL process on the machine, this process (the
// load generator) and the machine as a whole. Elsewhere every figure is null.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times. */
const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** user + system CPU of one process, in ms; 0 when it is gone. */
function pidCpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** CPU of every running PostgreSQL process (server, backends, helpers), by pid. */
function postgresCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    out.set(Number(entry), pidCpuMs(Number(entry)));
  }
  return out;
}

/** The machine's busy and total CPU time since boot, in ms (all cores). */
function machineCpuMs(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th.
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: ((total - idle) * 1000) / TICKS_PER_S, total: (total * 1000) / TICKS_PER_S };
}

export interface CpuUse {
  /** CPU ms of the service process. */
  serviceMs: number;
  /** CPU ms of PostgreSQL's processes (backends that exit in between are missed). */
  postgresMs: number;
  /** CPU ms of this process: the load generator and the harness. */
  generatorMs: number;
  /** Everything else the machine was busy with (the stub, the kernel's own threads), in ms. */
  otherMs: number;
  /** Share of the machine's CPU time that was busy, 0-1. */
  machineBusy: number;
}

/**
 * Starts counting; the returned function gives the CPU used since, or null
 * off Linux. Without a service pid (a baseline), serviceMs is 0.
 */
export function startCpuCount(servicePid?: number): () => CpuUse | null {
  if (process.platform !== 'linux') return () => null;
  const serviceCpuMs = () => (servicePid === undefined ? 0 : pidCpuMs(servicePid));
  const service0 = serviceCpuMs();
  const postgres0 = postgresCpuMs();
  const self0 = process.cpuUsage();
  const machine0 = machineCpuMs();
  return () => {
    const serviceMs = serviceCpuMs() - service0;
    let postgresMs = 0;
    // A process started since counts from 0; one that exited is missed.
    for (const [pid, ms] of postgresCpuMs()) postgresMs += ms - (postgres0.get(pid) ?? 0);
    const self = process.cpuUsage(self0);
    const generatorMs = (self.user + self.system) / 1000;
    const machine = machineCpuMs();
    const busyMs = machine.busy - machine0.busy;
    return {
      serviceMs,
      postgresMs,
      generatorMs,
      otherMs: Math.max(0, busyMs - serviceMs - postgresMs - generatorMs),
      machineBusy: busyMs / Math.max(1, machine.total - machine0.total),
    };
  };
}

export interface CpuPerUnit {
  serviceUs: number;
  postgresUs: number;
  generatorUs: number;
  otherUs: number;
  machineBusy: number;
}

/** `cpu` spread over `units` (steps, timers): µs of each process a unit; null stays null. */
export function cpuPerUnit(cpu: CpuUse | null, units: number): CpuPerUnit | null {
  if (!cpu) return null;
  const us = (ms: number) => (ms * 1000) / units;
  return { serviceUs: us(cpu.serviceMs), postgresUs: us(cpu.postgresMs), generatorUs: us(cpu.generatorMs), otherUs: us(cpu.otherMs), machineBusy: cpu.machineBusy };
}
