#!/bin/bash
# Networks with real guests (QEMU, TCG or KVM), all inside the network and
# mount namespaces lib.sh creates (no address outside them is touched):
#   - networks from --network and from CreateNetwork; bad definitions refused;
#   - two guests on one network (tenant t1) ping each other and their gateway;
#     their addresses come from the store (lowest free / requested) through ip=;
#     over IPv6 too (metald.ipv6=);
#   - a guest of tenant t2 on another network reaches its own gateway but not
#     them, nor the other network's gateway, nor the host's other address
#     (with ip_forward on, so only the firewall stands in the way);
#   - a guest that spoofs its source IP or MAC is cut off (and the nftables
#     counters of its TAP's rules show the drops);
#   - kill -9 of metald: the same addresses, TAPs reused (not duplicated), the
#     same QEMUs; a simulated host reboot (TAPs, bridges and rules gone, VMMs
#     gone, new boot id): all recreated, guests boot and ping again;
#   - DeleteVm frees the TAP and the address (handed out again), DeleteNetwork
#     of a network in use is failed_precondition, exhaustion is
#     resource_exhausted naming the network, another tenant's network is
#     permission_denied;
#   - Firecracker (fcsim) and Cloud Hypervisor (chsim) get the TAP, MAC and
#     rate limiters (both simulators refuse a TAP that does not exist).
# Exits 77 when the guest assets, QEMU or nft are missing.
skip() { echo "SKIP: $*"; exit 77; }
[ -n "${ASSETS:-}" ] || skip "ASSETS is not set: it names the directory tools/mkassets --out DIR wrote"
[ -r "$ASSETS/vmlinux" ] && [ -r "$ASSETS/rootfs.ext4" ] || skip "no guest assets in $ASSETS"
QEMU=$(command -v "${QEMU:-qemu-system-x86_64}") || skip "qemu-system-x86_64 not found"
command -v nft >/dev/null || skip "nft not found (apt-get install nftables)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v debugfs >/dev/null || skip "debugfs not found (apt-get install e2fsprogs)"
GUEST=$(cd "$ASSETS" && pwd)
INIT=$(cd "$(dirname "$0")/../../tools/mkassets.d" && pwd)/init

. "$(dirname "$0")/lib.sh"

# The namespace's "host": forwarding on (so only metald's rules isolate
# networks) and one more address, which guests must not reach.
echo 1 >/proc/sys/net/ipv4/ip_forward
ip addr add 192.168.77.1/32 dev lo
# Our own sysfs: /sys/class/net of this namespace (fcsim and chsim look there).
mount -t sysfs sysfs /sys

cp "$GUEST/vmlinux" "$ASSETS/guest-vmlinux"
cp --sparse=always "$GUEST/rootfs.ext4" "$T/rootfs.ext4"
# The guest init of this source tree (its network tests), whatever rootfs is
# installed: written into the test's copy (the file system has no journal).
debugfs -w -R "rm /sbin/init" "$T/rootfs.ext4" >/dev/null 2>&1
debugfs -w -R "write $INIT /sbin/init" "$T/rootfs.ext4" >/dev/null 2>&1
debugfs -w -R "set_inode_field /sbin/init mode 0100755" "$T/rootfs.ext4" >/dev/null 2>&1
check "the test's rootfs has this tree's guest init" \
        "$(debugfs -R 'cat /sbin/init' "$T/rootfs.ext4" 2>/dev/null | sha256sum)" "$(sha256sum <"$INIT")"
disk() { cp --sparse=always "$T/rootfs.ext4" "$ASSETS/$1.ext4" && echo "$ASSETS/$1.ext4"; }
# gconfig DISK NETWORK_JSON EXTRA_ARGS: a real guest on QEMU with interfaces.
gconfig() {
        printf '{"cpu":{"vcpu_count":1},"memory":{"size_bytes":134217728},"boot":{"kernel_path":"%s/guest-vmlinux","kernel_args":"console=ttyS0 reboot=k panic=1 pci=off metald.heartbeat=0 %s"},"storage":[{"path":"%s","readonly":false}],"network":%s}' \
                "$ASSETS" "$3" "$1" "$2"
}
console_file() { tr -d '\r' <"$DATA/vms/$1/console.log" 2>/dev/null; }
# wait_count ID REGEX N [SECONDS]: until the console has N lines matching.
wait_count() {
        local i
        for i in $(seq 1 $((${4:-120} * 10))); do
                [ "$(console_file "$1" | grep -cE "$2")" -ge "$3" ] && return 0
                # QEMU refused to start (its own error on the console): no use waiting.
                console_file "$1" | grep -q '^qemu-system-x86_64: ' && break
                sleep 0.1
        done
        echo "# $1: no $3 x /$2/; console tail:"; console_file "$1" | tail -n 8
        return 1
}
has_line() { if console_file "$2" | grep -qx "metald-guest: $3"; then ok "$1"; else not_ok "$1 (no \"$3\" on $2's console)"; fi; }
info_of() { rpc GetVmInfo "{\"vm_id\":\"$1\"}" | cut -d' ' -f2-; }
tap_of() { jf '.networkInterfaces[0].tapDevice' "$(info_of "$1")"; }
master_of() { ip -o link show "$1" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }
taps() { ip -o link show 2>/dev/null | grep -c ': mdt'; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- networks ----
start_metald --qemu-binary "$QEMU" --network name=neta,subnet=10.0.0.0/24,dns=10.0.0.1,ipv6=fd00:a::/64 || exit 1
out=$(rpc ListNetworks '{}')
check "--network is listed, with its defaults" \
        "$(jf '.networks[0] | "\(.name) \(.bridge) \(.ipv4Subnet) \(.ipv4Gateway) \(.source) \(.mtu)"' "${out#* }")" \
        "neta mdbr-neta 10.0.0.0/24 10.0.0.1 config 1500"
check "with its IPv6 subnet" "$(jf '.networks[0].ipv6Subnet' "${out#* }")" "fd00:a::/64"
check "its bridge exists with the gateway address" "$(ip -o -4 addr show dev mdbr-neta | awk '{print $4}')" "10.0.0.1/24"
out=$(rpc CreateNetwork '{"name":"netb","ipv4_subnet":"10.0.1.0/24","tenant":"t2"}')
check "CreateNetwork" "$(jf '.network | "\(.name) \(.bridge) \(.tenant) \(.source)"' "${out#* }")" "netb mdbr-netb t2 api"
check "CreateNetwork again, same definition: a success" "$(rpc CreateNetwork '{"name":"netb","ipv4_subnet":"10.0.1.0/24","tenant":"t2"}' | cut -d' ' -f1)" 200
check "another definition under that name: already_exists" \
        "$(jf .code "$(rpc CreateNetwork '{"name":"netb","ipv4_subnet":"10.0.2.0/24"}' | cut -d' ' -f2-)")" already_exists
check "an overlapping subnet: already_exists" \
        "$(jf .message "$(rpc CreateNetwork '{"name":"netc","ipv4_subnet":"10.0.0.0/16"}' | cut -d' ' -f2-)")" \
        'subnet 10.0.0.0/16 overlaps network "neta"'
check "a subnet with host bits: invalid_argument naming it" \
        "$(rpc CreateNetwork '{"name":"netc","ipv4_subnet":"10.0.3.1/24"}')" \
        '400 {"code":"invalid_argument","message":"ipv4_subnet: \"10.0.3.1/24\" has host bits set; did you mean 10.0.3.0/24?"}'
check "a bad network name" "$(jf .code "$(rpc CreateNetwork '{"name":"Net C","ipv4_subnet":"10.0.3.0/24"}' | cut -d' ' -f2-)")" invalid_argument
check "an unknown field" "$(jf .code "$(rpc CreateNetwork '{"name":"c","ipv4_subnet":"10.0.3.0/24","vlan":3}' | cut -d' ' -f2-)")" invalid_argument
check "ListNetworks also answers a Connect GET" \
        "$(curl -s "$URL/vmprovisioner.v1.VmService/ListNetworks?encoding=json&message=%7B%7D" | jq -r '[.networks[].name] | join(" ")')" "neta netb"
check "nothing was made of the refusals" "$(jf '.networks | length' "$(rpc ListNetworks '{}' | cut -d' ' -f2-)")" 2

# ---- refusals at CreateVm ----
check "an interface on a network that does not exist" \
        "$(rpc CreateVm "{\"vm_id\":\"x0\",\"backend\":\"qemu\",\"config\":$(gconfig "$(disk x0)" '[{"network":"nope"}]' '')}")" \
        '400 {"code":"failed_precondition","message":"config.network[0].network: network \"nope\" does not exist"}'
check "on another tenant's network: permission_denied" \
        "$(jf .code "$(rpc CreateVm "{\"vm_id\":\"x0\",\"customer_id\":\"t1\",\"backend\":\"qemu\",\"config\":$(gconfig "$(disk x0)" '[{"network":"netb"}]' '')}" | cut -d' ' -f2-)")" \
        permission_denied
check "a rate limit on QEMU (it has none)" \
        "$(jf .code "$(rpc CreateVm "{\"vm_id\":\"x0\",\"backend\":\"qemu\",\"config\":$(gconfig "$(disk x0)" '[{"network":"neta","rx_rate_limit":{"bandwidth_bytes_per_second":1000}}]' '')}" | cut -d' ' -f2-)")" \
        invalid_argument
check "a multicast MAC" \
        "$(jf .message "$(rpc CreateVm "{\"vm_id\":\"x0\",\"backend\":\"qemu\",\"config\":$(gconfig "$(disk x0)" '[{"network":"neta","mac_address":"01:00:5e:00:00:01"}]' '')}" | cut -d' ' -f2-)")" \
        'config.network[0].mac_address: "01:00:5e:00:00:01" is a multicast address (the first octet is odd); a NIC needs a unicast one'
check "no VM and no address came of them" "$(sql "SELECT count(*) FROM vms") $(sql "SELECT count(*) FROM vm_nics")" "0 0"

# ---- three guests ----
t0=$(ms)
out=$(rpc CreateVm "{\"vm_id\":\"a1\",\"customer_id\":\"t1\",\"backend\":\"qemu\",\"boot\":true,\"config\":$(gconfig "$(disk a1)" '[{"network":"neta"}]' 'metald.ping=10.0.0.3@90,10.0.0.1@30,192.168.77.1@3,fd00:a::3@30,fd00:a::1@10 metald.spoof=ip:10.0.0.99,mac:02:aa:bb:cc:dd:ee')}")
check "a1 boots on neta" "$out" '200 {"vmId":"a1","state":"VM_STATE_RUNNING"}'
out=$(rpc CreateVm "{\"vm_id\":\"a2\",\"customer_id\":\"t1\",\"backend\":\"qemu\",\"boot\":true,\"config\":$(gconfig "$(disk a2)" '[{"network":"neta","ipv4_address":"10.0.0.3"}]' 'metald.ping=10.0.0.2@90,10.0.0.1@30')}")
check "a2 boots on neta" "$out" '200 {"vmId":"a2","state":"VM_STATE_RUNNING"}'
out=$(rpc CreateVm "{\"vm_id\":\"c1\",\"customer_id\":\"t2\",\"backend\":\"qemu\",\"boot\":true,\"config\":$(gconfig "$(disk c1)" '[{"network":"netb"}]' 'metald.ping=10.0.1.1@90,10.0.0.2@3,10.0.0.1@3,192.168.77.1@3')}")
check "c1 (tenant t2) boots on netb" "$out" '200 {"vmId":"c1","state":"VM_STATE_RUNNING"}'
info=$(info_of a1)
check "a1 got the lowest free address, a derived MAC, a TAP" \
        "$(jf '.networkInterfaces[0] | "\(.id) \(.network) \(.ipv4Address)/\(.ipv4PrefixLength) via \(.ipv4Gateway) \(.macAddress|test("^02:[0-9a-f]{2}(:[0-9a-f]{2}){4}$")) \(.tapDevice|length)"' "$info")" \
        "eth0 neta 10.0.0.2/24 via 10.0.0.1 true 15"
check "a2 got the address it asked for" "$(jf '.networkInterfaces[0].ipv4Address' "$(info_of a2)")" 10.0.0.3
check "and IPv6 addresses from ::2 on" "$(jf '.networkInterfaces[0].ipv6Address' "$(info_of a1)") $(jf '.networkInterfaces[0].ipv6Address' "$(info_of a2)")" "fd00:a::2 fd00:a::3"
check "c1 got its network's first address" "$(jf '.networkInterfaces[0].ipv4Address' "$(info_of c1)")" 10.0.1.2
A1TAP=$(tap_of a1); A2TAP=$(tap_of a2); C1TAP=$(tap_of c1)
check "the TAPs hang on their bridges" "$(master_of "$A1TAP") $(master_of "$A2TAP") $(master_of "$C1TAP")" "mdbr-neta mdbr-neta mdbr-netb"
check "and are up" "$(ip -o link show "$A1TAP" | grep -c 'state UP\|,UP')" 1
pid=$(jf .backendInfo.vmmPid "$info")
argv=$(tr '\0' ' ' </proc/"$pid"/cmdline)
check_match "QEMU gets the TAP and the MAC (virtio-net on virtio-mmio)" "$argv" \
        "-netdev tap,id=net0,ifname=$A1TAP,script=no,downscript=no -device virtio-net-device,netdev=net0,mac=$(jf '.networkInterfaces[0].macAddress' "$info") "
check_match "and the guest its address through ip=" "$argv" " ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off:10.0.0.1 metald.ipv6=fd00:a::2/64,fd00:a::1( |$)"

for vm in a1 a2 c1; do wait_count $vm '^metald-guest: net tests done' 1 180 || not_ok "$vm finishes its network tests"; done
echo "# network tests of three guests done $(($(ms) - t0)) ms after the first CreateVm"
has_line "the guest configured eth0 from ip= (and IPv6 from metald.ipv6=)" a1 "net eth0 10.0.0.2/24 ipv6 fd00:a::2/64"
has_line "a1 pings a2 over IPv6" a1 "ping fd00:a::3 ok"
has_line "a1 pings its IPv6 gateway" a1 "ping fd00:a::1 ok"
has_line "with a spoofed MAC, not over IPv6 either" a1 "spoofed-mac ping fd00:a::3 failed"
has_line "a1 pings a2" a1 "ping 10.0.0.3 ok"
has_line "a2 pings a1" a2 "ping 10.0.0.2 ok"
has_line "a1 pings its gateway" a1 "ping 10.0.0.1 ok"
has_line "a2 pings its gateway" a2 "ping 10.0.0.1 ok"
has_line "a1 cannot reach the host's other address" a1 "ping 192.168.77.1 failed"
has_line "c1 pings its own gateway" c1 "ping 10.0.1.1 ok"
has_line "c1 (other tenant, other network) cannot reach a1" c1 "ping 10.0.0.2 failed"
has_line "c1 cannot reach the other network's gateway" c1 "ping 10.0.0.1 failed"
has_line "c1 cannot reach the host's other address" c1 "ping 192.168.77.1 failed"
has_line "with a spoofed source IP, a1 cannot reach a2" a1 "spoofed-ip ping 10.0.0.3 failed"
has_line "nor the gateway" a1 "spoofed-ip ping 10.0.0.1 failed"
has_line "with a spoofed MAC, a1 cannot reach a2" a1 "spoofed-mac ping 10.0.0.3 failed"
has_line "nor the gateway" a1 "spoofed-mac ping 10.0.0.1 failed"
rules=$(nft list table bridge metald)
pk() { sed -n "s/.*iifname \"$A1TAP\" $1.* counter packets \([0-9]*\) .*/\1/p" <<<"$rules" | head -n 1; }
n_ip=$(pk 'ip saddr'); n_mac=$(pk 'ether saddr')
if [ "${n_ip:-0}" -gt 0 ] && [ "${n_mac:-0}" -gt 0 ]; then ok "a1's TAP rules dropped the spoofed frames ($n_ip by IP, $n_mac by MAC)"
else not_ok "a1's TAP rules dropped the spoofed frames (counters: ip ${n_ip:-none}, mac ${n_mac:-none})"; fi
n_ip=$(sed -n "s/.*iifname \"$A2TAP\" ip saddr.* counter packets \([0-9]*\) .*/\1/p" <<<"$rules")
check "a2, which did not spoof, had nothing dropped" "$n_ip" 0

# ---- kill -9 of metald ----
before=$(sql "SELECT vm_id, iface_id, network, tap, mac, ipv4 FROM vm_nics ORDER BY vm_id")
pids="$(jf .backendInfo.vmmPid "$(info_of a1)") $(jf .backendInfo.vmmPid "$(info_of a2)")"
kill9_metald
start_metald --qemu-binary "$QEMU" --network name=neta,subnet=10.0.0.0/24,dns=10.0.0.1,ipv6=fd00:a::/64 || exit 1
check "after kill -9 and a restart, the same allocations" "$(sql "SELECT vm_id, iface_id, network, tap, mac, ipv4 FROM vm_nics ORDER BY vm_id")" "$before"
check "the TAPs are reused, not duplicated" "$(taps)" 3
check "the same QEMUs" "$(jf .backendInfo.vmmPid "$(info_of a1)") $(jf .backendInfo.vmmPid "$(info_of a2)")" "$pids"
check "still running" "$(jf .state "$(info_of a1)")" VM_STATE_RUNNING

# ---- a simulated host reboot: interfaces, rules and VMMs gone, a new boot id ----
stop_metald
pkill -9 -f "$DATA/vms/" 2>/dev/null; sleep 0.5
for l in $A1TAP $A2TAP $C1TAP mdbr-neta mdbr-netb; do ip link del "$l" 2>/dev/null; done
nft delete table bridge metald; nft delete table inet metald
sqlite3 "$DATA/metald.db" "UPDATE daemon_state SET value='0000-old-boot' WHERE key='boot_id'"
check "(all gone)" "$(taps) $(ip -o link show mdbr-neta 2>/dev/null | wc -l)" "0 0"
start_metald --qemu-binary "$QEMU" --network name=neta,subnet=10.0.0.0/24,dns=10.0.0.1,ipv6=fd00:a::/64 || exit 1
wait_state a1 VM_STATE_RUNNING 60 && wait_state a2 VM_STATE_RUNNING 60
check "after the host reboot the TAPs are back on their bridges" "$(master_of "$A1TAP") $(master_of "$A2TAP") $(master_of "$C1TAP")" "mdbr-neta mdbr-neta mdbr-netb"
check "the bridge has its gateway address again" "$(ip -o -4 addr show dev mdbr-neta | awk '{print $4}')" "10.0.0.1/24"
check "the rules are back" "$(nft list table bridge metald | grep -c "iifname \"$A1TAP\"")" 7
check "same addresses" "$(sql "SELECT vm_id, iface_id, network, tap, mac, ipv4 FROM vm_nics ORDER BY vm_id")" "$before"
wait_count a1 '^metald-guest: ping 10.0.0.3 ok' 2 180 && ok "after the reboot a1 pings a2 again"
wait_count a2 '^metald-guest: ping 10.0.0.2 ok' 2 180 && ok "and a2 pings a1"

# ---- delete: TAP and address freed ----
check "DeleteVm a2" "$(rpc DeleteVm '{"vm_id":"a2","force":true}')" '200 {"success":true}'
check "its TAP is gone" "$(ip -o link show "$A2TAP" 2>/dev/null | wc -l)" 0
check "its address is free" "$(sql "SELECT count(*) FROM vm_nics WHERE vm_id='a2'")" 0
out=$(rpc CreateVm "{\"vm_id\":\"a3\",\"customer_id\":\"t1\",\"backend\":\"qemu\",\"config\":$(gconfig "$(disk a3)" '[{"network":"neta"}]' '')}")
check "a new VM gets the freed address" "$(jf '.networkInterfaces[0].ipv4Address' "$(info_of a3)")" 10.0.0.3

# ---- exhaustion, DeleteNetwork ----
rpc CreateNetwork '{"name":"tiny","ipv4_subnet":"10.0.9.0/30"}' >/dev/null
rpc CreateVm "{\"vm_id\":\"t-1\",\"backend\":\"qemu\",\"config\":$(gconfig "$(disk t-1)" '[{"network":"tiny"}]' '')}" >/dev/null
check "the /30 has one address: the second VM is resource_exhausted, naming the network" \
        "$(rpc CreateVm "{\"vm_id\":\"t-2\",\"backend\":\"qemu\",\"config\":$(gconfig "$(disk t-2)" '[{"network":"tiny"}]' '')}")" \
        '429 {"code":"resource_exhausted","message":"network \"tiny\" has no free IPv4 address left (10.0.9.0/30)"}'
check "DeleteNetwork of a network in use: failed_precondition" "$(rpc DeleteNetwork '{"name":"tiny"}')" \
        '400 {"code":"failed_precondition","message":"network \"tiny\" is in use by 1 VM interface; delete those VMs first"}'
rpc DeleteVm '{"vm_id":"t-1"}' >/dev/null
check "once its VM is deleted, DeleteNetwork works" "$(rpc DeleteNetwork '{"name":"tiny"}')" '200 {"success":true}'
check "and the bridge is gone" "$(ip -o link show mdbr-tiny 2>/dev/null | wc -l)" 0
check "DeleteNetwork of an unknown network" "$(jf .code "$(rpc DeleteNetwork '{"name":"tiny"}' | cut -d' ' -f2-)")" not_found

# ---- Firecracker and Cloud Hypervisor: what their simulators get ----
fcfg=$(config | jq -c '.network=[{"network":"neta","mac_address":"02:00:00:00:0a:01","rx_rate_limit":{"bandwidth_bytes_per_second":1000000},"tx_rate_limit":{"ops_per_second":500}}]')
out=$(rpc CreateVm "{\"vm_id\":\"f1\",\"backend\":\"firecracker\",\"boot\":true,\"config\":$fcfg}")
check "a Firecracker VM with an interface boots" "$out" '200 {"vmId":"f1","state":"VM_STATE_RUNNING"}'
ftap=$(tap_of f1)
vc=$(curl -s --unix-socket "$DATA/vms/f1/api.sock" http://localhost/vm/config)
check "fcsim got PUT /network-interfaces/eth0 with the TAP, the MAC and the rate limiters" \
        "$(jq -c '."network-interfaces"' <<<"$vc")" \
        "[{\"iface_id\":\"eth0\",\"host_dev_name\":\"$ftap\",\"guest_mac\":\"02:00:00:00:0a:01\",\"rx_rate_limiter\":{\"bandwidth\":{\"size\":1000000,\"refill_time\":1000}},\"tx_rate_limiter\":{\"ops\":{\"size\":500,\"refill_time\":1000}}}]"
check_match "and ip= on its boot args" "$(jq -r '."boot-source".boot_args' <<<"$vc")" " ip=10\.0\.0\.[0-9]+::10\.0\.0\.1:255\.255\.255\.0::eth0:off:10\.0\.0\.1 metald\.ipv6=fd00:a::[0-9a-f]+/64,fd00:a::1$"
if [ -n "${CHSIM:-}" ]; then
        stop_metald
        start_metald --qemu-binary "$QEMU" --cloud-hypervisor-binary "$CHSIM" || exit 1
        out=$(rpc CreateVm "{\"vm_id\":\"h1\",\"backend\":\"cloud-hypervisor\",\"boot\":true,\"config\":$(config | jq -c '.boot.kernel_args="console=ttyS0" | .network=[{"network":"neta","rx_rate_limit":{"bandwidth_bytes_per_second":2000000},"tx_rate_limit":{"bandwidth_bytes_per_second":1000000}}]')}")
        check "a Cloud Hypervisor VM with an interface boots" "$out" '200 {"vmId":"h1","state":"VM_STATE_RUNNING"}'
        info=$(info_of h1)
        vi=$(curl -s --unix-socket "$DATA/vms/h1/api.sock" http://localhost/api/v1/vm.info)
        check "chsim got net[] with the TAP, the MAC and one rate limiter (the tighter)" \
                "$(jq -c '.config.net[0] | [.tap, .mac, .id, .rate_limiter_config.bandwidth.size, .rate_limiter_config.bandwidth.refill_time]' <<<"$vi")" \
                "[\"$(jf '.networkInterfaces[0].tapDevice' "$info")\",\"$(jf '.networkInterfaces[0].macAddress' "$info")\",\"eth0\",1000000,1000]"
else
        not_ok "CHSIM is not set: the Cloud Hypervisor half did not run"
fi
stop_metald; rc=$?
check "SIGTERM: metald exits 0" "$rc" 0
# Under ASan/UBSan a report goes to metald's stderr, that is the log.
check "no sanitizer report in the metald log" \
        "$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/metald.log")" 0
finish
