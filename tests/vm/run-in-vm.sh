#!/bin/bash
# run-in-vm.sh - run a command as root in a throw-away QEMU guest with a pure
# cgroup v2 hierarchy, the way production hosts (Kubernetes nodes, Azure) are.
#
#   usage: tests/vm/run-in-vm.sh CMD [ARGS...]      (exit status is CMD's)
#   env:   VM_ACCEL=tcg|kvm (tcg)  VM_MEM=3G  VM_CPUS=2  VM_TIMEOUT=1800
#          VM_KERNEL=/boot/vmlinuz-...  VM_CACHE=build/vm
#
# The guest boots Debian's stock kernel with this host's root filesystem
# shared read-only over virtio-9p, tmpfs on /tmp /run /var/tmp, and cgroup2
# on /sys/fs/cgroup with memory, cpu and pids enabled at the root. The command
# runs in the caller's directory. Needs qemu-system-x86, linux-image-amd64,
# busybox-static and cpio (`make deps`).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

kernel=${VM_KERNEL:-$(ls -1v /boot/vmlinuz-* 2>/dev/null | tail -n1)}
[ -n "$kernel" ] || { echo "run-in-vm: no kernel in /boot; run: make deps" >&2; exit 125; }
kver=${kernel#/boot/vmlinuz-}
cache=${VM_CACHE:-build/vm}/$kver
mkdir -p "$cache"
for tool in qemu-system-x86_64 busybox cpio; do
  command -v "$tool" >/dev/null || [ -x "/bin/$tool" ] ||
    { echo "run-in-vm: $tool missing; run: make deps" >&2; exit 125; }
done

# The uncompressed kernel boots much faster under TCG than the bzImage,
# whose decompressor is slow to emulate.
if [ ! -s "$cache/vmlinux" ]; then
  offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" | head -n1 | cut -d: -f1 || true)
  if [ -n "$offset" ]; then
    tail -c +$((offset + 1)) "$kernel" | xz -dc > "$cache/vmlinux.part" 2>/dev/null || true
  fi
  if [ -s "$cache/vmlinux.part" ] && head -c4 "$cache/vmlinux.part" | grep -q ELF; then
    mv "$cache/vmlinux.part" "$cache/vmlinux"
  else
    rm -f "$cache/vmlinux.part"; cp "$kernel" "$cache/vmlinux"
  fi
fi

# A busybox initramfs that loads 9p and overlay, mounts the host root and
# switches into it. Built once per kernel.
if [ ! -s "$cache/initrd.base" ]; then
  root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,dev,proc,sys,host,mods,scratch}
  cp "$(command -v busybox || echo /bin/busybox)" "$root/bin/busybox"
  modules=""
  for m in virtio_pci 9pnet_virtio 9p overlay; do
    for f in $(modprobe -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}'); do
      name=$(basename "$f"); name=${name%.xz}; name=${name%.zst}
      case " $modules " in *" $name "*) continue ;; esac
      case $f in *.xz) xz -dc "$f" ;; *.zst) zstd -qdc "$f" ;; *) cat "$f" ;; esac > "$root/mods/$name"
      modules="$modules $name"
    done
  done
  cat > "$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ip link set lo up  # the tests talk to the server over loopback
for m in $modules; do insmod /mods/\$m 2>/dev/null; done
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose host /host ||
  { echo "run-in-vm: cannot mount the host root"; poweroff -f; }
mount -t tmpfs -o mode=755 scratch /scratch
for d in tmp var/tmp; do
  mkdir -p /scratch/\$d/upper /scratch/\$d/work; chmod 1777 /scratch/\$d/upper
  mount -t overlay overlay -o lowerdir=/host/\$d,upperdir=/scratch/\$d/upper,workdir=/scratch/\$d/work /host/\$d ||
    mount -t tmpfs -o mode=1777 tmpfs /host/\$d
done
mount -t tmpfs -o mode=755 run /host/run
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts; mount -t tmpfs -o mode=1777 shm /host/dev/shm
mount -t cgroup2 -o nsdelegate cgroup2 /host/sys/fs/cgroup
echo "+cpu +memory +pids" > /host/sys/fs/cgroup/cgroup.subtree_control
mkdir /host/run/vm; cp /bin/busybox /command.sh /host/run/vm/
stty -F /dev/ttyS0 raw -echo 2>/dev/null
# switch_root, not chroot: a chroot breaks new user namespaces
exec switch_root /host /run/vm/busybox sh -c '/bin/bash /run/vm/command.sh </dev/ttyS0 >/dev/ttyS0 2>&1; echo "VM_EXIT=\$?" >/dev/ttyS2; /run/vm/busybox poweroff -f'
INIT
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initrd.part"
  truncate -s %512 "$cache/initrd.part" # an appended archive must start aligned
  mv "$cache/initrd.part" "$cache/initrd.base"
  rm -rf "$root"; trap - EXIT
fi

# Per run: a second, uncompressed archive with the command (the kernel reads
# concatenated archives), passed through the environment we want inside.
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir "$work/r"
{
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb"
  for var in $(compgen -e | grep -E '^(CODERUNNER_|PYTEST_)' || true); do
    printf 'export %s=%q\n' "$var" "${!var}"
  done
  printf 'cd %q || exit 126\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$work/r/command.sh"
(cd "$work/r" && echo command.sh | cpio -o -H newc --quiet) > "$work/run.cpio"
cat "$cache/initrd.base" "$work/run.cpio" > "$work/initrd"

case ${VM_ACCEL:-tcg} in
  kvm) accel=(-accel kvm -cpu host) ;;
  *) accel=(-accel tcg -cpu max) ;;
esac
set +e
timeout --foreground -k 10 "${VM_TIMEOUT:-1800}" qemu-system-x86_64 "${accel[@]}" \
  -m "${VM_MEM:-3G}" -smp "${VM_CPUS:-2}" -nodefaults -no-user-config -display none -no-reboot \
  -bios /usr/share/qemu/qboot.rom \
  -serial stdio -serial null -serial "file:$work/status" \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  -kernel "$cache/vmlinux" -initrd "$work/initrd" \
  -append "console=ttyS1 loglevel=3 panic=-1 oops=panic mitigations=off nokaslr tsc=reliable no_timer_check lpj=5000000 i8042.noaux i8042.nopnp i8042.nokbd"
qemu_rc=$?
set -e
rc=$(sed -n 's/^VM_EXIT=\([0-9]*\).*/\1/p' "$work/status" 2>/dev/null | tail -n1)
if [ -z "$rc" ]; then
  echo "run-in-vm: the guest reported no exit status (qemu exit $qemu_rc)" >&2
  exit 125
fi
exit "$rc"
