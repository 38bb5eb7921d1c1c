#!/bin/bash
# Cloud Hypervisor VMs, on chsim: the seed document's two curl examples with
# "backend":"cloud-hypervisor", what GetVmInfo and the VMM say, the whole
# lifecycle, a Firecracker VM and a Cloud Hypervisor VM side by side in one
# daemon, CPU and memory hotplug (accepted here, refused for Firecracker), and
# a missing cloud-hypervisor binary.
. "$(dirname "$0")/lib.sh"
: "${CHSIM:?path of the chsim binary}"

# The seed's paths, private to this test (as in test-seed.sh). Cloud
# Hypervisor's loader wants an ELF vmlinux (or a bzImage): the fake kernels
# start with the ELF magic.
mkdir -p /opt/vm-assets /data
mount -t tmpfs tmpfs /opt/vm-assets
mount -t tmpfs tmpfs /data
printf '\177ELF fake kernel\n' > /opt/vm-assets/vmlinux
printf '\177ELF fake kernel\n' > "$ASSETS/vmlinux"
truncate -s 32M /opt/vm-assets/rootfs.ext4
truncate -s 8M /data/app.ext4
start_metald --asset-root /opt/vm-assets --asset-root /data || exit 1

# ch SOCKET ENDPOINT: GET a Cloud Hypervisor API endpoint, as another client would.
ch() { curl -s --unix-socket "$1" "http://localhost/api/v1/$2"; }
# The argv of a process, blank-separated.
argv_of() { tr '\0' ' ' </proc/$1/cmdline | sed 's/ $//'; }
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat)" != Z ] && echo alive || echo gone; }
info_of() { rpc GetVmInfo "{\"vm_id\":\"$1\"}" | cut -d' ' -f2-; }

# ---- the seed's examples, on Cloud Hypervisor ----
out=$(curl -s -w '\n%{http_code}' -X POST http://localhost:8080/vmprovisioner.v1.VmService/CreateVm \
  -d '{"backend":"cloud-hypervisor","config":{"cpu":{"vcpu_count":1},"memory":{"size_bytes":134217728},"boot":{"kernel_path":"/opt/vm-assets/vmlinux","kernel_args":"console=ttyS0 reboot=k panic=1 pci=off"},"storage":[{"path":"/opt/vm-assets/rootfs.ext4","readonly":false}]}}')
check "minimal example on cloud-hypervisor answers 200" "${out##*$'\n'}" 200
id1=$(jf .vmId "${out%$'\n'*}")
check_match "it returns a vm id" "$id1" '^vm-[a-z2-7]{26}$'

out=$(curl -s -w '\n%{http_code}' -X POST http://localhost:8080/vmprovisioner.v1.VmService/CreateVm \
  -d '{"backend":"cloud-hypervisor","config":{"cpu":{"vcpu_count":2},"memory":{"size_bytes":536870912},"boot":{"kernel_path":"/opt/vm-assets/vmlinux","kernel_args":"console=ttyS0"},"storage":[{"path":"/opt/vm-assets/rootfs.ext4","readonly":false,"is_root_device":true},{"path":"/data/app.ext4","readonly":true}]}}')
check "multi-CPU example on cloud-hypervisor answers 200" "${out##*$'\n'}" 200
id2=$(jf .vmId "${out%$'\n'*}")

check "the minimal VM boots" "$(rpc BootVm "{\"vm_id\":\"$id1\"}")" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
sock1=$(jf .backendInfo.apiSocketPath "$(info_of "$id1")")
check "pci=off is dropped, root= added" "$(jf .config.payload.cmdline "$(ch "$sock1" vm.info)")" \
        "root=/dev/vda rw console=ttyS0 reboot=k panic=1"
# Both examples write to the same rootfs: Cloud Hypervisor locks disk images,
# so the second cannot boot while the first runs. Refused for good, in its words.
out=$(rpc BootVm "{\"vm_id\":\"$id2\"}")
check "a rootfs in use by another VM: failed_precondition" "${out%% *} $(jf .code "${out#* }")" "400 failed_precondition"
check_match "in Cloud Hypervisor's words" "$(jf .message "${out#* }")" \
        'cloud-hypervisor: PUT vm.boot: 500: Error from API: The VM could not boot: Error locking disk images: '
check "no VMM is left of it" "$(pgrep -fc "$DATA/vms/$id2/api.sock")" 0
rpc DeleteVm "{\"vm_id\":\"$id1\"}" >/dev/null
check "once the first is gone, the multi-CPU VM boots" "$(rpc BootVm "{\"vm_id\":\"$id2\"}")" \
        '200 {"success":true,"state":"VM_STATE_RUNNING"}'

info=$(info_of "$id2")
check "GetVmInfo names the backend" "$(jf .backend "$info")" cloud-hypervisor
check "backendInfo names the backend" "$(jf .backendInfo.backend "$info")" cloud-hypervisor
pid=$(jf .backendInfo.vmmPid "$info")
check_match "GetVmInfo shows the VMM's pid" "$pid" '^[1-9][0-9]*$'
run="$DATA/vms/$id2"
check "the VMM is chsim, with only the API socket, the logger and its seccomp filter on" "$(argv_of "$pid")" \
        "$CHSIM --api-socket path=$run/api.sock --log-file $run/vmm.log -v --seccomp true"
check "the VMM runs in its own session" "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid"
sock=$(jf .backendInfo.apiSocketPath "$info")
check "the API socket is in the run directory" "$sock" "$run/api.sock"
check "vmm.ping reports the same pid" "$(jf .pid "$(ch "$sock" vmm.ping)")" "$pid"
check "GetVmInfo shows the console log" "$(jf .backendInfo.consoleLogPath "$info")" "$run/console.log"
vminfo=$(ch "$sock" vm.info)
check "Cloud Hypervisor says Running" "$(jf .state "$vminfo")" Running
check "it got 2 vCPUs and 512 MiB" "$(jf '.config | "\(.cpus.boot_vcpus) \(.cpus.max_vcpus) \(.memory.size)"' "$vminfo")" \
        "2 2 536870912"
check "it got both disks, root first, with our ids" \
        "$(jf '[.config.disks[] | "\(.id):\(.path):\(.readonly)"] | join(",")' "$vminfo")" \
        "rootfs:/opt/vm-assets/rootfs.ext4:false,disk1:/data/app.ext4:true"
check "root= names the first disk" "$(jf .config.payload.cmdline "$vminfo")" "root=/dev/vda rw console=ttyS0"
check "the serial console goes to the VMM's stdout, console.log" "$(jf .config.serial.mode "$vminfo")" Tty
check "no virtio-console" "$(jf .config.console.mode "$vminfo")" Off
for _ in $(seq 1 40); do [ -s "$run/console.log" ] && break; sleep 0.05; done
console=$(rpc GetVmConsole "{\"vm_id\":\"$id2\"}" | cut -d' ' -f2-)
check_match "GetVmConsole shows what the guest wrote on ttyS0" "$(jf .data "$console")" '[^[:space:]]'
rpc DeleteVm "{\"vm_id\":\"$id2\"}" >/dev/null

# ---- the whole lifecycle ----
out=$(rpc CreateVm "{\"vm_id\":\"ch-life\",\"backend\":\"cloud-hypervisor\",\"config\":$(config 2 268435456)}")
check "CreateVm" "$out" '200 {"vmId":"ch-life","state":"VM_STATE_CREATED"}'
check "BootVm" "$(rpc BootVm '{"vm_id":"ch-life"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
info=$(info_of ch-life)
pid=$(jf .backendInfo.vmmPid "$info")
sock=$(jf .backendInfo.apiSocketPath "$info")
check "BootVm again is a no-op" "$(rpc BootVm '{"vm_id":"ch-life"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
check "the same VMM after it" "$(jf .backendInfo.vmmPid "$(info_of ch-life)")" "$pid"
check "PauseVm" "$(rpc PauseVm '{"vm_id":"ch-life"}')" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "Cloud Hypervisor says Paused" "$(jf .state "$(ch "$sock" vm.info)")" Paused
check "PauseVm again" "$(rpc PauseVm '{"vm_id":"ch-life"}')" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "ResumeVm" "$(rpc ResumeVm '{"vm_id":"ch-life"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
check "Cloud Hypervisor says Running" "$(jf .state "$(ch "$sock" vm.info)")" Running
check "ShutdownVm" "$(rpc ShutdownVm '{"vm_id":"ch-life","timeout_seconds":5}')" \
        '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'
sleep 0.1
check "the VMM exited after the power button" "$(alive "$pid")" gone
check "the shutdown says how it ended" \
        "$(sql "SELECT reason FROM vm_events WHERE vm_id='ch-life' AND to_state='shutdown' AND kind='observed'")" \
        "the guest powered off"
check "no VMM recorded after shutdown" "$(jf .backendInfo.vmmPid "$(info_of ch-life)")" 0
check "BootVm after shutdown" "$(rpc BootVm '{"vm_id":"ch-life"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
pid2=$(jf .backendInfo.vmmPid "$(info_of ch-life)")
check "RebootVm" "$(rpc RebootVm '{"vm_id":"ch-life"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
pid3=$(jf .backendInfo.vmmPid "$(info_of ch-life)")
if [ "$pid3" != "$pid2" ] && [ "$pid3" != 0 ]; then ok "reboot started a fresh VMM"; else not_ok "reboot started a fresh VMM ($pid2 -> $pid3)"; fi
check "exactly one VMM runs for the VM" "$(pgrep -fc "$DATA/vms/ch-life/api.sock")" 1
check_match "the boot says which VMM" \
        "$(sql "SELECT reason FROM vm_events WHERE vm_id='ch-life' AND from_state='booting' AND to_state='running' LIMIT 1")" \
        '^guest booted by cloud-hypervisor pid [0-9]+$'
check "DeleteVm" "$(rpc DeleteVm '{"vm_id":"ch-life"}')" '200 {"success":true}'
check "no VMM left" "$(pgrep -fc "$DATA/vms/ch-life/api.sock")" 0
check "the run directory is gone" "$(test -e "$DATA/vms/ch-life" && echo present || echo gone)" gone

# ---- side by side in one daemon ----
out=$(rpc CreateVm "{\"vm_id\":\"side-fc\",\"backend\":\"firecracker\",\"boot\":true,\"config\":$(config)}")
check "a Firecracker VM" "$out" '200 {"vmId":"side-fc","state":"VM_STATE_RUNNING"}'
out=$(rpc CreateVm "{\"vm_id\":\"side-ch\",\"backend\":\"cloud-hypervisor\",\"boot\":true,\"config\":$(config)}")
check "and a Cloud Hypervisor VM" "$out" '200 {"vmId":"side-ch","state":"VM_STATE_RUNNING"}'
fc_info=$(info_of side-fc)
ch_info=$(info_of side-ch)
check "each has its backend" "$(jf .backend "$fc_info") $(jf .backend "$ch_info")" "firecracker cloud-hypervisor"
fc_pid=$(jf .backendInfo.vmmPid "$fc_info")
ch_pid=$(jf .backendInfo.vmmPid "$ch_info")
check "the Firecracker VM runs on fcsim" "$(argv_of "$fc_pid" | cut -d' ' -f1-3)" \
        "$FCSIM --api-sock $DATA/vms/side-fc/api.sock"
check "the Cloud Hypervisor VM runs on chsim" "$(argv_of "$ch_pid" | cut -d' ' -f1-3)" \
        "$CHSIM --api-socket path=$DATA/vms/side-ch/api.sock"
check "Firecracker says Running" "$(jf .state "$(curl -s --unix-socket "$DATA/vms/side-fc/api.sock" http://localhost/)")" Running
check "Cloud Hypervisor says Running" "$(jf .state "$(ch "$DATA/vms/side-ch/api.sock" vm.info)")" Running
check "pausing the Firecracker VM" "$(rpc PauseVm '{"vm_id":"side-fc"}')" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "leaves the Cloud Hypervisor VM running" "$(jf .state "$(ch "$DATA/vms/side-ch/api.sock" vm.info)")" Running
check "pausing the Cloud Hypervisor VM" "$(rpc PauseVm '{"vm_id":"side-ch"}')" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "ListVms shows both" "$(jf '[.vms[] | "\(.vmId):\(.backend)"] | sort | join(",")' "$(rpc ListVms '{}' | cut -d' ' -f2-)")" \
        "side-ch:cloud-hypervisor,side-fc:firecracker"

# ---- hotplug: max_vcpu_count > vcpu_count, hotplug memory ----
# (A disk of its own: side-ch holds rootfs.ext4's lock.)
truncate -s 16M "$ASSETS/hot.ext4"
hot='{"cpu":{"vcpu_count":1,"max_vcpu_count":4},"memory":{"size_bytes":134217728,"hotplug_size_bytes":268435456},"boot":{"kernel_path":"'$ASSETS'/vmlinux"},"storage":[{"path":"'$ASSETS'/hot.ext4"}]}'
out=$(rpc CreateVm "{\"vm_id\":\"hot-ch\",\"backend\":\"cloud-hypervisor\",\"boot\":true,\"config\":$hot}")
check "max_vcpu_count > vcpu_count is accepted for cloud-hypervisor" "$out" '200 {"vmId":"hot-ch","state":"VM_STATE_RUNNING"}'
vminfo=$(ch "$DATA/vms/hot-ch/api.sock" vm.info)
check "Cloud Hypervisor got 1 of 4 vCPUs and 256 MiB of hotplug memory" \
        "$(jf '.config | "\(.cpus.boot_vcpus) \(.cpus.max_vcpus) \(.memory.hotplug_size)"' "$vminfo")" "1 4 268435456"
check "GetVmInfo keeps max_vcpu_count" "$(jf .config.cpu.maxVcpuCount "$(info_of hot-ch)")" 4
out=$(rpc CreateVm "{\"vm_id\":\"hot-fc\",\"backend\":\"firecracker\",\"config\":$hot}")
check "and refused for firecracker" "${out%% *} $(jf .code "${out#* }")" "400 invalid_argument"
check_match "naming the field and the backend" "$(jf .message "${out#* }")" \
        '^config.cpu.max_vcpu_count: backend firecracker does not support CPU hotplug'
check "no VM is left of it" "$(rpc GetVmInfo '{"vm_id":"hot-fc"}' | cut -d' ' -f1)" 404

# ---- a missing cloud-hypervisor binary ----
stop_metald
start_metald --asset-root /opt/vm-assets --asset-root /data --cloud-hypervisor-binary /nonexistent/cloud-hypervisor ||
        exit 1
out=$(rpc CreateVm "{\"vm_id\":\"no-ch\",\"backend\":\"cloud-hypervisor\",\"config\":$(config)}")
check "a missing cloud-hypervisor binary: failed_precondition" "${out%% *} $(jf .code "${out#* }")" \
        "400 failed_precondition"
check_match "in the backend's words" "$(jf .message "${out#* }")" \
        '^backend cloud-hypervisor is not available on this host: cloud-hypervisor: binary /nonexistent/cloud-hypervisor: No such file or directory$'
check "no VM is created" "$(rpc GetVmInfo '{"vm_id":"no-ch"}' | cut -d' ' -f1)" 404
check "Firecracker VMs are still created" "$(rpc CreateVm "{\"vm_id\":\"still-fc\",\"config\":$(config)}")" \
        '200 {"vmId":"still-fc","state":"VM_STATE_CREATED"}'
check "the running Cloud Hypervisor VM was reattached" "$(jf .state "$(info_of hot-ch)")" VM_STATE_RUNNING
finish
