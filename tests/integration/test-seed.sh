#!/bin/bash
# The seed document's curl examples, verbatim: no Content-Type header, the
# paths /opt/vm-assets and /data, and localhost:8080. Private mounts put test
# files at those paths without touching the host.
. "$(dirname "$0")/lib.sh"

mkdir -p /opt/vm-assets /data
mount -t tmpfs tmpfs /opt/vm-assets
mount -t tmpfs tmpfs /data
printf 'kernel\n' > /opt/vm-assets/vmlinux
truncate -s 32M /opt/vm-assets/rootfs.ext4
truncate -s 8M /data/app.ext4
ASSETS=/opt/vm-assets
start_metald --asset-root /opt/vm-assets --asset-root /data || exit 1

out=$(curl -s -w '\n%{http_code}' -X POST http://localhost:8080/vmprovisioner.v1.VmService/CreateVm \
  -d '{"config":{"cpu":{"vcpu_count":1},"memory":{"size_bytes":134217728},"boot":{"kernel_path":"/opt/vm-assets/vmlinux","kernel_args":"console=ttyS0 reboot=k panic=1 pci=off"},"storage":[{"path":"/opt/vm-assets/rootfs.ext4","readonly":false}]}}')
check "minimal VM example answers 200" "${out##*$'\n'}" 200
id1=$(jf .vmId "${out%$'\n'*}")
check_match "minimal VM example returns a vm id" "$id1" '^vm-[a-z2-7]{26}$'
check "minimal VM is created" "$(jf .state "${out%$'\n'*}")" VM_STATE_CREATED

out=$(curl -s -w '\n%{http_code}' -X POST http://localhost:8080/vmprovisioner.v1.VmService/CreateVm \
  -d '{"config":{"cpu":{"vcpu_count":2},"memory":{"size_bytes":536870912},"boot":{"kernel_path":"/opt/vm-assets/vmlinux","kernel_args":"console=ttyS0"},"storage":[{"path":"/opt/vm-assets/rootfs.ext4","readonly":false,"is_root_device":true},{"path":"/data/app.ext4","readonly":true}]}}')
check "multi-CPU example answers 200" "${out##*$'\n'}" 200
id2=$(jf .vmId "${out%$'\n'*}")
check_match "multi-CPU example returns a vm id" "$id2" '^vm-'

# Both boot on the simulator, with the drives Firecracker was given.
out=$(rpc BootVm "{\"vm_id\":\"$id2\"}")
check "the multi-CPU VM boots" "$out" "200 {\"success\":true,\"state\":\"VM_STATE_RUNNING\"}"
info=$(rpc GetVmInfo "{\"vm_id\":\"$id2\"}")
info=${info#* }
check "its config keeps the second disk read-only" "$(jf '.config.storage[1] | "\(.path) \(.readonly) \(.isRootDevice)"' "$info")" "/data/app.ext4 true false"
check "the first disk is the root device" "$(jf '.config.storage[0].isRootDevice' "$info")" true
sock=$(jf .backendInfo.apiSocketPath "$info")
vmcfg=$(curl -s --unix-socket "$sock" http://localhost/vm/config)
check "Firecracker got 2 vCPUs and 512 MiB" "$(jf '.["machine-config"] | "\(.vcpu_count) \(.mem_size_mib)"' "$vmcfg")" "2 512"
check "Firecracker got both drives" "$(jf '[.drives[] | "\(.drive_id):\(.is_root_device):\(.is_read_only)"] | join(",")' "$vmcfg")" "rootfs:true:false,disk1:false:true"
rpc DeleteVm "{\"vm_id\":\"$id2\"}" >/dev/null
finish
