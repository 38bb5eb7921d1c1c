// Every RPC of metald through a Connect client that no one here wrote: the
// TypeScript code protoc-gen-es generates from schema/vmprovisioner/v1/vm.proto,
// called through @connectrpc/connect-node, once per way of speaking Connect:
// the JSON codec, the binary codec (useBinaryFormat), and both with Connect GET
// for the read-only RPCs (useHttpGet). Errors must arrive as ConnectErrors
// with the right Code.
//
// Env: METALD_URL (the daemon), ASSETS (the directory holding vmlinux and
// rootfs-<codec>.ext4). Prints TAP-ish lines and "N passed, N failed".
import * as http from "node:http";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { VmService, VmState } from "./gen/vmprovisioner/v1/vm_pb.js";

const baseUrl = process.env.METALD_URL ?? "http://127.0.0.1:8080";
const assets = process.env.ASSETS ?? "/opt/vm-assets";

let passed = 0;
let failed = 0;

function check(what: string, ok: boolean, detail = ""): void {
  if (ok) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail ? ": " + detail : ""}`);
  }
}

function eq<T>(what: string, got: T, want: T): void {
  check(what, got === want, `got ${String(got)}, want ${String(want)}`);
}

// The call must fail with a ConnectError carrying code (and a message matching re).
async function expectCode(what: string, call: Promise<unknown>, code: Code, re?: RegExp): Promise<void> {
  try {
    await call;
    check(what, false, `succeeded, want ${Code[code]}`);
  } catch (e) {
    if (!(e instanceof ConnectError)) {
      check(what, false, `threw ${String(e)}, not a ConnectError`);
      return;
    }
    const ok = e.code === code && (!re || re.test(e.rawMessage));
    check(what, ok, `got ${Code[e.code]} "${e.rawMessage}", want ${Code[code]}${re ? " " + re : ""}`);
  }
}

type Mode = { name: string; useBinaryFormat: boolean; useHttpGet: boolean };

async function exercise(mode: Mode): Promise<void> {
  // What went over the wire: the answers' content type per RPC (seen by an
  // interceptor) and the HTTP method (seen by node's http agent: the
  // transport turns a POST into a GET after the interceptors ran).
  const seen = new Map<string, { method: string; contentType: string }>();
  const spy: Interceptor = (next) => async (req) => {
    const res = await next(req);
    const s = seen.get(req.method.name);
    if (s) s.contentType = res.header.get("content-type") ?? "";
    return res;
  };
  const agent = new http.Agent({ keepAlive: true });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const a = agent as any;
  const addRequest = a.addRequest;
  a.addRequest = function (req: http.ClientRequest, options: unknown) {
    const name = req.path.split("?")[0].split("/").pop() ?? "";
    seen.set(name, { method: req.method, contentType: "" });
    return addRequest.call(this, req, options);
  };
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    useBinaryFormat: mode.useBinaryFormat,
    useHttpGet: mode.useHttpGet,
    interceptors: [spy],
    nodeOptions: { agent },
  });
  const client = createClient(VmService, transport);
  const t = (s: string) => `${mode.name}: ${s}`;
  const id = `vm-${mode.name}`;
  const config = {
    cpu: { vcpuCount: 1 },
    memory: { sizeBytes: 128n * 1024n * 1024n },
    boot: { kernelPath: `${assets}/vmlinux`, kernelArgs: "console=ttyS0 reboot=k panic=1 pci=off" },
    storage: [{ path: `${assets}/rootfs-${mode.name}.ext4`, isRootDevice: true }],
    metadata: { codec: mode.name, team: "blue" },
  };

  // CreateVm, and its errors.
  const created = await client.createVm({ vmId: id, config, customerId: "cust-node", restartPolicy: "never" });
  eq(t("CreateVm answers the id"), created.vmId, id);
  eq(t("CreateVm answers VM_STATE_CREATED"), created.state, VmState.CREATED);
  const wantType = mode.useBinaryFormat ? "application/proto" : "application/json";
  eq(t(`answers are ${wantType}`), seen.get("CreateVm")?.contentType, wantType);
  const again = await client.createVm({ vmId: id, config, customerId: "cust-node", restartPolicy: "never" });
  eq(t("CreateVm retried with the same config returns the VM"), again.vmId, id);
  await expectCode(
    t("CreateVm, same id, another config: already_exists"),
    client.createVm({ vmId: id, config: { ...config, cpu: { vcpuCount: 2 } } }),
    Code.AlreadyExists,
  );
  await expectCode(
    t("CreateVm with 33 vCPUs: invalid_argument"),
    client.createVm({ config: { ...config, cpu: { vcpuCount: 33 } } }),
    Code.InvalidArgument,
    /vcpu_count/,
  );
  await expectCode(
    t("CreateVm with a kernel outside the asset roots: invalid_argument"),
    client.createVm({ config: { ...config, boot: { kernelPath: "/etc/passwd" } } }),
    Code.InvalidArgument,
  );
  await expectCode(
    t("a second VM over --max-vms 1: resource_exhausted"),
    client.createVm({ vmId: `${id}-2`, config: { ...config, storage: [{ path: `${assets}/rootfs-extra.ext4` }] } }),
    Code.ResourceExhausted,
    /max-vms/,
  );
  await expectCode(t("CreateVm with a bad id: invalid_argument"), client.createVm({ vmId: "no/slash", config }), Code.InvalidArgument);

  // GetVmInfo: nested messages, int64 as bigint, a map, enums.
  const info = await client.getVmInfo({ vmId: id });
  eq(t("GetVmInfo vmId"), info.vmId, id);
  eq(t("GetVmInfo config.cpu.vcpuCount"), info.config?.cpu?.vcpuCount, 1);
  eq(t("GetVmInfo config.memory.sizeBytes (int64)"), info.config?.memory?.sizeBytes, 134217728n);
  eq(t("GetVmInfo config.metadata (map)"), info.config?.metadata?.team, "blue");
  eq(t("GetVmInfo config.storage (repeated)"), info.config?.storage?.length, 1);
  eq(t("GetVmInfo customerId"), info.customerId, "cust-node");
  eq(t("GetVmInfo desiredState"), info.desiredState, VmState.CREATED);
  check(t("GetVmInfo generation >= 1 (int64)"), typeof info.generation === "bigint" && info.generation >= 1n);
  eq(t("GetVmInfo restartPolicy"), info.restartPolicy, "never");
  eq(t(`GetVmInfo went by ${mode.useHttpGet ? "GET" : "POST"}`), seen.get("GetVmInfo")?.method, mode.useHttpGet ? "GET" : "POST");
  await expectCode(t("GetVmInfo of an unknown VM: not_found"), client.getVmInfo({ vmId: "vm-nope" }), Code.NotFound);
  await expectCode(t("GetVmInfo without an id: invalid_argument"), client.getVmInfo({}), Code.InvalidArgument);

  // ListVms: repeated enum filter, paging.
  const listed = await client.listVms({ stateFilter: [VmState.CREATED], customerId: "cust-node" });
  check(t("ListVms with a state filter finds it"), listed.vms.some((v) => v.vmId === id && v.metadata.codec === mode.name));
  eq(t(`ListVms went by ${mode.useHttpGet ? "GET" : "POST"}`), seen.get("ListVms")?.method, mode.useHttpGet ? "GET" : "POST");
  const none = await client.listVms({ stateFilter: [VmState.PAUSED], customerId: "cust-node" });
  check(t("ListVms filter leaves it out"), !none.vms.some((v) => v.vmId === id));
  await expectCode(t("ListVms with page_size -1: invalid_argument"), client.listVms({ pageSize: -1 }), Code.InvalidArgument);
  await expectCode(t("ListVms with a bad page token: invalid_argument"), client.listVms({ pageToken: "!!" }), Code.InvalidArgument);

  // Preconditions.
  await expectCode(t("PauseVm on a created VM: failed_precondition"), client.pauseVm({ vmId: id }), Code.FailedPrecondition);
  await expectCode(t("ResumeVm on a created VM: failed_precondition"), client.resumeVm({ vmId: id }), Code.FailedPrecondition);
  await expectCode(t("RebootVm on a created VM: failed_precondition"), client.rebootVm({ vmId: id }), Code.FailedPrecondition);
  await expectCode(t("ShutdownVm on a created VM: failed_precondition"), client.shutdownVm({ vmId: id }), Code.FailedPrecondition);
  await expectCode(t("BootVm of an unknown VM: not_found"), client.bootVm({ vmId: "vm-nope" }), Code.NotFound);

  // The lifecycle.
  const booted = await client.bootVm({ vmId: id });
  check(t("BootVm: running"), booted.success && booted.state === VmState.RUNNING, JSON.stringify(booted.state));
  const paused = await client.pauseVm({ vmId: id });
  eq(t("PauseVm: paused"), paused.state, VmState.PAUSED);
  await expectCode(t("BootVm on a paused VM: failed_precondition"), client.bootVm({ vmId: id }), Code.FailedPrecondition, /ResumeVm/);
  const resumed = await client.resumeVm({ vmId: id });
  eq(t("ResumeVm: running"), resumed.state, VmState.RUNNING);
  const rebooted = await client.rebootVm({ vmId: id });
  check(t("RebootVm: success, running"), rebooted.success && rebooted.state === VmState.RUNNING);
  await expectCode(
    t("ShutdownVm with timeout 601: invalid_argument"),
    client.shutdownVm({ vmId: id, timeoutSeconds: 601 }),
    Code.InvalidArgument,
  );

  // The read-only RPCs on a running VM.
  const console0 = await client.getVmConsole({ vmId: id, offset: 0n, maxBytes: 4096 });
  check(t("GetVmConsole: offsets are int64"), typeof console0.nextOffset === "bigint" && console0.nextOffset >= console0.offset);
  eq(t("GetVmConsole: data length matches the offsets"), BigInt(Buffer.byteLength(console0.data)) <= console0.nextOffset - console0.offset, true);
  await expectCode(t("GetVmConsole with max_bytes 2 MiB: invalid_argument"), client.getVmConsole({ vmId: id, maxBytes: 2 << 20 }), Code.InvalidArgument);
  await expectCode(t("GetVmConsole of an unknown VM: not_found"), client.getVmConsole({ vmId: "vm-nope" }), Code.NotFound);
  const history = await client.getVmHistory({ vmId: id, pageSize: 1000 });
  check(t("GetVmHistory has the desired and observed steps"),
    history.events.some((e) => e.kind === "desired" && e.toState === "paused") &&
      history.events.some((e) => e.kind === "observed" && e.toState === "running"),
    history.events.map((e) => `${e.kind}:${e.toState}`).join(","));
  check(t("GetVmHistory seq is int64, increasing"), history.events.every((e, i, a) => i === 0 || e.seq > a[i - 1].seq));
  await expectCode(t("GetVmHistory of an unknown VM: not_found"), client.getVmHistory({ vmId: "vm-nope" }), Code.NotFound);
  // metald samples every 0.2 s here (--metrics-interval): wait for samples,
  // so that every field of VmMetricSample and VmMetrics crosses the codec.
  let metrics = await client.getVmMetrics({ vmId: id });
  for (let i = 0; i < 50 && metrics.samples.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    metrics = await client.getVmMetrics({ vmId: id });
  }
  eq(t("GetVmMetrics answers for the VM"), metrics.vmId, id);
  check(t("GetVmMetrics has samples"), metrics.samples.length >= 2, `${metrics.samples.length} samples`);
  const sample = metrics.samples[metrics.samples.length - 1];
  check(t("a sample: int64 fields as bigint, a time, running"),
    sample !== undefined && typeof sample.intervalMs === "bigint" && sample.intervalMs > 0n &&
      typeof sample.rssBytes === "bigint" && /^\d{4}-\d\d-\d\dT/.test(sample.at) && sample.running === true,
    JSON.stringify(sample, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  const paged = await client.getVmMetrics({ vmId: id, pageSize: 1 });
  check(t("GetVmMetrics pages"), paged.samples.length === 1 && paged.nextPageToken !== "");
  const withUsage = await client.getVmInfo({ vmId: id });
  check(t("GetVmInfo shows the latest usage (VmMetrics)"),
    withUsage.metrics !== undefined && withUsage.metrics.sampledAt !== "" && typeof withUsage.metrics.memoryBytes === "bigint");
  await expectCode(t("GetVmMetrics with a bad time: invalid_argument"), client.getVmMetrics({ vmId: id, from: "yesterday" }), Code.InvalidArgument);
  if (mode.useHttpGet) {
    for (const m of ["GetVmConsole", "GetVmHistory", "GetVmMetrics"])
      eq(t(`${m} went by GET`), seen.get(m)?.method, "GET");
  }

  // Shut down, delete.
  const down = await client.shutdownVm({ vmId: id, force: true });
  check(t("ShutdownVm (force): shutdown"), down.success && down.state === VmState.SHUTDOWN);
  const deleted = await client.deleteVm({ vmId: id });
  eq(t("DeleteVm: success"), deleted.success, true);
  await expectCode(t("GetVmInfo after DeleteVm: not_found"), client.getVmInfo({ vmId: id }), Code.NotFound);
  await expectCode(t("DeleteVm again: not_found"), client.deleteVm({ vmId: id }), Code.NotFound);
  const all = await client.listVms({ includeDeleted: true, customerId: "cust-node" });
  check(t("ListVms include_deleted shows it deleted"), all.vms.some((v) => v.vmId === id && v.state === VmState.DELETED));
  await expectCode(t("CreateVm with a deleted VM's id: already_exists"), client.createVm({ vmId: id, config }), Code.AlreadyExists);
  agent.destroy();
}

const modes: Mode[] = [
  { name: "json", useBinaryFormat: false, useHttpGet: false },
  { name: "binary", useBinaryFormat: true, useHttpGet: false },
  { name: "json-get", useBinaryFormat: false, useHttpGet: true },
  { name: "binary-get", useBinaryFormat: true, useHttpGet: true },
];
for (const mode of modes) {
  try {
    await exercise(mode);
  } catch (e) {
    check(`${mode.name}: no unexpected error`, false, e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
