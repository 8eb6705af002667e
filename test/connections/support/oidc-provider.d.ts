// The subset of oidc-provider 9 (which ships no typings) that the test authorization server uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface OidcClient {
    clientId: string;
    grantTypeAllowed(type: string): boolean;
  }
  interface OidcContext {
    path: string;
    status: number;
    get(header: string): string;
    /** Koa's Node request: its socket is a TLSSocket behind HTTPS. */
    req: import('node:http').IncomingMessage;
    oidc?: { body?: Record<string, unknown>; client?: OidcClient };
  }
  interface StoredToken {
    jti: string;
    destroy(): Promise<void>;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: OidcContext, next: () => Promise<void>) => Promise<void>): void;
    on(event: 'refresh_token.saved', listener: (token: StoredToken) => void): this;
    on(event: string, listener: (...args: any[]) => void): this;
    RefreshToken: { find(id: string): Promise<StoredToken | undefined> };
  }
}
