// Delivers queued webhooks at least once, never blocking a flow: claims due
// rows with SKIP LOCKED (any replica may deliver), POSTs the exact signed
// body, and retries failures with exponential backoff. Receivers dedupe on
// the payload's `id` (also sent as X-Rebound-Delivery).
import { createHmac } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { Logger } from '../logger.js';
import { WEBHOOK_CHANNEL } from '../store/channels.js';
import type { Database } from '../store/database.js';
import { Doorbell } from './doorbell.js';
import type { Notifier } from './notifier.js';
import type { AddressPolicy } from '../domain/address-policy.js';
import { createHttpAgent, literalRefusal } from './runners/http-runner.js';

export interface WebhookDelivererOptions {
  db: Database;
  logger: Logger;
  notifier?: Notifier | undefined;
  /** HMAC-SHA256 key; unset sends no signature. */
  secret?: string | undefined;
  /** Receiver of every escalation.created (ESCALATION_WEBHOOK_URL). */
  escalationUrl?: string | undefined;
  agent?: Dispatcher;
  /** Addresses receivers may have (the same rules as http steps). */
  addressPolicy?: AddressPolicy | undefined;
  /** Longest sleep between looks, in ms. Defaults to 1000. */
  pollIntervalMs?: number;
  /** First retry delay, in ms, doubled per attempt up to maxDelayMs. Defaults to 1000. */
  baseDelayMs?: number;
  /** Longest retry delay, in ms. Defaults to 10 minutes. */
  maxDelayMs?: number;
  /** Attempts before a delivery is given up as failed. Defaults to 25. */
  maxAttempts?: number;
}

interface DeliveryRow {
  id: string;
  type: string;
  target: 'notify' | 'escalation_hook';
  url: string | null;
  payload: unknown;
  attempts: number;
}

/** Per-request timeout of a webhook POST, in ms. */
const DELIVERY_TIMEOUT_MS = 10_000;

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createWebhookDeliverer(options: WebhookDelivererOptions) {
  const logger = options.logger.child({ component: 'webhooks' });
  const agent = options.agent ?? createHttpAgent(options.addressPolicy ? { policy: options.addressPolicy } : {});
  const bell = new Doorbell();
  const onNotify = () => bell.ring();
  const base = options.baseDelayMs ?? 1000;
  const maxDelay = options.maxDelayMs ?? 600_000;
  const maxAttempts = options.maxAttempts ?? 25;
  let running = false;
  let loopDone: Promise<void> = Promise.resolve();

  async function claim(): Promise<DeliveryRow[]> {
    // The claim pushes next_attempt_at past the request timeout: a replica that dies mid-delivery leaves it due again.
    const { rows } = await options.db.query<DeliveryRow>(
      `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + interval '30 seconds'
         FROM (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED) due
        WHERE d.id = due.id
      RETURNING d.id, d.type, d.target, d.url, d.payload, d.attempts`,
    );
    return rows;
  }

  /** POSTs once; returns what went wrong, or undefined on a 2xx. */
  async function post(url: string, headers: Record<string, string>, body: string): Promise<string | undefined> {
    try {
      const res = await request(url, { method: 'POST', headers, body, dispatcher: agent, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300 ? undefined : `HTTP ${res.statusCode}`;
    } catch (error) {
      const e = error as { message?: string; cause?: { code?: string; message?: string } };
      return e.cause?.message ?? e.cause?.code ?? e.message ?? 'delivery failed';
    }
  }

  async function deliver(row: DeliveryRow): Promise<void> {
    const url = row.target === 'escalation_hook' ? options.escalationUrl : row.url;
    if (!url) {
      await options.db.query(`UPDATE webhook_deliveries SET status = 'skipped', last_error = 'no receiver configured' WHERE id = $1`, [row.id]);
      return;
    }
    const body = JSON.stringify(row.payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-rebound-event': row.type,
      'x-rebound-delivery': row.id,
      'x-rebound-attempt': String(row.attempts),
    };
    if (options.secret) headers['x-rebound-signature'] = signature(options.secret, body);
    const problem = literalRefusal(options.addressPolicy, url) ?? (await post(url, headers, body));
    if (!problem) {
      await options.db.query(`UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_error = NULL WHERE id = $1`, [row.id]);
      return;
    }
    const giveUp = row.attempts >= maxAttempts;
    const delayMs = Math.min(maxDelay, base * 2 ** (row.attempts - 1));
    logger.warn({ deliveryId: row.id, url, attempt: row.attempts, problem, giveUp }, 'webhook delivery failed');
    await options.db.query(
      `UPDATE webhook_deliveries SET status = $2, last_error = $3, next_attempt_at = now() + $4 * interval '1 millisecond' WHERE id = $1`,
      [row.id, giveUp ? 'failed' : 'pending', problem, delayMs],
    );
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        const rows = await claim();
        await Promise.all(rows.map((r) => deliver(r).catch((error: unknown) => logger.warn({ err: error }, 'webhook bookkeeping failed'))));
        if (rows.length > 0) continue;
      } catch (error) {
        logger.warn({ err: error }, 'webhook claim failed');
      }
      await bell.wait(options.pollIntervalMs ?? 1000);
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      options.notifier?.on(WEBHOOK_CHANNEL, onNotify);
      loopDone = loop();
    },
    async stop(): Promise<void> {
      running = false;
      options.notifier?.off(WEBHOOK_CHANNEL, onNotify);
      bell.ring();
      await loopDone;
      if (!options.agent) await agent.close().catch(() => undefined);
    },
  };
}
