// The agent gateway's defences, against a real control plane on loopback:
// who may join, who may connect, and which reports a connected node may make.
// Each refusal sits beside a positive control (the same path done right
// works), so no negative test can pass because nothing worked at all.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus, type StatusObject } from '@grpc/grpc-js';
import * as k8s from '@kubernetes/client-node';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import {
  openAgentStream,
  rawJoin,
  rawSendLogs,
  registration,
  tlsCredentials,
  type RawAgentStream,
} from '../support/grpc-client.js';
import { ensureNodeCredentials, JoinError, type NodeCredentials } from '../../nodeagent/join.js';
import { parseJoinToken } from '../../controlplane/pki/join-token.js';
import { createCsr } from '../../controlplane/pki/csr.js';
import { x509 } from '../../controlplane/pki/x509.js';
import { EC_SIGNING_ALGORITHM, generateKeyPair } from '../../controlplane/pki/keys.js';

let cp: TestControlplane;
let core: k8s.CoreV1Api;
let caPem: string;
let secret: string;
let caHash: string;
const dirs: string[] = [];
const streams: RawAgentStream[] = [];

const SETTLE_MS = 1000;
const POLL = { timeout: 15_000, interval: 100 };

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'shoal-agent-sec-'));
  dirs.push(d);
  return d;
}

/** Every file below `dir`, relative; [] when the directory does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String);
}

async function joinNode(nodeName: string, dataDir?: string): Promise<NodeCredentials> {
  return ensureNodeCredentials({
    dataDir: dataDir ?? (await tempDir()),
    server: cp.agentAddress,
    token: cp.joinToken,
    nodeName,
  });
}

function open(creds: { certPem: string; keyPem: string } | undefined): RawAgentStream {
  const s = openAgentStream(cp.agentAddress, tlsCredentials(caPem, creds));
  streams.push(s);
  return s;
}

/** A stream registered as its certificate's own node, with the first full pod set received. */
async function connectedAs(nodeName: string): Promise<RawAgentStream> {
  const s = open(await joinNode(nodeName));
  s.send({ register: registration(nodeName) });
  await s.next('registered');
  await s.next('desired');
  return s;
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function endedWith(s: RawAgentStream): Promise<StatusObject> {
  return within(s.ended, 15_000, 'no gRPC status ended the stream (a refusal must send one)');
}

async function readNode(name: string): Promise<k8s.V1Node | undefined> {
  return core.readNode({ name }).catch(() => undefined);
}

async function readPod(name: string): Promise<k8s.V1Pod | undefined> {
  return core.readNamespacedPod({ namespace: 'default', name }).catch(() => undefined);
}

async function createPod(name: string, nodeName: string): Promise<k8s.V1Pod> {
  return core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name },
      spec: {
        nodeName,
        terminationGracePeriodSeconds: 300,
        containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }],
      },
    },
  });
}

/** A bound pod asked to go: it stays, marked, until its node confirms PodTerminated. */
async function terminatingPod(name: string, nodeName: string): Promise<k8s.V1Pod> {
  await createPod(name, nodeName);
  await core.deleteNamespacedPod({ namespace: 'default', name, gracePeriodSeconds: 300 });
  const pod = await readPod(name);
  expect(pod?.metadata?.deletionTimestamp).toBeDefined();
  return pod!;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP relay in front of the gateway that counts the connections made
 * through it: a join dials once to read the server's certificate chain and
 * once more for the Join call that carries the secret.
 */
async function countingRelay(target: string): Promise<{
  address: string;
  connections(): number;
  close(): Promise<void>;
}> {
  const [host, port] = target.split(/:(?=\d+$)/);
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((inbound) => {
    count++;
    const outbound = tcpConnect(Number(port), host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const relayPort = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    address: `127.0.0.1:${relayPort}`,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A node certificate for `nodeName` from a CA the test makes, named `caName`;
 * otherwise just what Join would issue (clientAuth, system:nodes).
 */
async function forgedNodeCert(
  nodeName: string,
  caName: string,
): Promise<{ certPem: string; keyPem: string }> {
  const caKeys = await generateKeyPair();
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const fakeCa = await x509.X509CertificateGenerator.createSelfSigned({
    name: caName,
    keys: caKeys,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const csr = await createCsr(nodeName);
  const req = new x509.Pkcs10CertificateRequest(csr.csrPem);
  const cert = await x509.X509CertificateGenerator.create({
    subject: req.subjectName,
    issuer: fakeCa.subjectName,
    publicKey: req.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: csr.keyPem };
}

beforeAll(async () => {
  cp = await startTestControlplane();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  const token = parseJoinToken(cp.joinToken);
  secret = token.secret;
  caHash = token.caHash!;
  caPem = (await joinNode('probe')).caPem;
}, 60_000);

afterAll(async () => {
  for (const s of streams) s.close();
  await cp?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}, 60_000);

describe('joining', () => {
  it('refuses a wrong secret with UNAUTHENTICATED and writes nothing in the data dir', async () => {
    const dataDir = await tempDir();
    const wrong = `K10${caHash}::not-the-secret`;
    const err = await ensureNodeCredentials({
      dataDir,
      server: cp.agentAddress,
      token: wrong,
      nodeName: 'wrong-token',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JoinError);
    expect((err as Error).message).toMatch(/join token/i);
    expect(await filesUnder(dataDir)).toEqual([]);

    // On the wire: the status code an agent (or operator) can act on.
    const csr = await createCsr('wrong-token');
    const raw = await rawJoin(cp.agentAddress, tlsCredentials(caPem), {
      token: wrong,
      node_name: 'wrong-token',
      csr_pem: csr.csrPem,
    });
    expect(raw.ok).toBe(false);
    if (!raw.ok) {
      expect(raw.status.code).toBe(GrpcStatus.UNAUTHENTICATED);
      expect(raw.status.details).toMatch(/token/i);
    }
    // The bare secret is refused the same way when it is wrong.
    const bare = await rawJoin(cp.agentAddress, tlsCredentials(caPem), {
      token: 'not-the-secret',
      node_name: 'wrong-token',
      csr_pem: csr.csrPem,
    });
    expect(bare.ok ? 'OK' : bare.status.code).toBe(GrpcStatus.UNAUTHENTICATED);
  });

  it('the right secret joins (control for the refusal above)', async () => {
    const dataDir = await tempDir();
    const creds = await joinNode('right-token', dataDir);
    expect(creds.certPem).toContain('BEGIN CERTIFICATE');
    expect((await filesUnder(dataDir)).sort()).toEqual([
      'pki',
      join('pki', 'ca.crt'),
      join('pki', 'node.crt'),
      join('pki', 'node.key'),
    ]);
  });

  it('with a CA hash the server does not match, stops before the secret is sent', async () => {
    const relay = await countingRelay(cp.agentAddress);
    try {
      // Control: through the relay, a good join dials twice (CA probe, then Join).
      await ensureNodeCredentials({
        dataDir: await tempDir(),
        server: relay.address,
        token: cp.joinToken,
        nodeName: 'via-relay',
      });
      expect(relay.connections()).toBe(2);

      const before = relay.connections();
      const dataDir = await tempDir();
      const otherHash = caHash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      const err = await ensureNodeCredentials({
        dataDir,
        server: relay.address,
        token: `K10${otherHash}::${secret}`,
        nodeName: 'wrong-ca',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JoinError);
      expect((err as Error).message).toMatch(/does not present the cluster CA/);
      // Only the probe reached the server: no Join call, so the secret never left.
      expect(relay.connections() - before).toBe(1);
      expect(await filesUnder(dataDir)).toEqual([]);
    } finally {
      await relay.close();
    }
  });
});

describe('Agent.Connect', () => {
  it('refuses a node certificate from another CA', async () => {
    const s = open(await forgedNodeCert('evil', 'CN=evil-ca'));
    s.send({ register: registration('evil') });
    // The TLS layer asks for but does not demand a client certificate (Join
    // has none), so this one is refused by the gateway's own check.
    expect((await endedWith(s)).code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(s.received).toEqual([]);
    expect(await readNode('evil')).toBeUndefined();
  });

  it("refuses a node certificate from another CA that bears the cluster CA's name", async () => {
    const s = open(await forgedNodeCert('evil-twin', new x509.X509Certificate(caPem).subject));
    s.send({ register: registration('evil-twin') });
    // Here OpenSSL finds the real CA by the issuer name, the signature check
    // fails and the handshake aborts (UNAVAILABLE); the gateway's check would
    // answer UNAUTHENTICATED. Either is a refusal.
    expect([GrpcStatus.UNAUTHENTICATED, GrpcStatus.UNAVAILABLE]).toContain(
      (await endedWith(s)).code,
    );
    expect(s.received).toEqual([]);
    expect(await readNode('evil-twin')).toBeUndefined();
  });

  it('refuses log streams without a node certificate', async () => {
    const outcome = await rawSendLogs(cp.agentAddress, tlsCredentials(caPem), [
      { request_id: 'made-up', data: Buffer.from('spoofed log line\n') },
    ]);
    expect(outcome.ok ? 'OK' : outcome.status.code).toBe(GrpcStatus.UNAUTHENTICATED);
  });

  it('refuses a stream without a client certificate', async () => {
    const s = open(undefined);
    s.send({ register: registration('anonymous') });
    expect((await endedWith(s)).code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(s.received).toEqual([]);
    expect(await readNode('anonymous')).toBeUndefined();
  });

  it('refuses a joined node registering under another name, with PERMISSION_DENIED', async () => {
    const creds = await joinNode('impostor');
    const s = open(creds);
    s.send({ register: registration('victim') });
    const st = await endedWith(s);
    expect(st.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(st.details).toContain('victim');
    expect(s.received.filter((m) => m.msg === 'registered' || m.msg === 'desired')).toEqual([]);
    expect(await readNode('victim')).toBeUndefined();

    // Control: the same certificate registers under its own name.
    const own = open(creds);
    own.send({ register: registration('impostor') });
    expect((await own.next('registered')).registered?.node_name).toBe('impostor');
    expect(await readNode('impostor')).toBeDefined();
  });
});

describe('reports from a connected node', () => {
  const A = 'node-a';
  const B = 'node-b';
  let a: RawAgentStream;
  let ownPod: k8s.V1Pod;
  let otherPod: k8s.V1Pod;

  const statusOf = (message: string): string =>
    JSON.stringify({ phase: 'Running', message, hostIP: '127.0.0.1', podIP: '10.244.0.9' });

  const report = (pod: k8s.V1Pod, message: string): void =>
    a.send({
      pod_status: {
        namespace: 'default',
        name: pod.metadata!.name!,
        uid: pod.metadata!.uid!,
        status_json: statusOf(message),
      },
    });

  const terminated = (pod: k8s.V1Pod): void =>
    a.send({
      pod_terminated: {
        namespace: 'default',
        name: pod.metadata!.name!,
        uid: pod.metadata!.uid!,
      },
    });

  /** Sends `message` for A's own pod and waits until the API shows it: A's earlier reports are handled by then. */
  async function fence(message: string): Promise<void> {
    report(ownPod, message);
    await expect
      .poll(async () => (await readPod(ownPod.metadata!.name!))?.status?.message, POLL)
      .toBe(message);
    await sleep(SETTLE_MS);
  }

  beforeAll(async () => {
    a = await connectedAs(A);
    ownPod = await createPod('own-pod', A);
    otherPod = await createPod('other-pod', B);
  }, 60_000);

  it('writes the status a node reports for its own pod (positive control)', async () => {
    report(ownPod, 'first report');
    await expect
      .poll(async () => (await readPod('own-pod'))?.status?.message, POLL)
      .toBe('first report');
    const pod = (await readPod('own-pod'))!;
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.podIP).toBe('10.244.0.9');
  });

  it("ignores the status a node reports for another node's pod", async () => {
    const before = (await readPod('other-pod'))!;
    report(otherPod, 'forged by node-a');
    await fence('second report');
    const after = (await readPod('other-pod'))!;
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.status).toEqual(before.status);
    expect(after.status?.message).toBeUndefined();
  });

  it("ignores PodTerminated for another node's pods, terminating or not", async () => {
    const otherTerminating = await terminatingPod('other-terminating', B);
    const ownTerminating = await terminatingPod('own-terminating', A);
    const otherBefore = (await readPod('other-pod'))!;

    terminated(otherPod);
    terminated(otherTerminating);
    // Control: the same message for A's own terminating pod lets it go.
    terminated(ownTerminating);
    await expect.poll(() => readPod('own-terminating'), POLL).toBeUndefined();
    await fence('third report');

    const otherAfter = await readPod('other-pod');
    expect(otherAfter?.metadata?.uid).toBe(otherPod.metadata?.uid);
    expect(otherAfter?.metadata?.resourceVersion).toBe(otherBefore.metadata?.resourceVersion);
    expect(otherAfter?.metadata?.deletionTimestamp).toBeUndefined();
    const termAfter = await readPod('other-terminating');
    expect(termAfter?.metadata?.uid).toBe(otherTerminating.metadata?.uid);
    expect(termAfter?.metadata?.resourceVersion).toBe(otherTerminating.metadata?.resourceVersion);
  });
});
