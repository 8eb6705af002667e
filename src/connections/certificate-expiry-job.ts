import { schedule, type PeriodicJob } from '../periodic-job.ts';
import type { CertificateExpiringFact, OperationalEvents } from '../events/operational.ts';
import type { ConnectionStore } from '../store/connections.ts';
import { certificatesExpiring } from './tls.ts';

/** A certificate this close to its end is announced (and shown in the console). */
export const EXPIRY_WARNING_DAYS = 14;
const CHECK_EVERY_MS = 60 * 60 * 1000;

export type CertificateExpiryJob = PeriodicJob;

/**
 * Hourly, the worker looks for connection certificates that expire within 14 days and emits
 * `hook.connection_certificate_expiring` for each, once per certificate and day: the event id is per
 * certificate and day (ingest dedupes on it), and the store's notice table spares the later runs of
 * the day, on any worker, the ingest call.
 * A job of the worker role, as the event prune is.
 */
export function startCertificateExpiryJob(deps: {
  connections: Pick<ConnectionStore, 'listWithTls' | 'hasCertificateNotice' | 'recordCertificateNotice'>;
  operational: Pick<OperationalEvents, 'certificateExpiring'>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  everyMs?: number;
  now?: () => Date;
}): CertificateExpiryJob {
  const now = deps.now ?? (() => new Date());
  const check = async () => {
    try {
      const at = now();
      const day = at.toISOString().slice(0, 10);
      const horizon = new Date(at.getTime() + EXPIRY_WARNING_DAYS * 86_400_000);
      for (const c of await deps.connections.listWithTls()) {
        for (const cert of certificatesExpiring(c.tls, horizon)) {
          if (await deps.connections.hasCertificateNotice(c.id, cert.fingerprint, day)) continue;
          const fact: CertificateExpiringFact = {
            connection_id: c.id,
            field: c.tls?.client_certificate?.fingerprint === cert.fingerprint ? 'client_certificate' : 'ca_certificates',
            subject: cert.subject.slice(0, 2000),
            fingerprint: cert.fingerprint,
            not_after: cert.not_after,
            days_left: Math.max(0, Math.floor((Date.parse(cert.not_after) - at.getTime()) / 86_400_000)),
          };
          // Sent, then recorded: a failed send is tried again next hour, and two workers sending at
          // once make one event (its id is per certificate and day, and ingest dedupes on it).
          await deps.operational.certificateExpiring(c.account_id, fact, day);
          await deps.connections.recordCertificateNotice(c.id, cert.fingerprint, day);
          deps.log.info({ connection_id: c.id, not_after: cert.not_after }, 'a connection certificate expires soon: hook.connection_certificate_expiring sent');
        }
      }
    } catch (err) {
      deps.log.warn({ err }, 'checking connection certificates for expiry failed; will try again');
    }
  };
  return schedule(check, deps.everyMs ?? CHECK_EVERY_MS);
}
