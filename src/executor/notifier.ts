// LISTEN/NOTIFY on a dedicated connection. Notifications are latency hints
// only: every consumer also polls, so a lost connection or a missed
// notification delays work, never loses it. Reconnects with backoff.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { CIRCUIT_CHANNEL, FLOW_CHANNEL, PATTERN_CHANNEL, TASK_CHANNEL, WEBHOOK_CHANNEL, WORK_CHANNEL } from '../store/channels.js';

const CHANNELS = [WORK_CHANNEL, TASK_CHANNEL, FLOW_CHANNEL, PATTERN_CHANNEL, CIRCUIT_CHANNEL, WEBHOOK_CHANNEL];

export interface Notifier {
  on(channel: string, listener: (payload: string) => void): void;
  off(channel: string, listener: (payload: string) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createNotifier(url: string, logger: Logger): Notifier {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let client: pg.Client | undefined;
  let stopped = true;
  let reconnecting: Promise<void> | undefined;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: 'rebound-notifier' });
    c.on('notification', (msg) => emitter.emit(msg.channel, msg.payload ?? ''));
    const lost = (error?: Error) => {
      if (client !== c) return;
      client = undefined;
      if (error) logger.warn({ err: error }, 'notifier connection lost; reconnecting');
      c.end().catch(() => undefined);
      reconnect();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    try {
      await c.connect();
      for (const channel of CHANNELS) await c.query(`LISTEN ${channel}`);
    } catch (error) {
      c.end().catch(() => undefined);
      throw error;
    }
    client = c;
    // Anything may have happened while disconnected: let consumers look now.
    for (const channel of CHANNELS) emitter.emit(channel, '');
  };

  const reconnect = () => {
    reconnecting ??= (async () => {
      let delayMs = 250;
      while (!stopped && !client) {
        try {
          await connect();
        } catch (error) {
          logger.debug({ err: error }, 'notifier reconnect failed');
          await new Promise((r) => setTimeout(r, delayMs));
          delayMs = Math.min(delayMs * 2, 5000);
        }
      }
    })().finally(() => (reconnecting = undefined));
  };

  return {
    on: (channel, listener) => void emitter.on(channel, listener),
    off: (channel, listener) => void emitter.off(channel, listener),
    async start() {
      stopped = false;
      try {
        await connect();
      } catch (error) {
        logger.warn({ err: error }, 'notifier could not connect; relying on polling until it can');
        reconnect();
      }
    },
    async stop() {
      stopped = true;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
      await reconnecting;
    },
  };
}
