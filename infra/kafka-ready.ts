/**
 * Kafka readiness probe for infra/up.sh: succeeds once the broker answers a metadata request.
 *
 *   sh scripts/node.sh infra/kafka-ready.ts <host:port>[,<host:port>...] [timeout-ms=30000]
 *
 * Retries `admin.describeCluster()` (a Metadata request, Kafka protocol API key 3) every 250 ms
 * until it succeeds or the timeout (milliseconds) passes. Exit 0 and one JSON line on stdout
 * (`{"clusterId":…,"brokers":n,"controller":id}`) when ready; exit 1 with the last error on
 * stderr when not.
 */
import { Kafka, logLevel } from 'kafkajs';

const [brokerArg, timeoutArg] = process.argv.slice(2);
if (!brokerArg) {
  process.stderr.write('usage: kafka-ready.ts <host:port>[,...] [timeout-ms]\n');
  process.exit(2);
}
const timeoutMs = Number(timeoutArg ?? 30000);
const deadline = Date.now() + timeoutMs;
const kafka = new Kafka({
  clientId: 'regwatch-infra-ready',
  brokers: brokerArg.split(','),
  connectionTimeout: 1000,
  requestTimeout: 2000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
});

let lastError: unknown;
while (Date.now() < deadline) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    process.stdout.write(
      JSON.stringify({
        clusterId: cluster.clusterId,
        brokers: cluster.brokers.length,
        controller: cluster.controller,
      }) + '\n',
    );
    process.exit(0);
  } catch (err) {
    lastError = err;
    await admin.disconnect().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
process.stderr.write(`kafka not ready at ${brokerArg} after ${timeoutMs} ms: ${String(lastError)}\n`);
process.exit(1);
