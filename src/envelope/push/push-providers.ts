/**
 * Push providers deliver content-free wakes. A wake names nothing but the device token: no mailbox,
 * no sender, no count, no content. FCM/APNs providers would implement the same interface.
 */
export interface PushProvider {
  readonly name: string;
  /** Resolves when the provider accepted the wake; rejects to trigger a retry. */
  wake(token: string): Promise<void>;
}

/** POSTs `{"token": ...}` to a configured URL; any 2xx is success. */
export class WebhookProvider implements PushProvider {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 5000,
  ) {}

  async wake(token: string): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await res.arrayBuffer();
    if (res.status < 200 || res.status > 299) throw new Error(`webhook answered ${res.status}`);
  }
}
