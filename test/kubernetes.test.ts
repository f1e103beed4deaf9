import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';
import { loadScenario } from '../simulator/scenario.js';

const K8S = 'deploy/k8s';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: unknown;
  data?: Record<string, string>;
}

interface Kustomization {
  resources: string[];
  configMapGenerator?: { name: string; behavior?: 'merge'; literals?: string[]; files?: string[] }[];
  patches?: { path: string; target: { kind: string; name: string } }[];
}

/** Each kind the manifests use, checked against the Kubernetes JSON schema its model carries. */
const MODELS: Record<string, (object: K8sObject) => { validate(): void }> = {
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'v1/Service': (o) => new Service(o as never),
  'v1/ConfigMap': (o) => new ConfigMap(o),
  'batch/v1/Job': (o) => new Job(o as never),
};

/**
 * What `kubectl kustomize` renders from a kustomization, for the features these manifests use: resources (files, or
 * a base), ConfigMaps generated from literals and files (merged into the base's), and RFC 6902 patches.
 */
async function render(dir: string): Promise<K8sObject[]> {
  const kustomization = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const objects: K8sObject[] = [];
  for (const resource of kustomization.resources) {
    const file = path.join(dir, resource);
    if (resource.endsWith('.yaml')) objects.push(...parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as K8sObject));
    else objects.push(...(await render(file)));
  }
  for (const generator of kustomization.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const literal of generator.literals ?? []) {
      const [key = '', ...value] = literal.split('=');
      data[key] = value.join('=');
    }
    for (const file of generator.files ?? []) data[path.basename(file)] = await readFile(path.join(dir, file), 'utf8');
    const base = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === generator.name);
    if (generator.behavior === 'merge') {
      expect(base, `${dir}: merges into ConfigMap ${generator.name}, which the base lacks`).to.not.equal(undefined);
      if (base) base.data = { ...base.data, ...data };
    } else {
      objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data });
    }
  }
  for (const patch of kustomization.patches ?? []) {
    const index = objects.findIndex((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    const target = objects[index];
    if (target === undefined) throw new Error(`${dir}: ${patch.path} patches ${patch.target.kind} ${patch.target.name}, which is not there`);
    const operations = parse(await readFile(path.join(dir, patch.path), 'utf8')) as Operation[];
    objects[index] = fastJsonPatch.applyPatch(target, operations, true, false).newDocument;
  }
  return objects;
}

const named = (objects: K8sObject[], kind: string, name: string) => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name}`);
  return object;
};

describe('Kubernetes manifests (deploy/k8s)', () => {
  for (const dir of ['base', 'overlays/million-handhelds', 'overlays/scenario-replay']) {
    it(`${dir}: every object is valid against the Kubernetes schemas, and shards, coordinator and Redis agree`, async () => {
      const objects = await render(path.join(K8S, dir));
      for (const object of objects) {
        const model = MODELS[`${object.apiVersion}/${object.kind}`];
        expect(model, `${object.kind} ${object.metadata.name}: no schema for ${object.apiVersion}`).to.not.equal(undefined);
        expect(() => model?.(object).validate(), `${object.kind} ${object.metadata.name}`).to.not.throw();
      }
      const run = new ConfigMap(named(objects, 'ConfigMap', 'mlc-sim-run')).data ?? {};
      const shards = new Job(named(objects, 'Job', 'mlc-sim-shards') as never);
      const coordinator = new Job(named(objects, 'Job', 'mlc-sim-coordinator') as never);
      // One pod per shard, all at once, each with its index: as many as the shards and coordinator are told.
      expect(shards.spec).to.include({ completionMode: 'Indexed', completions: Number(run.MLC_SIM_SHARDS), parallelism: Number(run.MLC_SIM_SHARDS) });
      expect(run.MLC_SIM_REDIS).to.equal(`redis://${named(objects, 'Service', 'mlc-sim-redis').metadata.name}:6379`);
      const [shard] = shards.spec?.template.spec?.containers ?? [];
      const [coordinate] = coordinator.spec?.template.spec?.containers ?? [];
      expect(shard?.args?.[0]).to.be.oneOf(['run', 'fleet']);
      expect(coordinate?.args?.[0]).to.equal('coordinate');
      for (const container of [shard, coordinate]) expect(container?.envFrom?.[0]?.configMapRef?.name).to.equal('mlc-sim-run');
      for (const job of [shards, coordinator]) {
        expect(job.spec?.backoffLimit, 'a lost shard is reported, not rerun late').to.equal(0);
        expect(job.spec?.template.spec?.securityContext?.runAsNonRoot).to.equal(true);
      }
    });
  }

  it("scenario-replay: the scenario it mounts is one mlc-sim loads, with the image's site and fleet", async () => {
    const text = await readFile(path.join(K8S, 'overlays/scenario-replay/scenario.yaml'), 'utf8');
    // The image's /app is this repository.
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-k8s-')), 'scenario.yaml');
    await writeFile(file, text.replaceAll('/app/', `${process.cwd()}/`));
    const scenario = await loadScenario(file);
    expect(scenario.devices).to.equal(80_000);
  });

  it('the Dockerfile runs mlc-sim as a non-root user, with production dependencies only', async () => {
    const lines = (await readFile('Dockerfile', 'utf8')).split('\n').filter((line) => /^[A-Z]+ /.test(line));
    const last = (instruction: string) => lines.map((line) => line.split(' ')[0]).lastIndexOf(instruction);
    expect(lines[last('FROM')]).to.match(/^FROM node:20[\w.-]*-slim\b/);
    expect(lines.some((line) => /^RUN .*npm ci .*--omit=dev/.test(line))).to.equal(true);
    expect(lines[last('USER')]).to.equal('USER node');
    // The user is set after the last build step, so mlc-sim (its entrypoint) never runs as root.
    expect(last('USER')).to.be.above(last('RUN'));
    expect(lines[last('ENTRYPOINT')]).to.equal('ENTRYPOINT ["node", "simulator/bin.js"]');
  });
});
