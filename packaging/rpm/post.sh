# weir %post: the workers' chroot; the unit follows the system's presets.
install -d -m 0755 -o root -g root /var/lib/weir /var/lib/weir/dev
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl --no-reload preset weir.service >/dev/null 2>&1 || :
    fi
fi
exit 0
