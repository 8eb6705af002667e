import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { loadTuning } from '../src/temporal/tuning.ts';

test('configuration is validated at start-up and every wrong variable is named', () => {
  assert.throws(
    () => loadConfig({ PORT: 'abc', TEMPORAL_TLS: 'yes', VOICEOI_ADMIN_TOKEN: 'short' }),
    (err: Error) => /PORT/.test(err.message) && /TEMPORAL_TLS/.test(err.message) && /VOICEOI_ADMIN_TOKEN/.test(err.message),
  );
  const defaults = loadConfig({});
  assert.equal(defaults.PORT, 3000);
  assert.equal(defaults.VOICEOI_DATA_DIR, '.data');
  assert.equal(defaults.VOICEOI_RETENTION_DAYS, 30);
  assert.equal(defaults.TEMPORAL_TLS, false);
  assert.deepEqual(loadConfig({ VOICEOI_ALLOWED_NETWORKS: '10.0.0.0/8, fd00::/8' }).VOICEOI_ALLOWED_NETWORKS, ['10.0.0.0/8', 'fd00::/8']);
});

test('the network settings: allowed networks are checked CIDRs, and the retired private-network switch says what replaced it', () => {
  assert.throws(() => loadConfig({ VOICEOI_ALLOWED_NETWORKS: '10.0.0.0/8,10.1.2.3/8' }), /VOICEOI_ALLOWED_NETWORKS: '10\.1\.2\.3\/8' has bits set past its \/8 prefix/);
  assert.throws(() => loadConfig({ VOICEOI_BLOCK_PRIVATE_NETWORKS: 'false' }), /VOICEOI_BLOCK_PRIVATE_NETWORKS: is gone: private and loopback networks are refused by default; open the ones your destinations use with VOICEOI_ALLOWED_NETWORKS/);
  // `true` asked for what is now the default: accepted, and it changes nothing.
  assert.deepEqual(loadConfig({ VOICEOI_BLOCK_PRIVATE_NETWORKS: 'true' }).VOICEOI_ALLOWED_NETWORKS, []);
});

test('no proxy is trusted by default; VOICEOI_TRUSTED_PROXIES takes addresses, CIDRs and proxy-addr names, and names a wrong entry', () => {
  assert.deepEqual(loadConfig({}).VOICEOI_TRUSTED_PROXIES, []);
  assert.deepEqual(loadConfig({ VOICEOI_TRUSTED_PROXIES: '10.0.0.5, 10.0.1.0/24,::1,loopback' }).VOICEOI_TRUSTED_PROXIES, ['10.0.0.5', '10.0.1.0/24', '::1', 'loopback']);
  assert.throws(() => loadConfig({ VOICEOI_TRUSTED_PROXIES: '10.0.0.5,proxy.internal' }), /VOICEOI_TRUSTED_PROXIES: 'proxy\.internal' is not an IP address or CIDR/);
});

test('tuning switches default to the measured winners and refuse out-of-range values', () => {
  const t = loadTuning({});
  assert.equal(t.eagerWorkflowStart, true);
  assert.equal(t.eagerActivities, true);
  assert.equal(t.activitySlots, 1000);
  assert.equal(t.workflowVmWatchdog, true);
  assert.equal(loadTuning({ VOICEOI_WORKFLOW_VM_WATCHDOG: 'false' }).workflowVmWatchdog, false);
  assert.equal(loadTuning({ VOICEOI_EAGER_WORKFLOW_START: 'false' }).eagerWorkflowStart, false);
  assert.throws(() => loadTuning({ VOICEOI_HTTP_CONNECTIONS: '0' }), /VOICEOI_HTTP_CONNECTIONS/);
});

test("the dev server's ports: TEMPORAL_PORT (7233), its HTTP API and UI derived from it (+10, +1000) unless set", () => {
  const defaults = loadConfig({});
  assert.deepEqual([defaults.TEMPORAL_PORT, defaults.TEMPORAL_HTTP_PORT, defaults.TEMPORAL_UI_PORT], [7233, 7243, 8233]);
  const second = loadConfig({ TEMPORAL_PORT: '17233' });
  assert.deepEqual([second.TEMPORAL_PORT, second.TEMPORAL_HTTP_PORT, second.TEMPORAL_UI_PORT], [17233, 17243, 18233]);
  const explicit = loadConfig({ TEMPORAL_PORT: '17233', TEMPORAL_HTTP_PORT: '9000', TEMPORAL_UI_PORT: '9001' });
  assert.deepEqual([explicit.TEMPORAL_HTTP_PORT, explicit.TEMPORAL_UI_PORT], [9000, 9001]);
  assert.throws(() => loadConfig({ TEMPORAL_PORT: '65000' }), /TEMPORAL_UI_PORT: is TEMPORAL_PORT \+ 1000 unless set, which is above 65535 for TEMPORAL_PORT=65000: set TEMPORAL_UI_PORT, or a lower TEMPORAL_PORT/);
  assert.equal(loadConfig({ TEMPORAL_PORT: '65000', TEMPORAL_UI_PORT: '9001' }).TEMPORAL_HTTP_PORT, 65010);
  assert.throws(() => loadConfig({ TEMPORAL_PORT: '0' }), /TEMPORAL_PORT/);
});
